"""A generated month of bank statement for the demo portfolio, imported and matched end to end."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from huikuan.banking.demo import (
    DEMO_BANK_ACCOUNT_NAME,
    DEMO_BANK_IBAN,
    demo_bank_credits,
    demo_bank_statement_xml,
)
from huikuan.banking.matching_service import bank_match
from huikuan.banking.models import BankStatementLine, LineStatus
from huikuan.banking.services import bank_account_create
from huikuan.core.demo import demo_portfolio_build
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.models import Allocation

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 6, 30)


def _minor(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction or 0)


def _bank(*args: str) -> dict:
    out = StringIO()
    call_command("bank", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def month_file(tmp_path):
    demo_portfolio_build(as_of=AS_OF, customers=40)
    bank_account_create(name=DEMO_BANK_ACCOUNT_NAME, account_number=DEMO_BANK_IBAN, currency="CNY")
    credits = demo_bank_credits(as_of=AS_OF)
    path = tmp_path / "demo-2025-06.xml"
    path.write_bytes(demo_bank_statement_xml(as_of=AS_OF, credits=credits))
    return path, credits


def test_the_demo_month_imports_matches_and_moves_the_aging(month_file):
    path, credits = month_file
    assert len(credits) >= 20
    open_before = _minor(aging_build(as_of=AS_OF)["totals"]["CNY"]["total"])

    imported = _bank("import", str(path))
    summary = bank_match(as_of=AS_OF)

    # Every transfer, the bank's interest credit and its fee debit; the balances add up.
    assert imported["lines"] == imported["new_lines"] == len(credits) + 2
    assert imported["warnings"] == []
    assert _minor(imported["credits"]["CNY"]) == sum(credit.amount_minor for credit in credits) + 12_866
    assert summary["lines"] == len(credits) + 1  # the fee debit stays out of matching
    assert summary["applied"] + summary["review"] + summary["unmatched"] == summary["lines"]

    applied = BankStatementLine.objects.filter(status=LineStatus.APPLIED)
    allocated = Allocation.objects.filter(payment__bank_line__in=applied).aggregate(total=Sum("amount_minor"))
    open_after = _minor(aging_build(as_of=AS_OF)["totals"]["CNY"]["total"])
    assert allocated["total"] and open_before - open_after == allocated["total"]

    # Applied without a person only where it was right, and most of the money found its invoices.
    truth = {(credit.day, credit.amount_minor): set(credit.invoices) for credit in credits}
    for line in applied.prefetch_related("payment__allocations__invoice"):
        paid = {allocation.invoice.number for allocation in line.payment.allocations.all()}
        assert paid <= truth[(line.booking_date, line.amount_minor)], line.remittance
    assert summary["applied"] >= 0.7 * len(credits)
    interest = BankStatementLine.objects.get(remittance__contains="Interest")
    assert interest.status != LineStatus.APPLIED


def test_the_same_month_imported_again_adds_nothing(month_file):
    path, _credits = month_file
    _bank("import", str(path))

    again = _bank("import", str(path))

    assert again["new_lines"] == 0
    assert BankStatementLine.objects.count() == again["lines"]
