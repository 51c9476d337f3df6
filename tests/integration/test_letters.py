"""Letters: real PDFs in Chinese and English, print batches with a dispatch register, postings recorded."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from huikuan.customers.models import Contact
from huikuan.dunning.models import Charge, ChargeKind
from huikuan.messaging.context import message_context_for_messages
from huikuan.messaging.letters import (
    LetterError,
    letter_batch_create,
    letter_pdf,
    letter_record_posting,
    letter_register,
)
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from huikuan.messaging.rendering import render_template
from tests.factories import make_action, make_customer, make_invoice, make_outbox_message

pytestmark = pytest.mark.django_db

AS_OF = date(2024, 3, 15)
NOW = datetime(2024, 3, 16, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _company(settings, tmp_path):
    settings.HUIKUAN_HOME = tmp_path
    settings.HUIKUAN_COMPANY_NAME = "上海汇通贸易有限公司"
    settings.HUIKUAN_COMPANY_ADDRESS = "上海市浦东新区世纪大道100号"
    settings.HUIKUAN_PAYMENT_INSTRUCTIONS = "开户行：招商银行上海分行\n账号：1219 0000 0000 001"


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    """PDF text extraction may break lines or insert spaces between CJK glyphs; compare without them."""
    return re.sub(r"\s+", "", text)


def letter_message(
    n: int, *, language: str = "zh-hans", address: str = "北京市朝阳区建国路1号", invoices: int = 2, **fields
) -> OutboxMessage:
    customer = make_customer(
        code=f"L{n:03d}",
        name=f"华盛{n}",
        legal_name=f"北京华盛科技有限公司{n}",
        language=language,
        postal_address=address,
    )
    Contact.objects.create(customer=customer, name="王芳", language=language, is_primary=True)
    rows = [
        make_invoice(
            customer, amount=f"{12345 + k}.67", issue_date=date(2024, 1, 1) + timedelta(days=k), due_days=30
        )
        for k in range(invoices)
    ]
    action = make_action(customer, rows, as_of=AS_OF, stage_name="Final notice")
    fields.setdefault("not_before_at", NOW - timedelta(hours=1))
    return make_outbox_message(action, "LETTER", **fields)


@pytest.mark.parametrize(
    ("language", "title", "words", "amount"),
    [
        (
            "zh-hans",
            "最后催款函",
            ["北京华盛科技有限公司0", "特此函告", "上海汇通贸易有限公司"],
            "24,692.34元",
        ),
        ("en", "Final notice before legal action", ["Yours faithfully", "legal action"], "CNY24,692.34"),
    ],
)
def test_a_letter_pdf_names_its_invoices_and_amounts_in_the_customers_language(
    language, title, words, amount
):
    message = letter_message(0, language=language)
    Charge.objects.create(
        kind=ChargeKind.FEE,
        customer=message.customer,
        action=message.action,
        currency="CNY",
        amount_minor=10000,
        charge_date=AS_OF,
    )
    context = message_context_for_messages([message])[message.id]
    rendered = render_template(key="final-notice", channel="LETTER", language=language, context=context)

    data = letter_pdf(rendered=rendered, context=context)

    assert data.startswith(b"%PDF")
    text = squeezed(pdf_text(data))
    assert squeezed(title) in text
    for word in words:
        assert squeezed(word) in text
    for line in message.action.invoice_lines.select_related("invoice"):
        assert line.invoice.number in text
    assert "12,345.67" in text and "12,346.67" in text
    assert amount in text  # the total, in the body and the table
    assert "24,792.34" in text  # with the fee
    assert "北京市朝阳区建国路1号" in text  # the address block


def test_a_batch_prints_every_due_letter_into_one_pdf_with_a_register(tmp_path):
    first = letter_message(1)
    second = letter_message(2, language="en", invoices=40)  # a long table runs over a page
    later = letter_message(3, not_before_at=NOW + timedelta(days=1))
    approval = letter_message(4, status=OutboxStatus.AWAITING_APPROVAL)
    no_address = letter_message(5, address="")
    email = make_outbox_message(first.action, "EMAIL")

    batch = letter_batch_create(now=NOW)

    assert batch is not None
    pdf = Path(batch.pdf_path)
    assert pdf.parent == tmp_path / "letters" and pdf.exists()
    register = list(csv.DictReader(Path(batch.register_path).read_text(encoding="utf-8-sig").splitlines()))
    assert [row["customer_code"] for row in register] == ["L001", "L002"]
    assert [row["message"] for row in register] == [str(first.pk), str(second.pk)]
    assert all(row["tracking_number"] == "" and row["posted_date"] == "" for row in register)
    pages = [int(row["pages"]) for row in register]
    assert pages[0] >= 1 and pages[1] >= 2
    assert [int(row["first_page"]) for row in register] == [1, 1 + pages[0]]
    reader = PdfReader(pdf)
    assert len(reader.pages) == sum(pages)
    second_letter = squeezed("".join(page.extract_text() for page in reader.pages[pages[0] :]))
    assert "Finalnoticebeforelegalaction" in second_letter and "L002" in second_letter
    assert register[0]["address"].endswith("北京市朝阳区建国路1号")

    for message in (first, second):
        message.refresh_from_db()
        assert message.status == OutboxStatus.SENT and message.letter_batch_id == batch.pk
        assert message.sent_at == NOW and message.body_text and message.subject
    assert OutboxMessage.objects.get(pk=later.pk).status == OutboxStatus.QUEUED
    assert OutboxMessage.objects.get(pk=approval.pk).status == OutboxStatus.AWAITING_APPROVAL
    assert OutboxMessage.objects.get(pk=email.pk).status == OutboxStatus.QUEUED
    failed = OutboxMessage.objects.get(pk=no_address.pk)
    assert failed.status == OutboxStatus.FAILED and "no postal address" in failed.last_error

    assert letter_batch_create(now=NOW) is None  # nothing is printed twice


def test_posting_is_recorded_and_the_register_shows_it():
    message = letter_message(1)
    batch = letter_batch_create(now=NOW)

    letter_record_posting(
        message_id=message.pk, tracking_number=" EMS1234567890CN ", posted_date=date(2024, 3, 18)
    )

    message.refresh_from_db()
    assert (message.tracking_number, message.posted_date) == ("EMS1234567890CN", date(2024, 3, 18))
    (line,) = letter_register(batch=batch)
    assert (line.tracking_number, line.posted_date) == ("EMS1234567890CN", "2024-03-18")
    on_disk = Path(batch.register_path).read_text(encoding="utf-8-sig")
    assert "EMS1234567890CN" in on_disk and "2024-03-18" in on_disk


def test_a_letter_not_yet_printed_cannot_be_recorded_as_posted():
    message = letter_message(1)
    with pytest.raises(LetterError, match="not been printed"):
        letter_record_posting(message_id=message.pk, tracking_number="X1", posted_date=date(2024, 3, 18))


def test_the_letters_commands_batch_record_and_print_the_register():
    message = letter_message(1)

    out = StringIO()
    call_command("letters", "batch", stdout=out)
    assert out.getvalue().startswith("Batch ")
    batch_id = OutboxMessage.objects.get(pk=message.pk).letter_batch_id

    out = StringIO()
    call_command(
        "letters",
        "posted",
        message.message_id.strip("<>"),
        "--tracking",
        "SF100",
        "--date",
        "2024-03-18",
        stdout=out,
    )
    assert out.getvalue().strip() == f"Letter {message.pk} to L001: posted 2024-03-18, tracking SF100."

    out = StringIO()
    call_command("letters", "register", str(batch_id), stdout=out)
    table = out.getvalue().splitlines()
    assert table[1].split()[:6] == ["line", "letter", "customer", "pages", "tracking", "posted"]
    assert table[2].split()[:3] == ["1", str(message.pk), "L001"] and "SF100" in table[2]

    out = StringIO()
    call_command("letters", "register", str(batch_id), "--format", "csv", stdout=out)
    assert out.getvalue().splitlines()[0].startswith("line,message,message_id,customer_code")

    out = StringIO()
    call_command("letters", "batch", stdout=out)
    assert out.getvalue().strip() == "No letters are waiting to be printed."
    with pytest.raises(CommandError, match="no letter batch 999"):
        call_command("letters", "register", "999")
