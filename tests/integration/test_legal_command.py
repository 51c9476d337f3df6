"""``huikuan legal``: hand over, recover, end, list, and write the pack and the letter."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from huikuan.collections.legal_models import LegalHandover
from huikuan.customers.models import Customer, CustomerStatus
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db


def legal(*args: str) -> str:
    out = StringIO()
    call_command("legal", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def customer():
    customer = make_customer("CLI1", language="en")
    make_invoice(customer, "800.00", number="CLI1-A", issue_date=date(2026, 1, 1))
    make_invoice(customer, "200.00", number="CLI1-B", issue_date=date(2026, 2, 1))
    return customer


def test_hand_over_recover_end_and_list(customer):
    said = legal("handover", "CLI1", "--to", "lawyer", "--name", "金诚律师事务所", "--commission", "20",
                 "--invoice", "CLI1-A", "--date", "2026-06-01")  # fmt: skip
    handover = LegalHandover.objects.get()
    assert f"Hand-over {handover.pk}: CNY 800.00 of CLI1" in said
    assert Customer.objects.get(code="CLI1").status == CustomerStatus.LEGAL

    said = legal("recover", str(handover.pk), "--amount", "300.00", "--date", "2026-06-20")
    assert "commission 60.00" in said and "partly_recovered" in said
    rows = json.loads(legal("list", "--format", "json"))
    assert rows[0]["recovered"] == "300.00" and rows[0]["commission"] == "60.00"
    assert "金诚律师事务所" in legal("list")

    legal("end", str(handover.pk), "--status", "closed", "--date", "2026-07-01")
    assert Customer.objects.get(code="CLI1").status == CustomerStatus.ACTIVE


def test_errors_are_reported_not_raised(customer):
    with pytest.raises(CommandError, match="between 0 and 100"):
        legal("handover", "CLI1", "--to", "agency", "--name", "X", "--commission", "101")
    with pytest.raises(CommandError, match="no invoice NOPE"):
        legal("handover", "CLI1", "--to", "agency", "--name", "X", "--commission", "10", "--invoice", "NOPE")
    with pytest.raises(CommandError, match="hand-over 999 does not exist"):
        legal("recover", "999", "--amount", "1")


def test_pack_writes_the_zip_whose_manifest_rehashes(customer, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = tmp_path / "pack.zip"

    said = legal("pack", "CLI1", "--out", str(out), "--as-of", "2026-11-01")

    assert str(out) in said
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
        assert "DL-CLI1-20261101.en.pdf" in archive.namelist()


def test_letter_writes_the_pdf(customer, tmp_path):
    out = tmp_path / "letter.pdf"

    legal("letter", "CLI1", "--out", str(out), "--as-of", "2026-11-01", "--language", "zh-hans")

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "催告函" in text and "CLI1-A" in text and "CLI1-B" in text


def test_incentives_books_a_discount_taken(customer):
    from huikuan.collections.incentives import incentive_offer
    from huikuan.core.money import Money
    from huikuan.ledger.services import payment_record

    incentive_offer(
        customer=customer, user=None, kind="discount", invoices=list(customer.invoices.filter(number="CLI1-A")),
        discount_percent="5", offered_date=date(2026, 3, 1), pay_by_date=date(2026, 3, 10),
    )  # fmt: skip
    payment_record(customer=customer, received_date=date(2026, 3, 2), amount=Money.of("760.00", "CNY"),
                   invoice_numbers=["CLI1-A"])  # fmt: skip

    assert json.loads(legal("incentives", "--as-of", "2026-03-03", "--format", "json")) == {
        "booked": 1,
        "expired": 0,
    }
    assert customer.invoices.get(number="CLI1-A").open_minor == 0
