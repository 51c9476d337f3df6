"""From the dunning run to the mailbox: the formal notice arrives with its letter as a PDF."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from huikuan.customers.models import Contact
from huikuan.dunning.engine import dunning_run
from huikuan.dunning.models import InvoiceDunningLevel
from huikuan.messaging.delivery import outbox_deliver
from huikuan.messaging.models import OutboxMessage, OutboxStatus
from tests.factories import make_customer, make_invoice
from tests.smtp import smtp_server, smtp_settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "greeting"),
    [("zh-hans", "王芳"), ("en", "Wang Fang")],
)
def test_the_formal_notice_reaches_the_smtp_server_with_the_pdf_naming_every_invoice(
    smtp_settings, language, greeting
):
    customer = make_customer(name="华南贸易有限公司", country="CN", grade="B", language="zh-hans")
    Contact.objects.create(
        customer=customer, name=greeting, email="finance@huanan.example", language=language, is_primary=True
    )
    numbers = ["INV-2026-0101", "INV-2026-0102", "INV-2026-0103"]
    for offset, number in enumerate(numbers):
        invoice = make_invoice(
            customer,
            amount="1200.00",
            issue_date=TODAY - timedelta(days=51 + offset),
            due_days=30,
            number=number,
        )
        InvoiceDunningLevel.objects.create(invoice=invoice, level=4, level_date=TODAY - timedelta(days=11))
    dunning_run(as_of=TODAY, now=NOW)
    message = OutboxMessage.objects.get(channel="EMAIL")
    assert message.attach_letter

    report = outbox_deliver(now=message.not_before_at + timedelta(minutes=1))

    assert report.sent == 1, report.as_dict()
    (mail,) = smtp_settings.mailbox.messages
    assert mail["Message-ID"] == message.message_id
    assert mail["To"] == "finance@huanan.example"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for number in numbers:
        assert number in text and number in html
    (attachment,) = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.get_content())).pages)
    for number in numbers:
        assert number in pdf_text
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.language == language
