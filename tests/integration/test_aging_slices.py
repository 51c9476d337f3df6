"""A large aging report on SQLite is read in slices of customer ids and is the same report."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.ledger import aging_report
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.services import credit_note_issue, payment_record
from tests.factories import make_customer, make_invoice

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite reads in slices"),
]

AS_OF = date(2024, 6, 30)


@pytest.fixture
def portfolio():
    """Twenty customers whose codes run against their ids, in three currencies, in every bucket.

    After the as-of date one customer pays part, another gets a credit note, and a third pays
    everything: owing on the date, nothing open today.
    """
    mei = get_user_model().objects.create_user("mei")
    customers = [
        make_customer(f"K{99 - n:02d}", collector=mei if n % 2 else None, grade="AB"[n % 2])
        for n in range(20)
    ]
    for n, customer in enumerate(customers):
        for k in range(1 + n % 4):
            make_invoice(
                customer,
                f"{10 * (n + 1) + k}.{n:02d}" if (n + k) % 5 else f"{n + k + 1}000",
                ("CNY", "USD", "CNY", "JPY")[(n + k) % 4] if (n + k) % 5 else "JPY",
                issue_date=date(2023, 1 + (n + 3 * k) % 12, 1 + n),
            )
    payment_record(customer=customers[5], received_date=date(2024, 7, 2), amount=Money.of("15", "CNY"))
    invoice = customers[6].invoices.first()
    credit_note_issue(
        invoice=invoice, amount=Money.of("1", invoice.currency), on_date=date(2024, 7, 3), reason="late"
    )
    for invoice in customers[9].invoices.all():
        credit_note_issue(
            invoice=invoice, amount=Money(invoice.open_minor, invoice.currency), on_date=date(2024, 7, 4),
            reason="settled",
        )  # fmt: skip
    make_invoice(customers[7], "99.00", issue_date=date(2024, 7, 1))  # after the as-of date
    return customers


def _report(monkeypatch, *, sliced: bool, **options) -> dict:
    monkeypatch.setattr(aging_report, "_SLICE_MIN_INVOICES", 1 if sliced else 10**12)
    read = []
    ranges = aging_report._customer_id_ranges

    def counting():
        found = ranges()
        read.append(found)
        return found

    monkeypatch.setattr(aging_report, "_customer_id_ranges", counting)
    report = aging_build(as_of=AS_OF, **options)
    assert (read[0] is not None) == sliced
    return report


def test_the_customer_ids_are_cut_into_ranges_that_cover_them_all(portfolio, monkeypatch):
    monkeypatch.setattr(aging_report, "_SLICE_MIN_INVOICES", 1)
    ids = sorted(customer.id for customer in portfolio)

    ranges = aging_report._customer_id_ranges()

    assert ranges is not None and len(ranges) == aging_report._SLICES
    assert ranges[0][0] == ids[0] and ranges[-1][1] == ids[-1] + 1
    assert all(high == low for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False))


def test_below_the_threshold_the_report_is_one_query(portfolio):
    assert aging_report._customer_id_ranges() is None  # twenty customers are few


@pytest.mark.parametrize("by", ["customer", "collector", "grade", "currency"])
def test_the_report_read_in_slices_is_the_report_read_in_one_query(portfolio, monkeypatch, by):
    sliced = _report(monkeypatch, sliced=True, by=by)
    whole = _report(monkeypatch, sliced=False, by=by)

    assert sliced == whole
    assert {"CNY", "USD", "JPY"} <= set(sliced["totals"])
    assert portfolio[9].code in {row["code"] for row in sliced["customers"]}  # owing on the date only


def test_a_collectors_scope_is_kept_in_every_slice(portfolio, monkeypatch):
    scope = Customer.objects.filter(collector__username="mei")

    report = _report(monkeypatch, sliced=True, customer_scope=scope)

    assert report == _report(monkeypatch, sliced=False, customer_scope=scope)
    assert {row["code"] for row in report["customers"]} == {c.code for c in portfolio if c.collector_id}


def test_a_failure_while_reading_a_slice_reaches_the_caller(portfolio, monkeypatch):
    monkeypatch.setattr(aging_report, "_SLICE_MIN_INVOICES", 1)
    sql = aging_report._open_amounts_sql

    def broken(**kwargs):
        query, params = sql(**kwargs)
        if kwargs.get("customer_ids"):
            query = query.replace("json_array(", "no_such_function(", 1)
        return query, params

    monkeypatch.setattr(aging_report, "_open_amounts_sql", broken)
    with pytest.raises(Exception, match="no_such_function"):
        aging_build(as_of=AS_OF)
