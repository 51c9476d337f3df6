"""A large aging report on SQLite reads slices of the customers at once on connections of its own.

These tests commit their data (the other connections see only committed rows), so they run
with ``transaction=True``; the split is switched on from the first invoice.
"""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.ledger import aging_report
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.models import Invoice
from huikuan.ledger.services import credit_note_issue, payment_record
from tests.factories import make_customer, make_invoice

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite reads in slices"),
]

AS_OF = date(2024, 6, 30)


@pytest.fixture
def split_from_one_invoice(monkeypatch):
    monkeypatch.setattr(aging_report, "_SPLIT_MIN_INVOICES", 1)


@pytest.fixture
def portfolio():
    """Twenty customers whose codes run against their ids, in two currencies, all buckets."""
    collector = get_user_model().objects.create_user("mei")
    customers = [
        make_customer(f"K{99 - n:02d}", collector=collector if n % 2 else None, grade="AB"[n % 2])
        for n in range(20)
    ]
    for n, customer in enumerate(customers):
        for k in range(1 + n % 4):
            make_invoice(
                customer,
                f"{10 * (n + 1) + k}.{n:02d}",
                "USD" if (n + k) % 3 == 0 else "CNY",
                issue_date=date(2023, 1 + (n + 3 * k) % 12, 1 + n),
            )
    # Activity after the as-of date: corrections merged into the slices' rows.
    paid = customers[5]
    payment_record(customer=paid, received_date=date(2024, 7, 2), amount=Money.of("15", "CNY"))
    credit_note_issue(
        invoice=paid.invoices.first(), amount=Money.of("1", paid.invoices.first().currency),
        on_date=date(2024, 7, 3), reason="late",
    )  # fmt: skip
    make_invoice(customers[7], "99.00", issue_date=date(2024, 7, 1))  # after the as-of date
    return customers


def test_outside_a_transaction_the_customer_ids_are_cut_into_ranges_that_cover_them_all(
    split_from_one_invoice, portfolio
):
    ids = sorted(customer.id for customer in portfolio)

    ranges = aging_report._customer_id_ranges()

    assert ranges is not None and len(ranges) > 1
    assert ranges[0][0] == ids[0] and ranges[-1][1] == ids[-1] + 1
    assert all(high == low for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False))


def test_inside_a_transaction_or_below_the_threshold_the_report_reads_in_one_query(portfolio, monkeypatch):
    assert aging_report._customer_id_ranges() is None  # twenty customers are few
    monkeypatch.setattr(aging_report, "_SPLIT_MIN_INVOICES", 1)
    with transaction.atomic():
        assert aging_report._customer_id_ranges() is None


@pytest.mark.parametrize("by", ["customer", "collector", "grade", "currency"])
def test_the_report_read_in_slices_is_the_report_read_in_one_query(split_from_one_invoice, portfolio, by):
    split = aging_build(as_of=AS_OF, by=by)
    with transaction.atomic():
        whole = aging_build(as_of=AS_OF, by=by)

    assert split == whole
    issued = Invoice.objects.filter(issue_date__lte=AS_OF)
    assert [(row["code"], row["currency"]) for row in split["customers"]] == sorted(
        set(issued.values_list("customer__code", "currency"))
    )


def test_a_collectors_scope_is_kept_in_every_slice(split_from_one_invoice, portfolio):
    mine = [customer for customer in portfolio if customer.collector_id is not None]
    scope = Customer.objects.filter(collector__username="mei")

    report = aging_build(as_of=AS_OF, customer_scope=scope)

    assert {row["code"] for row in report["customers"]} == {customer.code for customer in mine}
