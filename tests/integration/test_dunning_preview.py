"""`huikuan dunning preview`: exactly what one customer would receive, rendered, with nothing written."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.customers.services import contact_create
from huikuan.dunning.models import DunningRun, InvoiceDunningLevel
from huikuan.messaging.models import OutboxMessage
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def preview(code: str, as_of: str = "2026-11-23") -> str:
    out = StringIO()
    call_command("dunning", "preview", code, "--as-of", as_of, stdout=out)
    return out.getvalue()


@pytest.fixture
def formal_notice_due():
    customer = make_customer(code="ACME", name="Acme Trading Ltd", country="CN", grade="B", language="en")
    contact_create(customer=customer, name="Ms Li", email="li@acme.example", language="en", is_primary=True)
    invoice = make_invoice(customer, amount="12345.60", issue_date=date(2026, 9, 1), number="INV-2026-001")
    InvoiceDunningLevel.objects.create(invoice=invoice, level=4, level_date=date(2026, 11, 1))
    return customer


def test_the_preview_renders_the_formal_notice_the_customer_would_get_and_writes_nothing(formal_notice_due):
    text = preview("ACME")

    assert "[email] Formal notice" in text
    assert "To: li@acme.example" in text
    assert "INV-2026-001" in text and "12,345.60" in text
    assert "ACME-20261123.pdf" in text  # the letter rides along as a PDF
    assert not DunningRun.objects.exists() and not OutboxMessage.objects.exists()


def test_the_preview_of_a_date_already_run_shows_what_was_queued(formal_notice_due):
    call_command("dunning", "run", "--as-of", "2026-11-23", stdout=StringIO())

    text = preview("ACME")

    assert "[email] Formal notice" in text and OutboxMessage.objects.count() == 1


def test_the_preview_says_when_nothing_would_be_sent():
    make_customer(code="CALM", country="CN")

    assert "nothing would be sent" in preview("CALM")


def test_the_preview_of_an_unknown_customer_is_refused_in_one_line():
    with pytest.raises(CommandError, match="NOBODY"):
        preview("NOBODY")
