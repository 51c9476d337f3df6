"""Statements of account (对账单): figures from the ledger, the PDF, the e-mail, the answers."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from pypdf import PdfReader

from huikuan.collections.models import Task, TaskKind
from huikuan.core.models import AuditEntry
from huikuan.core.money import Money
from huikuan.customers.models import Contact
from huikuan.ledger.models import Statement, StatementStatus
from huikuan.ledger.services import (
    credit_note_issue,
    invoice_write_off,
    payment_record,
    payment_unallocate,
)
from huikuan.ledger.statements import (
    StatementError,
    StatementNoRecipient,
    StatementNotAnswerable,
    statement_aging,
    statement_archived_pdf,
    statement_build,
    statement_confirm,
    statement_dispute,
    statement_lines,
    statement_pdf,
    statement_send,
    statements_issue_monthly,
    statements_review,
)
from huikuan.messaging.delivery import outbox_deliver
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from tests.factories import make_customer, make_invoice
from tests.smtp import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

JUNE = date(2024, 6, 30)
NOW = datetime(2024, 7, 1, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _company(settings, tmp_path):
    settings.HUIKUAN_HOME = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HUIKUAN_COMPANY_NAME = "上海汇通贸易有限公司"
    settings.HUIKUAN_COMPANY_ADDRESS = "上海市浦东新区世纪大道100号"
    settings.HUIKUAN_PAYMENT_INSTRUCTIONS = "开户行：招商银行上海分行\n账号：1219 0000 0000 001"


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    """PDF text extraction may break lines or put spaces between CJK glyphs; compare without them."""
    return re.sub(r"\s+", "", text)


def june_customer(code: str = "ST001", *, language: str = "zh-hans", email: str = "finance@huadong.example"):
    """A month with everything in it: opening 1,350.00, closing 700.00, of which 300.00 on account.

    Before June: invoices A 1,000 (due 9 June), B 500 (due 19 June, 200 paid in May) and D 50.
    In June: invoice C 800, 1,000 paid for A, 100 credited on B, D written off, 300 received and
    left unapplied. In July (after the statement): C paid, another invoice issued.
    """
    customer = make_customer(code=code, name="华东机电", legal_name="华东机电设备有限公司", language=language)
    if email:
        Contact.objects.create(
            customer=customer, name="李娜", email=email, language=language, is_primary=True
        )
    a = make_invoice(customer, "1000.00", issue_date=date(2024, 5, 10), due_days=30, number=f"{code}-A")
    b = make_invoice(customer, "500.00", issue_date=date(2024, 5, 20), due_days=30, number=f"{code}-B")
    c = make_invoice(customer, "800.00", issue_date=date(2024, 6, 5), due_days=30, number=f"{code}-C")
    d = make_invoice(customer, "50.00", issue_date=date(2024, 4, 1), due_days=30, number=f"{code}-D")
    payment_record(
        customer=customer,
        received_date=date(2024, 5, 25),
        amount=Money.of("200", "CNY"),
        invoice_numbers=[b.number],
    )
    payment_record(
        customer=customer,
        received_date=date(2024, 6, 10),
        amount=Money.of("1000", "CNY"),
        invoice_numbers=[a.number],
        reference="TT-0610",
    )
    credit_note_issue(invoice=b, amount=Money.of("100", "CNY"), on_date=date(2024, 6, 15), reason="短少两箱")
    invoice_write_off(invoice=d, on_date=date(2024, 6, 20), reason="small balance")
    on_account = payment_record(
        customer=customer, received_date=date(2024, 6, 25), amount=Money.of("300", "CNY"), reference="TT-0625"
    )
    payment_unallocate(payment=on_account, on_date=date(2024, 6, 25))
    payment_record(
        customer=customer,
        received_date=date(2024, 7, 5),
        amount=Money.of("800", "CNY"),
        invoice_numbers=[c.number],
    )
    make_invoice(customer, "999.00", issue_date=date(2024, 7, 3), number=f"{code}-E")
    return customer


# --- figures -----------------------------------------------------------------------------


def test_a_statement_takes_its_opening_and_closing_balances_from_the_ledger_as_of_the_month():
    customer = june_customer()

    statement = statement_build(customer=customer, currency="cny", period_end_date=JUNE)

    assert (statement.period_start_date, statement.period_end_date) == (date(2024, 6, 1), JUNE)
    assert statement.currency == "CNY" and statement.status == StatementStatus.DRAFT
    assert statement.opening_minor == 135000
    assert statement.closing_minor == 70000


def test_the_lines_are_the_months_invoices_payments_credits_and_write_offs_with_a_running_balance():
    statement = statement_build(customer=june_customer(), currency="CNY", period_end_date=JUNE)

    lines = statement_lines(statement=statement)

    assert [(line.day.day, line.kind, line.debit_minor, line.credit_minor) for line in lines] == [
        (5, "INVOICE", 80000, 0),
        (10, "PAYMENT", 0, 100000),
        (15, "CREDIT_NOTE", 0, 10000),
        (20, "WRITE_OFF", 0, 5000),
        (25, "PAYMENT", 0, 30000),
    ]
    assert [line.balance_minor for line in lines] == [215000, 115000, 105000, 100000, 70000]
    assert lines[-1].balance_minor == statement.closing_minor
    assert lines[1].reference == "TT-0610" and lines[2].reference == "ST001-B"


def test_the_aging_at_the_month_end_shows_open_invoices_by_age_and_money_on_account():
    statement = statement_build(customer=june_customer(), currency="CNY", period_end_date=JUNE)

    aging = statement_aging(statement=statement)

    assert [(item.number, item.open_minor, item.days_overdue) for item in aging.items] == [
        ("ST001-B", 20000, 11),
        ("ST001-C", 80000, 0),
    ]
    assert aging.buckets == {"current": 80000, "1-30": 20000, "31-60": 0, "61-90": 0, "90+": 0}
    assert aging.unapplied_minor == 30000
    assert aging.overdue_minor == 20000
    assert aging.balance_minor == statement.closing_minor


def test_building_again_returns_the_same_statement_and_a_draft_follows_a_late_booking():
    customer = june_customer()
    first = statement_build(customer=customer, currency="CNY", period_end_date=JUNE)
    payment_record(customer=customer, received_date=date(2024, 6, 28), amount=Money.of("50", "CNY"))

    again = statement_build(customer=customer, currency="CNY", period_end_date=JUNE)

    assert again.pk == first.pk
    assert again.closing_minor == 65000
    assert Statement.objects.count() == 1


def test_a_sent_statement_keeps_the_figures_the_customer_was_shown():
    customer = june_customer()
    statement = statement_build(customer=customer, currency="CNY", period_end_date=JUNE)
    statement_send(statement=statement, now=NOW)
    payment_record(customer=customer, received_date=date(2024, 6, 28), amount=Money.of("50", "CNY"))

    again = statement_build(customer=customer, currency="CNY", period_end_date=JUNE)

    assert again.closing_minor == 70000 and again.status == StatementStatus.SENT


def test_a_statement_covers_a_calendar_month():
    customer = make_customer()
    with pytest.raises(StatementError, match="not the last day"):
        statement_build(customer=customer, currency="CNY", period_end_date=date(2024, 6, 15))


def test_the_monthly_issue_makes_one_statement_per_customer_and_currency_with_activity_or_a_balance():
    busy = june_customer("BUSY")
    quiet_but_owing = make_customer(code="OWING")
    make_invoice(quiet_but_owing, "70.00", issue_date=date(2024, 1, 10))
    settled = make_customer(code="SETTLED")
    make_invoice(settled, "10.00", issue_date=date(2024, 1, 10), number="SETTLED-1")
    payment_record(customer=settled, received_date=date(2024, 2, 1), amount=Money.of("10", "CNY"))
    make_invoice(busy, "30.00", currency="USD", issue_date=date(2024, 6, 12), number="BUSY-USD")

    result = statements_issue_monthly(month_end=JUNE)

    made = sorted(
        Statement.objects.values_list("customer__code", "currency", "opening_minor", "closing_minor")
    )
    assert made == [
        ("BUSY", "CNY", 135000, 70000),
        ("BUSY", "USD", 0, 3000),
        ("OWING", "CNY", 7000, 7000),
    ]
    assert result["created"] == 3 and result["month"] == "2024-06"
    assert statements_issue_monthly(month_end=JUNE)["created"] == 0
    assert Statement.objects.count() == 3


def test_the_monthly_issue_selects_set_based_whatever_the_number_of_customers():
    for n in range(3):
        make_invoice(make_customer(code=f"FEW{n}"), "10.00", issue_date=date(2024, 6, 3))
    with CaptureQueriesContext(connection) as few:
        statements_issue_monthly(month_end=JUNE)
    for n in range(30):
        make_invoice(make_customer(code=f"MANY{n}"), "10.00", issue_date=date(2024, 6, 3))
    with CaptureQueriesContext(connection) as many:
        statements_issue_monthly(month_end=JUNE)

    assert Statement.objects.count() == 33
    assert len(many) == len(few)


# --- the PDF -----------------------------------------------------------------------------


def test_the_english_pdf_shows_balances_lines_aging_and_payment_instructions():
    statement = statement_build(customer=june_customer(language="en"), currency="CNY", period_end_date=JUNE)

    text = pdf_text(statement_pdf(statement=statement, language="en"))

    assert "Statement of account" in text
    assert "ST-ST001-202406-CNY" in text
    assert "CNY 1,350.00" in text and "CNY 700.00" in text
    for number in ("ST001-A", "ST001-B", "ST001-C", "ST001-D", "TT-0610"):
        assert number in text
    assert "ST001-E" not in text  # issued in July
    assert "Credit note" in text and "Write-off" in text
    assert "1-30 days" in text and "Not yet due" in text
    assert "招商银行" in squeezed(text)


def test_the_chinese_pdf_is_in_chinese_with_extractable_cjk_text():
    statement = statement_build(
        customer=june_customer(language="zh-hans"), currency="CNY", period_end_date=JUNE
    )

    text = squeezed(pdf_text(statement_pdf(statement=statement)))

    with translation.override("zh-hans"):
        title = str(translation.gettext("Statement of account"))
    assert squeezed(title) in text
    assert "华东机电设备有限公司" in text and "李娜" in text
    assert "1,350.00元" in text and "700.00元" in text
    assert "2024年6月30日" in text
    assert "ST001-C" in text


# --- sending -----------------------------------------------------------------------------


def test_a_sent_statement_reaches_the_smtp_server_with_its_pdf_attached(smtp_settings):
    statement = statement_build(customer=june_customer(language="en"), currency="CNY", period_end_date=JUNE)

    message = statement_send(statement=statement, now=NOW)
    report = outbox_deliver(now=NOW + timedelta(minutes=1))

    assert report.sent == 1, report.as_dict()
    (mail,) = smtp_settings.mailbox.messages
    assert mail["Message-ID"] == message.message_id
    assert mail["To"] == "finance@huadong.example"
    assert "ST-ST001-202406-CNY" in mail["Subject"] or "2024-06" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "CNY 700.00" in body and "ST-ST001-202406-CNY" in body
    (attachment,) = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert attachment.get_filename() == "ST-ST001-202406-CNY.pdf"
    attached = pdf_text(attachment.get_content())
    assert "CNY 700.00" in attached and "ST001-C" in attached
    statement.refresh_from_db()
    message.refresh_from_db()
    assert statement.status == StatementStatus.SENT and statement.sent_at == NOW
    assert message.status == OutboxStatus.SENT
    assert statement_archived_pdf(statement=statement) is not None


def test_the_monthly_issue_with_send_queues_each_statement_once_and_names_who_cannot_get_one():
    june_customer("MAIL")
    june_customer("NOMAIL", email="")
    quiet = june_customer("QUIET")
    quiet.do_not_contact = True
    quiet.save()

    first = statements_issue_monthly(month_end=JUNE, send=True, now=NOW)
    second = statements_issue_monthly(month_end=JUNE, send=True, now=NOW)

    assert first["sent"] == {"queued": 1, "no_email": ["NOMAIL"], "do_not_contact": ["QUIET"]}
    assert second["sent"]["queued"] == 0
    (message,) = OutboxMessage.objects.all()
    assert message.customer.code == "MAIL" and message.attach_letter and message.template_key == "statement"
    assert dict(Statement.objects.values_list("customer__code", "status")) == {
        "MAIL": "SENT",
        "NOMAIL": "DRAFT",
        "QUIET": "DRAFT",
    }


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_statement_email_is_a_message_template_the_user_can_edit(language):
    from huikuan.messaging.defaults import template_edit
    from huikuan.messaging.models import Template

    shipped = statement_send(
        statement=statement_build(
            customer=june_customer(language=language), currency="CNY", period_end_date=JUNE
        ),
        now=NOW,
    )
    template = Template.objects.get(key="statement", channel="EMAIL", language=language)
    template_edit(
        template=template,
        subject="{{ customer_name }}: {{ month }}",
        body_text="Balance {{ closing }} ({{ reference }}), reply in {{ reply_days }} days.\n{{ company.name }}",
    )
    edited = statement_send(
        statement=statement_build(
            customer=june_customer("ST002", language=language), currency="CNY", period_end_date=JUNE
        ),
        now=NOW,
    )

    assert "ST-ST001-202406-CNY" in shipped.body_text and "华东机电设备有限公司" in shipped.subject
    closing = "CNY 700.00" if language == "en" else "700.00 元"
    assert edited.subject == "华东机电设备有限公司: 2024-06"
    assert edited.body_text.startswith(f"Balance {closing} (ST-ST002-202406-CNY), reply in ")


def test_sending_to_a_customer_without_an_email_address_says_so():
    statement = statement_build(customer=june_customer(email=""), currency="CNY", period_end_date=JUNE)
    with pytest.raises(StatementNoRecipient, match="no contact with an e-mail address"):
        statement_send(statement=statement, now=NOW)
    assert not OutboxMessage.objects.exists()


def test_sending_again_queues_a_second_copy_with_its_own_message_id():
    statement = statement_build(customer=june_customer(), currency="CNY", period_end_date=JUNE)
    first = statement_send(statement=statement, now=NOW)
    second = statement_send(statement=statement, now=NOW + timedelta(days=3))
    assert first.message_id != second.message_id
    statement.refresh_from_db()
    assert statement.sent_at == NOW + timedelta(days=3)


# --- answers -----------------------------------------------------------------------------


def sent_statement(**kwargs) -> Statement:
    statement = statement_build(customer=june_customer(**kwargs), currency="CNY", period_end_date=JUNE)
    statement_send(statement=statement, now=NOW)
    statement.refresh_from_db()
    return statement


def test_a_confirmed_statement_records_who_confirmed_it_and_when():
    statement = sent_statement()
    when = NOW + timedelta(days=2)

    confirmed = statement_confirm(statement=statement, responder_name=" 李娜 ", note="无误", now=when)

    assert confirmed.status == StatementStatus.CONFIRMED
    assert (confirmed.responder_name, confirmed.response_note, confirmed.responded_at) == (
        "李娜",
        "无误",
        when,
    )
    entry = AuditEntry.objects.filter(entity="ledger.statement", entity_id=str(statement.pk)).first()
    assert entry.after["status"] == "CONFIRMED" and entry.before["status"] == "SENT"


def test_an_answered_or_unsent_statement_cannot_be_answered_again():
    statement = sent_statement()
    statement_confirm(statement=statement, responder_name="李娜", now=NOW)
    with pytest.raises(StatementNotAnswerable, match="already been answered"):
        statement_dispute(statement=statement, responder_name="王强", note="不对", now=NOW)
    draft = statement_build(customer=june_customer("DRAFT1"), currency="CNY", period_end_date=JUNE)
    with pytest.raises(StatementNotAnswerable, match="not been sent"):
        statement_confirm(statement=draft, responder_name="李娜", now=NOW)


def test_a_disputed_statement_gives_the_collector_a_task():
    collector = get_user_model().objects.create_user("zhang", password="x")
    statement = sent_statement()
    statement.customer.collector = collector
    statement.customer.save()

    statement_dispute(statement=statement, responder_name="李娜", note="6月10日付款应为1,100元", now=NOW)

    task = Task.objects.get(kind=TaskKind.STATEMENT_DISPUTED)
    assert task.statement_id == statement.pk and task.assignee == collector
    assert "6月10日付款应为1,100元" in task.script
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DISPUTED


def test_a_dispute_needs_a_name_and_what_is_wrong():
    statement = sent_statement()
    with pytest.raises(StatementError, match="name"):
        statement_dispute(statement=statement, responder_name=" ", note="wrong", now=NOW)
    with pytest.raises(StatementError, match="does not match"):
        statement_dispute(statement=statement, responder_name="李娜", note="  ", now=NOW)


def test_statements_left_unanswered_past_the_reply_days_become_no_reply_and_can_still_be_confirmed():
    statement = sent_statement()  # sent on 1 July (UTC), 09:00 in Shanghai
    assert statements_review(as_of=date(2024, 7, 15)) == {"no_reply": 0}

    assert statements_review(as_of=date(2024, 7, 16)) == {"no_reply": 1}
    assert statements_review(as_of=date(2024, 7, 16)) == {"no_reply": 0}

    statement.refresh_from_db()
    assert statement.status == StatementStatus.NO_REPLY
    assert statement_confirm(statement=statement, responder_name="李娜").status == StatementStatus.CONFIRMED


# --- the command -------------------------------------------------------------------------


def test_the_command_issues_sends_and_reviews():
    june_customer("CMD")
    out = StringIO()

    call_command("statements", "issue", "--month", "2024-06", "--send", stdout=out)
    call_command("statements", "issue", "--month", "2024-06", "--format", "json", stdout=out)
    call_command("statements", "list", "--month", "2024-06", stdout=out)

    text = out.getvalue()
    assert "Statements for 2024-06: 1 (1 new, 0 brought up to date)." in text
    assert "Queued for e-mail: 1." in text
    assert json.loads(text[text.index("{") : text.rindex("}") + 1])["statements"] == 1
    assert "ST-CMD-202406-CNY  SENT" in text


def test_the_command_sends_one_customers_statement_and_writes_a_pdf(tmp_path):
    june_customer("ONE", language="en")
    out = StringIO()

    call_command("statements", "send", "ONE", "--month", "2024-06", stdout=out)
    call_command(
        "statements", "pdf", "ONE", "--month", "2024-06", "--output", str(tmp_path / "s.pdf"), stdout=out
    )

    assert "ST-ONE-202406-CNY: closing balance 700.00 CNY; queued as message" in out.getvalue()
    assert "CNY 700.00" in pdf_text((tmp_path / "s.pdf").read_bytes())
    with pytest.raises(CommandError, match="not a month"):
        call_command("statements", "issue", "--month", "June")


def test_the_command_records_an_answer_given_outside_the_portal():
    statement = sent_statement()
    out = StringIO()

    call_command(
        "statements",
        "dispute",
        "ST001",
        "--month",
        "2024-06",
        "--name",
        "李娜",
        "--note",
        "少了一笔",
        stdout=out,
    )

    assert "disputed by 李娜" in out.getvalue()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.DISPUTED and statement.response_note == "少了一笔"
    with pytest.raises(CommandError, match="already been answered"):
        call_command("statements", "confirm", "ST001", "--month", "2024-06", "--name", "李娜")
