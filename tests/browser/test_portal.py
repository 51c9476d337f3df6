"""In a real browser, the customer's side and what a collector does for the customer on the
customer page: the portal link, a statement e-mailed and confirmed, an invoice questioned or
disputed — and that invoice leaving dunning while the question is open — and an instalment plan."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from huikuan.collections.models import Dispute, DisputeStatus, InstalmentPlan, PlanStatus, Task, TaskKind
from huikuan.core.calendars import next_business_day
from huikuan.dunning.engine import dunning_run
from huikuan.ledger.models import StatementStatus
from huikuan.ledger.statements import statement_build, statement_send
from huikuan.messaging.delivery import outbox_deliver
from huikuan.messaging.models import OutboxMessage
from huikuan.portal.services import portal_link_create
from tests.browser.support import sign_in, submit_and_wait_for_reload
from tests.factories import make_customer, make_invoice
from tests.smtp import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def collector(make_user):
    return make_user("wang.li", role="COLLECTOR", first_name="Li", last_name="Wang")


@pytest.fixture
def customer(collector, today):
    """华东机电 reads English; it owes two long-overdue invoices and has last month's statement."""
    from huikuan.customers.services import contact_create

    customer = make_customer(
        code="C-1001", name="上海华东机电设备有限公司", collector=collector, language="en"
    )
    contact_create(customer=customer, name="王芳", email="wangfang@example.cn", is_primary=True)
    make_invoice(customer, "12000.00", issue_date=today - timedelta(days=120), due_days=30, number="INV-1001")
    make_invoice(customer, "8000.00", issue_date=today - timedelta(days=100), due_days=30, number="INV-1002")
    return customer


@pytest.fixture
def statement(customer, today):
    month_end = today.replace(day=1) - timedelta(days=1)
    statement = statement_build(customer=customer, currency="CNY", period_end_date=month_end)
    statement_send(statement=statement)
    statement.refresh_from_db()
    assert statement.status == StatementStatus.SENT
    return statement


@pytest.fixture
def portal_key(customer):
    _link, key = portal_link_create(customer=customer)
    return key


def invoices_in_dunning(customer, as_of) -> set[str]:
    """The invoice numbers the dunning run would chase this customer for (rolled back).

    Stages fire on the customer's business days only, so the run is dated the first business
    day from ``as_of`` on: a test run on a weekend or a holiday asks the same question.
    """
    run_day = next_business_day(as_of, customer.country)
    result = dunning_run(as_of=run_day, dry_run=True, customer_id=customer.id)
    return {number for action in result.actions for number in action["invoices"]}


def test_the_customer_confirms_the_statement_in_the_portal(new_page, statement, portal_key, screenshot):
    page = new_page()

    page.goto(f"/portal/{portal_key}/")
    assert page.get_by_role("heading", name="Your account").is_visible()
    assert page.locator("tr", has_text="INV-1001").count() == 1
    assert page.locator("tr", has_text="INV-1002").count() == 1
    screenshot(page, "portal.en")
    page.get_by_role("link", name="Check and confirm").click()
    page.get_by_role("heading", name="Statement of account").wait_for()
    screenshot(page, "portal-statement.en")
    confirm = page.locator("form", has=page.get_by_role("button", name="Confirm the statement"))
    confirm.get_by_label("Your name").fill("王芳")
    with page.expect_navigation() as answer:
        confirm.get_by_role("button", name="Confirm the statement").click()

    assert answer.value is not None and answer.value.ok, answer.value and answer.value.status
    page.get_by_text("Thank you: the statement is confirmed.").wait_for()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.CONFIRMED
    assert statement.responder_name == "王芳"


def test_an_invoice_questioned_in_the_portal_leaves_dunning_and_reaches_the_collector(
    new_page, customer, portal_key, collector, today, screenshot
):
    assert invoices_in_dunning(customer, today) == {"INV-1001", "INV-1002"}
    page = new_page()
    page.goto(f"/portal/{portal_key}/")

    page.locator("tr", has_text="INV-1001").get_by_role("link", name="Raise a question").click()
    page.get_by_label("Reason").select_option("QUALITY")
    page.get_by_label("Your name").fill("王芳")
    page.get_by_label("Tell us more").fill("第二批货有 30 件外壳开裂，已拍照。")
    screenshot(page, "portal-dispute.en")
    with page.expect_navigation() as answer:
        page.get_by_role("button", name="Send").click()

    assert answer.value is not None and answer.value.ok, answer.value and answer.value.status
    page.get_by_role("status").wait_for()
    dispute = Dispute.objects.get(invoice__number="INV-1001")
    assert dispute.status == DisputeStatus.OPEN and dispute.source == "PORTAL"
    assert page.locator("tr", has_text="INV-1001").get_by_text("Under review").is_visible()
    # The disputed invoice leaves dunning; the other one is still chased.
    assert invoices_in_dunning(customer, today) == {"INV-1002"}
    assert Task.objects.filter(dispute=dispute, kind=TaskKind.DISPUTE, assignee=collector).count() == 1

    # The collector sees it: on the worklist, and on the customer's page.
    staff = new_page()
    sign_in(staff, "wang.li")
    assert (
        staff.locator("tr[data-row]", has_text="上海华东机电设备有限公司").filter(has_text="dispute").count()
        >= 1
    )
    staff.goto("/customers/C-1001/")
    row = staff.locator("#invoices tr", has_text="INV-1001")
    assert row.get_by_text("in dispute").is_visible()
    assert "第二批货有 30 件外壳开裂" in staff.locator("#timeline").inner_text()


def test_the_portal_opens_in_the_customers_language_and_switches(new_page, customer, statement, screenshot):
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    _link, key = portal_link_create(customer=customer)
    page = new_page(locale="en-US")

    page.goto(f"/portal/{key}/")

    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("heading", name="您的账户").is_visible()
    screenshot(page, "portal.zh-hans")
    page.goto(f"/portal/{key}/statements/{statement.pk}/")
    screenshot(page, "portal-statement.zh-hans")
    page.goto(f"/portal/{key}/invoices/INV-1001/dispute/")
    screenshot(page, "portal-dispute.zh-hans")
    with page.expect_navigation() as answer:
        page.locator("form.language").get_by_role("button", name="English").click()
    assert answer.value is not None and answer.value.ok, answer.value and answer.value.status
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="A question about invoice INV-1001").is_visible()


def test_a_dead_or_foreign_portal_address_answers_404(new_page, customer, statement, portal_key, make_user):
    other_collector = make_user("chen.gang", role="COLLECTOR")
    other = make_customer(code="C-2002", name="北方重工机械有限公司", collector=other_collector)
    make_invoice(other, "56000.00", number="INV-2002")
    other_statement = statement_build(
        customer=other, currency="CNY", period_end_date=statement.period_end_date
    )
    page = new_page()

    for url in (
        f"/portal/{portal_key}x/",
        f"/portal/{portal_key}/invoices/INV-2002/dispute/",
        f"/portal/{portal_key}/statements/{other_statement.pk}/",
    ):
        response = page.goto(url)
        assert response is not None and response.status == 404, url
        assert "北方重工" not in page.content()


def test_a_collector_makes_a_portal_link_that_opens_the_customers_account(
    new_page, customer, screenshot, settings, live_server
):
    settings.HUIKUAN_BASE_URL = live_server.url  # where the company's Huikuan answers
    staff = new_page()
    sign_in(staff, "wang.li", next_url="/customers/C-1001/")
    documents = staff.locator("#documents")

    documents.get_by_role("button", name="Create a portal link").click()

    url = documents.get_by_label("Portal link", exact=True).input_value()
    assert "/portal/" in url
    screenshot(staff, "customer-360-portal-link.en")
    visitor = new_page()
    response = visitor.goto(url)
    assert response is not None and response.status == 200
    assert visitor.locator("tr", has_text="INV-1001").count() == 1
    assert "上海华东机电设备有限公司" in visitor.locator("header").inner_text()


def open_dispute_on(page, number: str, *, reason: str, notes: str) -> None:
    """On the customer page: tick an invoice, open the dispute panel, fill it in and send it."""
    page.get_by_label(f"Select invoice {number}").check()
    page.locator("#invoices").get_by_role("button", name="Dispute").click()
    panel = page.locator("#action-panel")
    # By name: the log form above uses the same element ids (id_notes, id_invoice_0, …), so a
    # label here points at the log form's field.
    panel.locator("select[name=reason]").select_option(reason)
    panel.locator("textarea[name=notes]").fill(notes)
    submit_and_wait_for_reload(page, panel.get_by_role("button", name="Open the dispute"), "/dispute/")


def test_a_collector_disputes_selected_invoices_and_they_leave_dunning(page, customer, collector, today):
    sign_in(page, "wang.li", next_url="/customers/C-1001/")

    open_dispute_on(page, "INV-1002", reason="PRICE", notes="单价应为合同价 95 折。")

    dispute = Dispute.objects.get(invoice__number="INV-1002")
    assert dispute.owner == collector and dispute.source == "STAFF" and dispute.reason == "PRICE"
    assert invoices_in_dunning(customer, today) == {"INV-1001"}
    page.goto("/customers/C-1001/")
    assert page.locator("#invoices tr", has_text="INV-1002").get_by_text("in dispute").is_visible()
    assert page.locator("#invoices tr", has_text="INV-1001").get_by_text("in dispute").count() == 0
    assert "单价应为合同价 95 折" in page.locator("#timeline").inner_text()


def test_the_customer_page_shows_what_an_action_on_it_did(page, customer):
    sign_in(page, "wang.li", next_url="/customers/C-1001/")

    open_dispute_on(page, "INV-1002", reason="PRICE", notes="单价应为合同价 95 折。")

    page.get_by_text("1 dispute opened.").wait_for(timeout=5000)


def test_a_statement_e_mailed_with_a_portal_link_brings_the_customer_to_it(
    new_page, customer, settings, live_server, smtp_settings, screenshot
):
    settings.HUIKUAN_BASE_URL = live_server.url
    staff = new_page()
    sign_in(staff, "wang.li", next_url="/customers/C-1001/")
    documents = staff.locator("#documents")
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    documents.get_by_label("Month").fill(last_month)
    documents.get_by_label("with a portal link").check()

    documents.get_by_role("button", name="Send the statement").click()

    staff.get_by_text("1 statement queued for e-mail.").wait_for()
    message = OutboxMessage.objects.get(template_key__icontains="statement")
    report = outbox_deliver(now=max(message.not_before_at, timezone.now()) + timedelta(minutes=1))
    assert report.sent == 1, report.as_dict()
    (mail,) = smtp_settings.mailbox.messages
    assert mail["To"] == "wangfang@example.cn"
    body = mail.get_body(("plain",)).get_content()
    (url,) = re.findall(r"http://\S+/portal/\S+/", body)

    page = new_page()
    page.goto(url)
    row = page.locator("tr", has_text="Waiting for your answer")
    assert row.count() == 1
    screenshot(page, "portal-statement-waiting.en")
    pdf = page.request.get(row.get_by_role("link", name="PDF").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "C-1001" in text and "12,000.00" in text


def test_a_collector_agrees_an_instalment_plan_and_downloads_its_agreement(page, customer, today):
    sign_in(page, "wang.li", next_url="/customers/C-1001/")
    page.get_by_label("Select invoice INV-1001").check()
    page.get_by_label("Select invoice INV-1002").check()
    page.locator("#invoices").get_by_role("button", name="Instalment plan").click()
    panel = page.locator("#action-panel")
    first = today + timedelta(days=10)
    panel.locator("input[name=start_date]").fill(first.isoformat())
    panel.locator("input[name=count]").fill("4")

    submit_and_wait_for_reload(page, panel.get_by_role("button", name="Agree the plan"), "/plan/")

    plan = InstalmentPlan.objects.get(customer=customer)
    assert plan.status == PlanStatus.ACTIVE and plan.principal_minor == 2_000_000
    assert list(plan.instalments.values_list("amount_minor", flat=True)) == [500_000] * 4
    assert invoices_in_dunning(customer, today) == set()
    page.goto("/customers/C-1001/")
    assert page.locator("#invoices tr", has_text="INV-1001").get_by_text("in a plan").is_visible()
    agreement = page.locator("#documents").get_by_role("link", name=re.compile("Agreement from"))
    pdf = page.request.get(agreement.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page_.extract_text() for page_ in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "INV-1001" in text and "5,000.00" in text
