"""Customer 360 over HTTP: the picture of one customer, its timeline, and the actions taken from it
(log a call or visit, promise to pay with evidence, dispute, instalment plan, statement)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from huikuan.accounts.models import Role
from huikuan.collections.models import (
    Dispute,
    DisputeStatus,
    InstalmentPlan,
    Interaction,
    PromiseMethod,
    PromiseStatus,
    PromiseToPay,
    Task,
    TaskKind,
    TaskStatus,
)
from huikuan.collections.services import interaction_log
from huikuan.core.money import Money
from huikuan.customers.services import contact_create, customer_update
from huikuan.ledger.models import Statement, StatementStatus
from huikuan.ledger.services import payment_record
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.portal.models import PortalLink
from tests.e2e.web_builders import (
    make_customer,
    make_overdue,
    make_pending_message,
    make_promise,
    make_task,
    make_user,
    signed_in_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HUIKUAN_HOME = tmp_path


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def alice(db):
    return make_user("alice", Role.COLLECTOR, "Alice Chen")


@pytest.fixture
def bob(db):
    return make_user("bob", Role.COLLECTOR, "Bob Li")


@pytest.fixture
def customer(alice, today):
    """Alice's customer: 12,000.00 overdue 45 days, 3,000.00 overdue 10 days, 5,000.00 not yet due."""
    customer = make_customer(
        code="HX-01", name="上海恒信机电有限公司", grade="C", collector=alice, credit_limit_minor=1500000
    )
    make_overdue(customer, "12000.00", days=45, today=today)
    make_overdue(customer, "3000.00", days=10, today=today)
    make_overdue(customer, "5000.00", days=-20, today=today)
    contact_create(
        customer=customer,
        name="王芳",
        email="caiwu@hengxin.example",
        phone="+86 138 0000 0000",
        is_primary=True,
    )
    return customer


def invoice_numbers(customer) -> list[str]:
    return list(customer.invoices.order_by("due_date").values_list("number", flat=True))


def test_the_customer_page_shows_credit_balances_aging_invoices_and_contacts(alice, customer):
    response = signed_in_client(alice).get(f"/customers/{customer.code}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "上海恒信机电有限公司" in html and "王芳" in html and 'href="tel:+8613800000000"' in html
    assert "20,000.00 CNY" in html  # exposure, over the 15,000.00 limit
    assert "over the limit" in html
    (position,) = response.context["positions"]
    assert (position.open_minor, position.overdue_minor) == (2000000, 1500000)
    assert position.buckets["1-30"] == 300000 and position.buckets["31-60"] == 1200000
    assert position.buckets["current"] == 500000
    assert '<svg class="mini-aging"' in html
    assert [invoice.number for invoice in response.context["open_invoices"]] == invoice_numbers(customer)
    assert html.count('name="invoice" value="') >= 3  # checkboxes to act on several at once


def test_the_timeline_holds_every_kind_of_event_newest_first(alice, customer, today):
    call = make_task(customer, TaskKind.CALL, due=today)
    interaction_log(
        customer=customer,
        user=alice,
        kind="CALL",
        occurred_at=timezone.now() - timedelta(hours=2),
        outcome="REACHED",
        notes="财务说月底付款",
        task=call,
    )
    make_pending_message(customer, list(customer.invoices.all()[:1]), as_of=today)
    make_promise(customer, "1000.00", promised=today + timedelta(days=3))
    payment_record(customer=customer, received_date=today, amount=Money.of("500", "CNY"), invoice_numbers=[])
    customer_update(customer=customer, grade="D", actor=alice)

    response = signed_in_client(alice).get(f"/customers/{customer.code}/")
    html = response.content.decode()

    kinds = {event.kind for event in response.context["timeline"]}
    assert {"call", "message", "promise", "payment", "change"} <= kinds
    assert "财务说月底付款" in html
    change = next(event for event in response.context["timeline"] if event.kind == "change")
    assert "grade: C · watch (关注) → D · high risk (高风险)" in change.detail
    assert change.who == "Alice Chen"
    assert "awaiting approval" in html  # the message's delivery status
    ats = [event.at for event in response.context["timeline"]]
    assert ats == sorted(ats, reverse=True)


def test_the_timeline_takes_the_same_queries_for_few_or_many_events(alice, customer, today):
    from huikuan.web.selectors import customer_timeline

    def add_events(count: int) -> None:
        for n in range(count):
            interaction_log(
                customer=customer, user=alice, kind="NOTE", occurred_at=timezone.now(), notes=f"note {n}"
            )
            make_promise(customer, "10.00", promised=today + timedelta(days=n + 1))
            payment_record(
                customer=customer, received_date=today, amount=Money.of("1", "CNY"), invoice_numbers=[]
            )

    add_events(2)
    with CaptureQueriesContext(connection) as few:
        assert len(customer_timeline(customer=customer, limit=50)) >= 6
    add_events(30)
    with CaptureQueriesContext(connection) as many:
        assert len(customer_timeline(customer=customer, limit=50)) == 50

    assert len(many.captured_queries) == len(few.captured_queries) <= 10


def test_the_customer_page_takes_the_same_queries_for_few_or_many_records(alice, customer, today):
    client = signed_in_client(alice)
    runs = iter(range(100))

    def add_records(count: int) -> None:
        for n in range(count):
            invoice = make_overdue(customer, "100.00", days=n + 1, today=today)
            make_task(customer, TaskKind.CALL, due=today)
            make_promise(customer, "10.00", promised=today + timedelta(days=1))
            make_pending_message(customer, [invoice], as_of=today - timedelta(days=next(runs)))
            interaction_log(customer=customer, user=alice, kind="NOTE", occurred_at=timezone.now(), notes="x")

    add_records(1)
    with CaptureQueriesContext(connection) as few:
        client.get(f"/customers/{customer.code}/")
    add_records(15)
    with CaptureQueriesContext(connection) as many:
        client.get(f"/customers/{customer.code}/")

    assert len(many.captured_queries) == len(few.captured_queries)


def test_older_events_come_in_place_with_htmx(alice, customer):
    response = signed_in_client(alice).get(
        f"/customers/{customer.code}/timeline/", {"limit": 150}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card" id="timeline"')


def test_the_log_form_shows_the_stages_script_for_the_task(alice, customer, today):
    task = make_task(customer, TaskKind.CALL, due=today, script="王经理您好，关于逾期的货款……")

    html = signed_in_client(alice).get(f"/customers/{customer.code}/", {"task": task.pk}).content.decode()

    assert "王经理您好，关于逾期的货款……" in html
    assert f'name="task" value="{task.pk}"' in html


def test_logging_a_call_with_a_promise_records_both_and_completes_the_task(alice, customer, today):
    task = make_task(customer, TaskKind.CALL, due=today)
    oldest = invoice_numbers(customer)[0]

    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/log/",
        {
            "kind": "CALL",
            "outcome": "PROMISED",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "notes": "王芳答应周五付清第一张发票",
            "task": task.pk,
            "amount": "12000.00",
            "currency": "CNY",
            "promised_date": (today + timedelta(days=4)).isoformat(),
            "promised_by": "王芳 (财务经理)",
            "method": PromiseMethod.PHONE,
            "invoice": [oldest],
            "if_broken": "停止供货",
        },
        follow=True,
    )

    interaction = Interaction.objects.get(customer=customer)
    promise = PromiseToPay.objects.get(customer=customer)
    assert (interaction.outcome, interaction.user) == ("PROMISED", alice)
    assert (promise.amount_minor, promise.interaction, promise.promised_by) == (
        1200000,
        interaction,
        "王芳 (财务经理)",
    )
    assert [invoice.number for invoice in promise.invoices.all()] == [oldest]
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    html = response.content.decode()
    assert "The call and the promise are recorded." in html
    assert "12,000.00 CNY" in html and "停止供货" in html  # on the timeline


def test_a_next_action_date_makes_a_follow_up(alice, customer, today):
    signed_in_client(alice).post(
        f"/customers/{customer.code}/log/",
        {
            "kind": "VISIT",
            "outcome": "ASKED_FOR_DOCUMENTS",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "next_action_date": (today + timedelta(days=2)).isoformat(),
        },
    )

    follow_up = Task.objects.get(customer=customer, kind=TaskKind.FOLLOW_UP)
    assert (follow_up.due_date, follow_up.assignee) == (today + timedelta(days=2), alice)


def test_a_promised_outcome_without_the_promise_is_refused_and_nothing_is_saved(alice, customer):
    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/log/",
        {
            "kind": "CALL",
            "outcome": "PROMISED",
            "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 200
    assert "Record what was promised" in response.content.decode()
    assert not Interaction.objects.exists()


def test_a_log_posted_with_htmx_sends_the_browser_back_to_the_customer(alice, customer):
    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/log/",
        {"kind": "NOTE", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "notes": "ok"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/customers/{customer.code}/#timeline"


def test_a_log_posted_with_htmx_from_the_customer_page_reloads_it(alice, customer):
    # A redirect to the same page with only a new #fragment would leave the browser where it was.
    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/log/",
        {"kind": "NOTE", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "notes": "ok"},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver/customers/{customer.code}/?x=1"},
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert "HX-Redirect" not in response


def test_a_promise_with_evidence_is_recorded_and_the_evidence_downloads(alice, bob, customer, today):
    recording = SimpleUploadedFile("call-0612.mp3", b"ID3 recorded promise", content_type="audio/mpeg")
    client = signed_in_client(alice)

    client.post(
        f"/customers/{customer.code}/promise/",
        {
            "amount": "3000.00",
            "currency": "CNY",
            "promised_date": (today + timedelta(days=7)).isoformat(),
            "promised_by": "李总",
            "method": PromiseMethod.RECORDED,
            "if_broken": "转法务",
            "invoice": [invoice_numbers(customer)[1]],
            "evidence": recording,
        },
    )

    promise = PromiseToPay.objects.get(customer=customer)
    assert (promise.method, promise.status, promise.created_by) == (
        PromiseMethod.RECORDED,
        PromiseStatus.OPEN,
        alice,
    )
    download = client.get(f"/customers/{customer.code}/promises/{promise.pk}/evidence/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"ID3 recorded promise"
    assert (
        signed_in_client(bob).get(f"/customers/{customer.code}/promises/{promise.pk}/evidence/").status_code
        == 404
    )


def test_a_promise_with_too_many_decimals_is_refused(alice, customer, today):
    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/promise/",
        {"amount": "10.005", "currency": "CNY", "promised_date": today.isoformat(), "method": "PHONE"},
    )

    assert "at most 2 decimal places" in response.content.decode()
    assert not PromiseToPay.objects.exists()


@pytest.mark.parametrize("panel", ["promise", "dispute", "plan"])
def test_the_page_and_its_side_panel_repeat_no_element_id(alice, customer, panel):
    # The side panel lands inside the page (htmx); labels find their inputs only by unique ids.
    client = signed_in_client(alice)
    page = client.get(f"/customers/{customer.code}/").content.decode()
    fragment = client.get(
        f"/customers/{customer.code}/{panel}/", headers={"HX-Request": "true"}
    ).content.decode()

    ids = re.findall(r'\sid="([^"]+)"', page + fragment)

    assert len(ids) > 20
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_the_selected_invoices_are_ticked_on_the_action_form(alice, customer):
    first, second, _third = invoice_numbers(customer)

    response = signed_in_client(alice).get(
        f"/customers/{customer.code}/dispute/", {"invoice": [first, second]}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()

    assert "<html" not in html
    assert html.count("checked") == 2


def test_disputing_invoices_opens_one_dispute_each_and_marks_them(alice, customer):
    first, second, _third = invoice_numbers(customer)
    client = signed_in_client(alice)

    client.post(
        f"/customers/{customer.code}/dispute/",
        {"invoice": [first, second], "reason": "QUALITY", "notes": "货有瑕疵"},
    )

    disputes = Dispute.objects.filter(customer=customer).order_by("invoice__due_date")
    assert [(d.invoice.number, d.reason, d.status) for d in disputes] == [
        (first, "QUALITY", DisputeStatus.OPEN),
        (second, "QUALITY", DisputeStatus.OPEN),
    ]
    page = client.get(f"/customers/{customer.code}/")
    assert [invoice.in_dispute for invoice in page.context["open_invoices"]] == [True, True, False]


def test_a_dispute_needs_an_invoice(alice, customer):
    response = signed_in_client(alice).post(f"/customers/{customer.code}/dispute/", {"reason": "PRICE"})

    assert "Choose the invoices in dispute." in response.content.decode()
    assert not Dispute.objects.exists()


def test_an_instalment_plan_in_equal_parts_is_agreed(alice, customer, today):
    first, second, _third = invoice_numbers(customer)

    signed_in_client(alice).post(
        f"/customers/{customer.code}/plan/",
        {
            "invoice": [first, second],
            "start_date": (today + timedelta(days=5)).isoformat(),
            "count": 3,
            "interval_months": 1,
            "grace_days": 5,
        },
    )

    plan = InstalmentPlan.objects.get(customer=customer)
    assert plan.principal_minor == 1500000
    assert [i.amount_minor for i in plan.instalments.order_by("sequence")] == [500000, 500000, 500000]


def test_an_instalment_plan_may_follow_a_custom_schedule(alice, customer, today):
    first, _second, _third = invoice_numbers(customer)
    day1, day2 = today + timedelta(days=10), today + timedelta(days=40)

    signed_in_client(alice).post(
        f"/customers/{customer.code}/plan/",
        {
            "invoice": [first],
            "start_date": today.isoformat(),
            "interval_months": 1,
            "grace_days": 3,
            "schedule": f"{day1.isoformat()} 2000.00\n{day2.isoformat()} 10000.00\n",
        },
    )

    plan = InstalmentPlan.objects.get(customer=customer)
    assert [(i.due_date, i.amount_minor) for i in plan.instalments.order_by("sequence")] == [
        (day1, 200000),
        (day2, 1000000),
    ]


def test_sending_the_statement_queues_its_email(alice, customer, today):
    month = today.replace(day=1) - timedelta(days=1)

    response = signed_in_client(alice).post(
        f"/customers/{customer.code}/statements/send/", {"month": month.strftime("%Y-%m")}, follow=True
    )

    statement = Statement.objects.get(customer=customer)
    assert statement.status == StatementStatus.SENT
    (message,) = OutboxMessage.objects.filter(customer=customer)
    assert (message.status, message.contact.email) == (OutboxStatus.QUEUED, "caiwu@hengxin.example")
    assert "1 statement queued for e-mail." in response.content.decode()


def test_a_statement_downloads_as_a_pdf(alice, customer, today):
    from huikuan.ledger.statements import statement_build

    month = today.replace(day=1) - timedelta(days=1)
    statement = statement_build(customer=customer, currency="CNY", period_end_date=month)

    response = signed_in_client(alice).get(f"/customers/{customer.code}/statements/{statement.pk}/pdf/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert customer.code in text


ACTION_PAGES = ("", "timeline/", "log/", "promise/", "dispute/", "plan/")


@pytest.mark.parametrize("page", ACTION_PAGES)
def test_another_collectors_customer_answers_not_found_on_every_page(bob, customer, page):
    assert signed_in_client(bob).get(f"/customers/{customer.code}/{page}").status_code == 404


@pytest.mark.parametrize(
    "page", ["log/", "promise/", "dispute/", "plan/", "statements/send/", "portal-link/"]
)
def test_another_collectors_customer_cannot_be_written_to(bob, customer, page):
    assert signed_in_client(bob).post(f"/customers/{customer.code}/{page}", {}).status_code == 404


def test_an_auditor_reads_the_customer_but_sees_no_forms_and_cannot_write(customer, today):
    auditor = make_user("audrey", Role.AUDITOR)
    client = signed_in_client(auditor)

    page = client.get(f"/customers/{customer.code}/")
    refused = client.post(
        f"/customers/{customer.code}/log/",
        {"kind": "NOTE", "occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "notes": "x"},
    )

    assert page.status_code == 200
    assert 'id="log"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Interaction.objects.exists()


def test_a_portal_link_is_shown_once_and_opens_the_customers_portal(alice, customer, settings):
    settings.HUIKUAN_BASE_URL = "https://ar.example.com"
    client = signed_in_client(alice)

    response = client.post(
        f"/customers/{customer.code}/portal-link/", {"days": "10"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    url = re.search(r'value="(https://ar\.example\.com/portal/[^"]+/)"', html).group(1)
    assert "<html" not in html
    assert Client().get(url.removeprefix("https://ar.example.com")).status_code == 200
    link = PortalLink.objects.get(customer=customer)
    assert (link.expires_at - link.created_at).days in (9, 10)


def test_a_statement_may_go_out_with_a_portal_link(alice, customer, today, settings):
    settings.HUIKUAN_BASE_URL = "https://ar.example.com"
    month = today.replace(day=1) - timedelta(days=1)

    signed_in_client(alice).post(
        f"/customers/{customer.code}/statements/send/",
        {"month": month.strftime("%Y-%m"), "with_portal_link": "1"},
    )

    message = OutboxMessage.objects.get(customer=customer)
    assert "https://ar.example.com/portal/" in message.body_text
    assert PortalLink.objects.filter(customer=customer).count() == 1


def test_an_instalment_plans_agreement_downloads_as_a_pdf(alice, bob, customer, today):
    from huikuan.collections.services import plan_create

    plan = plan_create(
        customer=customer,
        invoices=list(customer.invoices.order_by("due_date")[:1]),
        start_date=today,
        count=2,
        user=alice,
    )

    response = signed_in_client(alice).get(f"/customers/{customer.code}/plans/{plan.pk}/agreement/")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "12,000.00" in text, text
    assert (
        signed_in_client(bob).get(f"/customers/{customer.code}/plans/{plan.pk}/agreement/").status_code == 404
    )


def test_a_manager_may_see_the_customer_as_of_another_day_and_a_collector_may_not(alice, customer, today):
    manager = make_user("mia", Role.MANAGER)
    earlier = (today - timedelta(days=30)).isoformat()

    for_manager = signed_in_client(manager).get(f"/customers/{customer.code}/", {"as_of": earlier})
    for_collector = signed_in_client(alice).get(f"/customers/{customer.code}/", {"as_of": earlier})

    (position,) = for_manager.context["positions"]
    assert position.overdue_minor == 1200000  # a month ago only the oldest invoice was past due
    assert for_collector.context["as_of"] == today
