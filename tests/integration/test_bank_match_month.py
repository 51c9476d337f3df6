"""A generated, labelled month of credits for a small portfolio, matched end to end.

The same generator as ``benchmarks/banking.py``: references typed cleanly or mangled, several
invoices in one transfer, bank charges, no reference, payers other than the customer, credits
that are no customer's. Whatever is applied at once must be applied to the right customer.
"""

from datetime import date

import pytest
from django.db import transaction

from benchmarks.banking import AS_OF, lines_store, outcome_measure, write_data
from huikuan.banking.matching_service import bank_match
from huikuan.banking.models import BankStatementLine, MatchProposal, PayerAlias
from huikuan.customers.imports import customers_import
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.imports import invoices_import
from huikuan.ledger.models import Allocation, Invoice, Payment
from huikuan.ledger.services import invoice_balances_refresh, payment_balances_refresh

pytestmark = pytest.mark.django_db


def _open_total() -> int:
    return sum(Invoice.objects.values_list("open_minor", flat=True))


def test_a_noisy_month_is_applied_to_the_right_customers_and_the_aging_moves(tmp_path):
    facts = write_data(tmp_path, customers=120, invoices=1_200, lines=250, seed=11)
    customers_import(tmp_path / "customers.csv")
    invoices_import(tmp_path / "invoices.csv")
    lines_store(str(tmp_path))
    owed_before = _open_total()
    aging_before = aging_build(as_of=AS_OF)["totals"]

    summary = bank_match(as_of=AS_OF)
    outcome = outcome_measure(str(tmp_path))

    assert facts["lines"] == outcome["lines"] == summary["lines"] == 250
    assert outcome["precision_customer"] == 1.0
    assert outcome["precision_invoices"] >= 0.99
    assert outcome["recall"] >= 0.85
    assert outcome["by_scenario"]["not_a_customer"].get("applied", 0) == 0
    applied = sum(int(v.replace(".", "")) for v in summary["amounts"]["applied"].values())
    assert owed_before - _open_total() <= applied  # what was applied left the receivables
    assert owed_before - _open_total() > 0.8 * applied  # and most of it settled invoices
    assert aging_build(as_of=AS_OF)["totals"] != aging_before
    assert date.fromisoformat(summary["as_of"]) == AS_OF


def test_the_balances_written_in_batches_are_those_the_ledger_derives(tmp_path):
    write_data(tmp_path, customers=60, invoices=600, lines=120, seed=12)
    customers_import(tmp_path / "customers.csv")
    invoices_import(tmp_path / "invoices.csv")
    lines_store(str(tmp_path))
    bank_match(as_of=AS_OF, batch_size=25)
    invoices = list(Invoice.objects.order_by("pk").values_list("pk", "open_minor", "status", "settled_date"))
    payments = list(Payment.objects.order_by("pk").values_list("pk", "unapplied_minor"))

    invoice_balances_refresh(Invoice.objects.all())
    payment_balances_refresh(Payment.objects.all())

    assert payments and invoices == list(
        Invoice.objects.order_by("pk").values_list("pk", "open_minor", "status", "settled_date")
    )
    assert payments == list(Payment.objects.order_by("pk").values_list("pk", "unapplied_minor"))


class _Undone(Exception):
    pass


def _outcome() -> dict:
    return {
        "lines": sorted(BankStatementLine.objects.values_list("identity", "status", "customer_id")),
        "allocations": sorted(
            Allocation.objects.values_list("payment__external_id", "invoice_id", "amount_minor")
        ),
        "invoices": sorted(Invoice.objects.values_list("pk", "open_minor", "status", "settled_date")),
        "proposals": sorted(MatchProposal.objects.values_list("line__identity", "customer_id", "confidence")),
        "aliases": sorted(PayerAlias.objects.values_list("kind", "value", "customer_id", "confirmations")),
    }


def test_batches_decided_while_the_last_is_written_come_out_as_one_batch_alone(tmp_path):
    write_data(tmp_path, customers=60, invoices=600, lines=150, seed=13)
    customers_import(tmp_path / "customers.csv")
    invoices_import(tmp_path / "invoices.csv")
    lines_store(str(tmp_path))
    with pytest.raises(_Undone), transaction.atomic():
        pipelined = bank_match(as_of=AS_OF, batch_size=9)
        in_batches = _outcome()
        raise _Undone

    alone = bank_match(as_of=AS_OF, batch_size=1_000)

    assert in_batches == _outcome()
    assert (pipelined["applied"], pipelined["review"], pipelined["unmatched"]) == (
        alone["applied"],
        alone["review"],
        alone["unmatched"],
    )
    assert pipelined["applied"] > 100 and pipelined["skipped"] == 0
