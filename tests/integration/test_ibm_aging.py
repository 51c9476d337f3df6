"""The IBM sample through the public import commands, aged as of 2013-06-30, checked by hand.

The independent calculation below reads the raw file and uses nothing of Huikuan's: an invoice is
open on 2013-06-30 when it was issued by then and settled after it; its bucket comes from the
days between its due date and the as-of date.
"""

from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.models import Invoice, InvoiceStatus
from tests.ibm import ibm_rows, import_ibm_sample

pytestmark = pytest.mark.django_db

AS_OF = date(2013, 6, 30)
LABELS = ["current", "1-30", "31-60", "61-90", "91-180", "181-365", "365+"]


def _day(text: str) -> date:
    return datetime.strptime(text, "%m/%d/%Y").date()


def _label(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    for upper, label in ((30, "1-30"), (60, "31-60"), (90, "61-90"), (180, "91-180"), (365, "181-365")):
        if days_past_due <= upper:
            return label
    return "365+"


def _independent_aging(rows):
    per_customer: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        if _day(row["InvoiceDate"]) <= AS_OF < _day(row["SettledDate"]):
            amount = Decimal(row["InvoiceAmount"])
            per_customer[row["customerID"]][_label((AS_OF - _day(row["DueDate"])).days)] += amount
    return per_customer


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def test_the_ibm_sample_ages_as_an_independent_calculation_says(shared_data, tmp_path):
    rows = ibm_rows(shared_data)
    import_ibm_sample(shared_data, tmp_path)

    report = aging_build(as_of=AS_OF)

    # Every invoice of the sample was settled in the end, so today nothing is open...
    assert Invoice.objects.count() == 2466
    assert set(Invoice.objects.values_list("status", flat=True)) == {InvoiceStatus.PAID}
    # ...but on 2013-06-30 some were, and each lands where the hand calculation puts it.
    expected = _independent_aging(rows)
    assert report["as_of"] == "2013-06-30"
    assert report["buckets"] == LABELS
    assert {c["code"] for c in report["customers"]} == set(expected)
    for line in report["customers"]:
        mine = expected[line["code"]]
        assert line["currency"] == "USD"
        assert {label: line[label] for label in LABELS} == {label: _money(mine[label]) for label in LABELS}
        assert line["total"] == _money(sum(mine.values(), Decimal(0)))
    usd = report["totals"]["USD"]
    bucket_totals = {label: sum((c[label] for c in expected.values()), Decimal(0)) for label in LABELS}
    assert {label: usd[label] for label in LABELS} == {label: _money(v) for label, v in bucket_totals.items()}
    assert usd["total"] == _money(sum(bucket_totals.values(), Decimal(0)))
    assert usd["overdue"] == _money(sum(v for label, v in bucket_totals.items() if label != "current"))
    assert len(expected) > 50 and bucket_totals["1-30"] > 0  # the date is one where much is open


def test_the_ibm_sample_dso_is_the_count_back_of_its_own_sales(shared_data, tmp_path):
    rows = ibm_rows(shared_data)
    import_ibm_sample(shared_data, tmp_path)

    report = aging_build(as_of=AS_OF)

    # Count back by hand: June 2013 (30 days), May (31), April (30)... until the open total is used up.
    sales: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        issued = _day(row["InvoiceDate"])
        if issued <= AS_OF:
            sales[(issued.year, issued.month)] += Decimal(row["InvoiceAmount"])
    remaining = sum(sum(c.values(), Decimal(0)) for c in _independent_aging(rows).values())
    days = Decimal(0)
    month_lengths = {(2013, 6): 30, (2013, 5): 31, (2013, 4): 30, (2013, 3): 31, (2013, 2): 28, (2013, 1): 31}
    for month, length in month_lengths.items():
        if remaining <= sales[month]:
            days += length * remaining / sales[month]
            break
        days += length
        remaining -= sales[month]
    assert Decimal(report["totals"]["USD"]["dso"]) == days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
