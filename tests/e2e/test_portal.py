"""The customer portal over HTTP: a link without a password, what it shows, what it lets the customer
do, and what it never reaches — another customer's data, a dead link, more requests than allowed."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from huikuan.collections.models import Dispute, PromiseMethod, PromiseToPay, Task, TaskKind
from huikuan.core.calendars import is_business_day
from huikuan.core.models import AuditEntry
from huikuan.customers.models import Contact
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import DunningAction, DunningActionInvoice
from huikuan.ledger.models import Statement, StatementStatus
from huikuan.ledger.statements import month_end, statement_build, statement_send
from huikuan.portal.models import PortalLink
from huikuan.portal.services import (
    PortalError,
    PortalLinkNotFound,
    portal_link_create,
    portal_link_get,
    portal_link_resolve,
    portal_link_revoke,
)
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.HUIKUAN_HOME = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HUIKUAN_COMPANY_NAME = "上海汇通贸易有限公司"
    settings.HUIKUAN_PAYMENT_INSTRUCTIONS = "开户行：招商银行上海分行\n账号：1219 0000 0000 001"
    settings.HUIKUAN_PORTAL_RATE_PER_MINUTE = 1000


def today():
    return timezone.localdate()


def last_month_end():
    return today().replace(day=1) - timedelta(days=1)


def customer_with_invoices(code: str, *, language: str = "en", collector=None):
    """A customer with two overdue invoices and one not yet due, and a sent statement of last month."""
    customer = make_customer(
        code=code, name=f"{code} Trading", language=language, country="CN", collector=collector
    )
    Contact.objects.create(
        customer=customer, name="Li Na", email=f"ap@{code.lower()}.example", is_primary=True
    )
    start = last_month_end().replace(day=1)
    make_invoice(customer, "1200.00", issue_date=start - timedelta(days=60), due_days=30, number=f"{code}-1")
    make_invoice(customer, "800.00", issue_date=start - timedelta(days=45), due_days=30, number=f"{code}-2")
    make_invoice(customer, "300.00", issue_date=today(), due_days=30, number=f"{code}-3")
    statement = statement_build(customer=customer, currency="CNY", period_end_date=last_month_end())
    statement_send(statement=statement)
    return customer


@pytest.fixture
def mine():
    return customer_with_invoices("P001")


@pytest.fixture
def theirs():
    return customer_with_invoices("P002")


@pytest.fixture
def key(mine):
    _link, key = portal_link_create(customer=mine)
    return key


def url(name: str, key: str, *args) -> str:
    return reverse(f"portal:{name}", args=[key, *args])


# --- links -------------------------------------------------------------------------------


def test_a_link_stores_only_a_digest_of_its_unguessable_key(mine):
    link, key = portal_link_create(customer=mine, days=7)

    assert len(key) >= 43
    assert key not in link.key_digest and link.prefix == key[:8]
    assert portal_link_resolve(key=key, now=timezone.now()).pk == link.pk
    assert link.expires_at - link.created_at == pytest.approx(timedelta(days=7), abs=timedelta(seconds=5))


def test_unknown_expired_and_revoked_keys_are_refused_alike(mine):
    now = timezone.now()
    expired, expired_key = portal_link_create(customer=mine, days=1, now=now - timedelta(days=2))
    revoked, revoked_key = portal_link_create(customer=mine)
    portal_link_revoke(link=revoked)

    messages = set()
    for key in ("no-such-key", expired_key, revoked_key, ""):
        with pytest.raises(PortalLinkNotFound) as raised:
            portal_link_resolve(key=key, now=now)
        messages.add(raised.value.message)
    assert len(messages) == 1


def test_a_link_is_found_by_its_prefix_or_whole_key_and_a_short_prefix_is_refused(mine):
    link, key = portal_link_create(customer=mine)
    assert portal_link_get(prefix=link.prefix).pk == link.pk
    assert portal_link_get(prefix=key).pk == link.pk
    with pytest.raises(PortalError):
        portal_link_get(prefix="ab")
    with pytest.raises(PortalLinkNotFound):
        portal_link_get(prefix="zzzzzzzz")


def test_no_key_starts_with_a_dash_that_the_command_line_would_take_for_an_option():
    from huikuan.portal.services import portal_key_new

    keys = [portal_key_new() for _ in range(3000)]  # a plain draw starts one in 64 with "-"

    assert not [key for key in keys if key.startswith("-")]
    assert len(set(keys)) == len(keys) and all(len(key) == 43 for key in keys)


def test_the_command_prints_a_link_that_works_and_revokes_it_by_prefix(client, mine, settings):
    settings.HUIKUAN_BASE_URL = "https://ar.example.com"
    out = StringIO()

    call_command("portal", "link", "P001", "--days", "10", stdout=out)
    address = out.getvalue().splitlines()[0]
    key = re.fullmatch(r"https://ar\.example\.com/portal/([A-Za-z0-9_-]+)/", address).group(1)
    assert client.get(f"/portal/{key}/").status_code == 200

    call_command("portal", "list", "P001", stdout=out)
    call_command("portal", "revoke", key[:8], stdout=out)

    assert "works until" in out.getvalue() and "revoked" in out.getvalue()
    assert client.get(f"/portal/{key}/").status_code == 404
    with pytest.raises(CommandError, match="no portal link"):
        call_command("portal", "revoke", "nosuchkey")


# --- the pages ---------------------------------------------------------------------------


def test_the_overview_shows_open_invoices_totals_statements_and_how_to_pay(client, key):
    response = client.get(url("home", key))

    assert response.status_code == 200
    text = response.content.decode()
    for number in ("P001-1", "P001-2", "P001-3"):
        assert number in text
    assert "CNY 2,300.00" in text  # open in all
    assert "CNY 2,000.00" in text  # of which overdue
    assert "招商银行上海分行" in text and "P001" in text
    assert "Waiting for your answer" in text
    assert "P002" not in text
    assert response["Cache-Control"] == "no-store, private"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_overview_shows_the_discounts_and_settlements_still_open_to_the_customer(client, mine, key):
    from django.utils.html import escape

    from huikuan.accounts.models import Profile, Role
    from huikuan.collections.incentives import incentive_offer, incentive_text

    manager = get_user_model().objects.create_user(username="boss")
    Profile.objects.create(user=manager, role=Role.MANAGER)

    def offer(number: str, pay_by):
        return incentive_offer(
            customer=mine, user=manager, kind="discount", invoices=[mine.invoices.get(number=number)],
            discount_percent="2", offered_date=today() - timedelta(days=20), pay_by_date=pay_by,
        )  # fmt: skip

    open_offer = offer("P001-3", today() + timedelta(days=5))
    offer("P001-1", today() - timedelta(days=1))  # its pay-by day is past

    text = client.get(url("home", key)).content.decode()

    offers = text[text.index('id="offers-title"') :].split("</section>")[0]
    assert "Offers for you" in offers
    assert "P001-3" in offers and "P001-1" not in offers  # the lapsed offer is not shown
    open_offer.refresh_from_db()
    subject, _text = incentive_text(incentive=open_offer, language="en")
    assert escape(subject) in offers


def test_the_overview_reads_a_fixed_number_of_queries_however_many_invoices(client, mine, key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url("home", key))  # the first visit also records the link's use
    with CaptureQueriesContext(connection) as few:
        client.get(url("home", key))
    for n in range(25):
        make_invoice(mine, "10.00", issue_date=today() - timedelta(days=n), number=f"P001-X{n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("home", key))

    assert "P001-X24" in response.content.decode()
    assert len(many) == len(few)


def test_the_portal_speaks_the_customers_language_until_the_visitor_switches(client, settings):
    from django.utils import translation

    chinese = customer_with_invoices("P003", language="zh-hans")
    _link, key = portal_link_create(customer=chinese)
    with translation.override("zh-hans"):
        heading = translation.gettext("Your account")

    first = client.get(url("home", key))
    assert 'lang="zh-Hans"' in first.content.decode() and heading in first.content.decode()

    switched = client.post("/i18n/setlang/", {"language": "en", "next": url("home", key)})
    assert switched.status_code == 302
    second = client.get(url("home", key))
    assert '<html lang="en">' in second.content.decode() and "Your account" in second.content.decode()


def test_payment_instructions_give_the_reference_to_quote(client, key):
    text = client.get(url("pay", key)).content.decode()
    assert "1219 0000 0000 001" in text
    assert "P001 P001-1" in text


# --- statements --------------------------------------------------------------------------


def test_the_customer_confirms_a_statement_and_the_confirmation_is_on_the_record(client, mine, key):
    statement = Statement.objects.get(customer=mine)
    page = client.get(url("statement", key, statement.pk))
    assert page.status_code == 200 and "Confirm the statement" in page.content.decode()

    response = client.post(url("statement_confirm", key, statement.pk), {"name": "Li Na", "note": "agreed"})

    assert response.status_code == 302 and response["Location"] == url("home", key)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CONFIRMED and statement.responder_name == "Li Na"
    entry = AuditEntry.objects.get(
        entity="ledger.statement", entity_id=str(statement.pk), after__status="CONFIRMED"
    )
    assert entry.actor_label == "portal" and entry.customer_id == mine.pk
    assert "the statement is confirmed" in client.get(url("home", key)).content.decode()


def test_the_customer_disputes_a_statement_and_the_collector_gets_a_task(client, key):
    collector = get_user_model().objects.create_user("wang", password="x")
    customer = customer_with_invoices("P004", collector=collector)
    _link, key = portal_link_create(customer=customer)
    statement = Statement.objects.get(customer=customer)

    response = client.post(
        url("statement_dispute", key, statement.pk), {"name": "Li Na", "note": "We paid 1,000.00 on the 3rd"}
    )

    assert response.status_code == 302
    task = Task.objects.get(kind=TaskKind.STATEMENT_DISPUTED)
    assert task.assignee == collector and task.statement_id == statement.pk


def test_a_statement_answer_without_a_name_is_refused_with_the_form_again(client, mine, key):
    statement = Statement.objects.get(customer=mine)
    response = client.post(url("statement_confirm", key, statement.pk), {"name": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SENT


def test_the_statement_pdf_downloads_in_the_pages_language(client, mine, key):
    statement = Statement.objects.get(customer=mine)

    response = client.get(url("statement_pdf", key, statement.pk))

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith(f'filename="ST-P001-{last_month_end():%Y%m}-CNY.pdf"')
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Statement of account" in text and "P001-1" in text


# --- disputes and promises ---------------------------------------------------------------


def test_a_dispute_raised_in_the_portal_takes_the_invoice_out_of_dunning(client, key):
    collector = get_user_model().objects.create_user("liu", password="x")
    customer = customer_with_invoices("P005", collector=collector)
    _link, key = portal_link_create(customer=customer)

    response = client.post(
        url("dispute", key, "P005-1"), {"reason": "QUANTITY", "name": "Li Na", "notes": "Two boxes short"}
    )

    assert response.status_code == 302
    dispute = Dispute.objects.get(invoice__number="P005-1")
    assert (dispute.status, dispute.source, dispute.customer_id) == ("OPEN", "PORTAL", customer.pk)
    assert "Li Na" in dispute.notes and "Two boxes short" in dispute.notes
    assert Task.objects.filter(kind=TaskKind.DISPUTE, dispute=dispute, assignee=collector).exists()
    assert AuditEntry.objects.filter(entity="collections.dispute", actor_label="portal").exists()

    run_day = today()
    while not is_business_day(run_day, "CN"):
        run_day += timedelta(days=1)
    dunning_run(as_of=run_day, now=datetime.combine(run_day, datetime.min.time(), tzinfo=UTC))

    action = DunningAction.objects.get(customer=customer)
    dunned = set(DunningActionInvoice.objects.filter(action=action).values_list("invoice__number", flat=True))
    assert "P005-2" in dunned
    assert "P005-1" not in dunned


def test_a_second_dispute_on_the_same_invoice_is_refused_politely(client, key):
    client.post(url("dispute", key, "P001-1"), {"reason": "PRICE", "name": "Li Na"})
    again = client.post(url("dispute", key, "P001-1"), {"reason": "PRICE", "name": "Li Na"})
    assert again.status_code == 400 and "already has an open dispute" in again.content.decode()
    assert Dispute.objects.count() == 1


def test_the_customer_promises_a_date_for_chosen_invoices(client, mine, key):
    promised_for = today() + timedelta(days=10)

    response = client.post(
        url("promise", key),
        {
            "promised_date": promised_for.isoformat(),
            "amount": "2000.00",
            "currency": "CNY",
            "invoices": ["P001-1", "P001-2"],
            "name": "Li Na",
        },
    )

    assert response.status_code == 302
    promise = PromiseToPay.objects.get(customer=mine)
    assert (promise.amount_minor, promise.promised_date, promise.method) == (
        200000,
        promised_for,
        PromiseMethod.PORTAL,
    )
    assert promise.promised_by == "Li Na"
    assert sorted(promise.invoices.values_list("number", flat=True)) == ["P001-1", "P001-2"]
    assert Task.objects.filter(kind=TaskKind.FOLLOW_UP, promise=promise).exists()
    assert AuditEntry.objects.filter(entity="collections.promisetopay", actor_label="portal").exists()


def test_a_promise_in_the_past_or_with_too_many_decimals_is_refused(client, mine, key):
    response = client.post(
        url("promise", key),
        {
            "promised_date": (today() - timedelta(days=1)).isoformat(),
            "amount": "10.001",
            "currency": "CNY",
            "name": "Li",
        },
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert "Choose today or a later day." in text and "CNY has 2 decimals." in text
    assert not PromiseToPay.objects.exists()


# --- what a link never reaches -----------------------------------------------------------


def test_another_customers_statement_is_not_found_and_cannot_be_answered(client, key, theirs):
    other = Statement.objects.get(customer=theirs)
    not_found = client.get("/portal/no-such-key/").content

    for response in (
        client.get(url("statement", key, other.pk)),
        client.get(url("statement_pdf", key, other.pk)),
        client.post(url("statement_confirm", key, other.pk), {"name": "Mallory"}),
        client.post(url("statement_dispute", key, other.pk), {"name": "Mallory", "note": "x"}),
    ):
        assert response.status_code == 404
        assert response.content == not_found
    other.refresh_from_db()
    assert other.status == StatementStatus.SENT


def test_another_customers_invoice_cannot_be_disputed_or_promised(client, mine, key, theirs):
    assert client.get(url("dispute", key, "P002-1")).status_code == 404
    assert (
        client.post(url("dispute", key, "P002-1"), {"reason": "PRICE", "name": "Mallory"}).status_code == 404
    )
    response = client.post(
        url("promise", key),
        {
            "promised_date": today().isoformat(),
            "amount": "1.00",
            "currency": "CNY",
            "invoices": ["P002-1"],
            "name": "Mallory",
        },
    )
    assert response.status_code == 400  # not one of the choices offered
    assert not Dispute.objects.exists() and not PromiseToPay.objects.exists()


def test_a_draft_statement_is_not_shown_to_the_customer(client, mine, key):
    draft = statement_build(customer=mine, currency="USD", period_end_date=month_end(2020, 1))
    assert client.get(url("statement", key, draft.pk)).status_code == 404


def test_unknown_expired_and_revoked_links_get_the_same_404_page(client, mine):
    now = timezone.now()
    _expired, expired_key = portal_link_create(customer=mine, days=1, now=now - timedelta(days=3))
    revoked, revoked_key = portal_link_create(customer=mine)
    portal_link_revoke(link=revoked)

    pages = [client.get(f"/portal/{k}/") for k in ("x" * 43, expired_key, revoked_key)]

    assert [page.status_code for page in pages] == [404, 404, 404]
    assert pages[0].content == pages[1].content == pages[2].content
    assert client.get(f"/portal/{expired_key}/pay/").content == pages[0].content


def test_too_many_requests_for_a_key_get_429(client, key, settings):
    settings.HUIKUAN_PORTAL_RATE_PER_MINUTE = 3
    statuses = [client.get(url("home", key)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get(url("home", key))
    assert throttled["Retry-After"] == "60"
    assert "P001-1" not in throttled.content.decode()


def test_guessing_keys_from_one_address_is_throttled_too(client, settings):
    settings.HUIKUAN_PORTAL_RATE_PER_MINUTE = 5
    statuses = [client.get(f"/portal/guess{n:040d}/").status_code for n in range(7)]
    assert statuses == [404] * 5 + [429] * 2


def test_a_link_records_when_it_was_last_used(client, mine, key):
    client.get(url("home", key))
    link = PortalLink.objects.get(customer=mine)
    assert link.last_used_at is not None


def test_the_promise_form_offers_what_the_chosen_invoice_has_open(client, key):
    page = client.get(url("promise", key) + "?invoice=P001-1").content.decode()
    assert 'value="1200.00"' in page
    assert re.search(r'<input[^>]+value="P001-1"[^>]+checked', page) or re.search(
        r'<input[^>]+checked[^>]+value="P001-1"', page
    )
