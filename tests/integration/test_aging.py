"""Point-in-time aging against the database, and the ``huikuan aging`` command."""

import csv
import gc
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from huikuan.core.money import Money
from huikuan.ledger import aging_report
from huikuan.ledger.aging_report import AgingGroupingInvalid, _display_width, aging_build, aging_table_text
from huikuan.ledger.services import (
    allocation_reverse,
    credit_note_issue,
    invoice_cancel,
    invoice_write_off,
    payment_record,
)
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

LABELS = ["current", "1-30", "31-60", "61-90", "91-180", "181-365", "365+"]


def _row(report: dict, code: str, currency: str = "CNY") -> dict | None:
    rows = [r for r in report["customers"] if r["code"] == code and r["currency"] == currency]
    assert len(rows) <= 1
    return rows[0] if rows else None


def _open(report: dict, code: str, currency: str = "CNY") -> str | None:
    row = _row(report, code, currency)
    return row["total"] if row else None


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("aging", *args, stdout=out)
    return out.getvalue()


# --- point in time -----------------------------------------------------------------------


def test_an_invoice_paid_after_the_as_of_date_is_still_open_as_of_then():
    customer = make_customer("ACME")
    make_invoice(customer, "100.00", issue_date=date(2024, 1, 1), due_days=30)  # due 2024-01-31
    payment_record(customer=customer, received_date=date(2024, 3, 10), amount=Money.of("100", "CNY"))

    before = aging_build(as_of=date(2024, 2, 29))
    after = aging_build(as_of=date(2024, 3, 10))

    assert _row(before, "ACME") == {
        "code": "ACME",
        "name": customer.name,
        "currency": "CNY",
        **dict.fromkeys(LABELS, "0.00"),
        "1-30": "100.00",  # 29 days past due
        "total": "100.00",
    }
    assert after["customers"] == [] and after["totals"] == {}


def test_a_partial_payment_counts_from_its_date_only():
    customer = make_customer("PART")
    make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    payment_record(customer=customer, received_date=date(2024, 2, 10), amount=Money.of("30", "CNY"))

    assert _open(aging_build(as_of=date(2024, 2, 9)), "PART") == "100.00"
    assert _open(aging_build(as_of=date(2024, 2, 10)), "PART") == "70.00"


def test_a_credit_note_dated_after_the_as_of_date_does_not_count():
    customer = make_customer("CRED")
    invoice = make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    credit_note_issue(
        invoice=invoice, amount=Money.of("40", "CNY"), on_date=date(2024, 3, 5), reason="damaged"
    )

    assert _open(aging_build(as_of=date(2024, 3, 4)), "CRED") == "100.00"
    assert _open(aging_build(as_of=date(2024, 3, 5)), "CRED") == "60.00"


def test_write_offs_and_cancellations_close_invoices_only_from_their_dates():
    customer = make_customer("WOFF")
    written_off = make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    cancelled = make_invoice(customer, "50.00", issue_date=date(2024, 1, 1))
    invoice_write_off(invoice=written_off, on_date=date(2024, 6, 30), reason="bankrupt")
    invoice_cancel(invoice=cancelled, on_date=date(2024, 2, 1), reason="issued twice")

    assert _open(aging_build(as_of=date(2024, 1, 31)), "WOFF") == "150.00"
    assert _open(aging_build(as_of=date(2024, 6, 29)), "WOFF") == "100.00"
    assert _open(aging_build(as_of=date(2024, 6, 30)), "WOFF") is None


def test_an_invoice_issued_after_the_as_of_date_is_left_out():
    customer = make_customer("LATE")
    make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    make_invoice(customer, "55.00", issue_date=date(2024, 2, 1))

    assert _open(aging_build(as_of=date(2024, 1, 31)), "LATE") == "100.00"
    assert _open(aging_build(as_of=date(2024, 2, 1)), "LATE") == "155.00"


def test_an_unallocation_dated_after_the_as_of_date_does_not_matter_but_one_dated_before_does():
    customer = make_customer("REV")
    make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    payment = payment_record(
        customer=customer, received_date=date(2024, 2, 10), amount=Money.of("100", "CNY")
    )
    allocation_reverse(allocation=payment.allocations.get(), on_date=date(2024, 3, 10))

    assert _open(aging_build(as_of=date(2024, 2, 9)), "REV") == "100.00"
    assert _open(aging_build(as_of=date(2024, 2, 20)), "REV") is None  # paid then; reopened later
    assert _open(aging_build(as_of=date(2024, 3, 10)), "REV") == "100.00"


def test_an_invoice_over_settled_as_of_a_date_by_back_dated_entries_counts_as_nothing_not_less():
    customer = make_customer("BACK")
    first = make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    make_invoice(customer, "50.00", issue_date=date(2024, 1, 5))
    payment = payment_record(
        customer=customer,
        received_date=date(2024, 2, 5),
        amount=Money.of("100", "CNY"),
        invoice_numbers=[first.number],
    )
    allocation_reverse(allocation=payment.allocations.get(), on_date=date(2024, 3, 30))
    # Entered after the reversal but dated in February: as of 10 February both payments were applied.
    payment_record(
        customer=customer,
        received_date=date(2024, 2, 6),
        amount=Money.of("100", "CNY"),
        invoice_numbers=[first.number],
    )

    assert _open(aging_build(as_of=date(2024, 2, 10)), "BACK") == "50.00"
    assert _open(aging_build(as_of=date(2024, 3, 30)), "BACK") == "50.00"


def test_a_month_end_aging_rerun_after_later_activity_gives_the_same_answer():
    customer = make_customer("SAME")
    make_invoice(customer, "100.00", issue_date=date(2024, 1, 1))
    second = make_invoice(customer, "80.00", issue_date=date(2024, 1, 15))
    month_end = aging_build(as_of=date(2024, 1, 31))

    payment = payment_record(customer=customer, received_date=date(2024, 2, 5), amount=Money.of("120", "CNY"))
    credit_note_issue(
        invoice=second, amount=Money.of("10", "CNY"), on_date=date(2024, 2, 6), reason="late delivery"
    )
    allocation_reverse(allocation=payment.allocations.first(), on_date=date(2024, 2, 7))
    make_invoice(customer, "10.00", issue_date=date(2024, 2, 1))

    assert _open(month_end, "SAME") == "180.00"
    assert aging_build(as_of=date(2024, 1, 31)) == month_end


@pytest.mark.parametrize(
    ("as_of", "label"),
    [
        (date(2024, 1, 31), "current"),  # due today
        (date(2024, 2, 1), "1-30"),
        (date(2024, 3, 1), "1-30"),  # 30 days
        (date(2024, 3, 2), "31-60"),
        (date(2025, 1, 30), "181-365"),  # 365 days
        (date(2025, 1, 31), "365+"),
    ],
)
def test_days_past_due_put_the_amount_in_its_bucket(as_of, label):
    make_invoice(make_customer("EDGE"), "100.00", issue_date=date(2024, 1, 1), due_days=30)

    row = _row(aging_build(as_of=as_of), "EDGE")

    assert row is not None
    assert [name for name in LABELS if row[name] != "0.00"] == [label]


def test_custom_buckets_change_the_labels_and_the_columns():
    make_invoice(make_customer("CUST"), "100.00", issue_date=date(2024, 1, 1), due_days=30)

    report = aging_build(as_of=date(2024, 2, 20), buckets=(15, 45))

    assert report["buckets"] == ["current", "1-15", "16-45", "45+"]
    assert _row(report, "CUST")["16-45"] == "100.00"  # 20 days past due


# --- totals, currencies and groups -------------------------------------------------------


def test_each_currency_has_its_own_totals_and_amounts_are_never_added_across_currencies():
    both = make_customer("BOTH")
    yen = make_customer("YEN")
    make_invoice(both, "100.00", "CNY", issue_date=date(2024, 1, 1))
    make_invoice(both, "250.50", "USD", issue_date=date(2024, 1, 20))
    make_invoice(yen, "5000", "JPY", issue_date=date(2024, 1, 1))
    make_invoice(yen, "1.234", "KWD", issue_date=date(2024, 1, 1))

    report = aging_build(as_of=date(2024, 2, 15))

    assert list(report["totals"]) == ["CNY", "JPY", "KWD", "USD"]
    assert report["totals"]["CNY"]["total"] == "100.00"
    assert report["totals"]["USD"]["total"] == "250.50"
    assert report["totals"]["JPY"]["total"] == "5000"
    assert report["totals"]["KWD"]["total"] == "1.234"
    assert [(r["code"], r["currency"]) for r in report["customers"]] == [
        ("BOTH", "CNY"),
        ("BOTH", "USD"),
        ("YEN", "JPY"),
        ("YEN", "KWD"),
    ]


def test_totals_carry_overdue_amount_and_share_customer_count_and_dso():
    a, b = make_customer("TA"), make_customer("TB")
    make_invoice(a, "600.00", issue_date=date(2024, 1, 1), due_days=30)  # 15 days overdue
    make_invoice(b, "400.00", issue_date=date(2024, 2, 1), due_days=30)  # not yet due
    make_invoice(b, "1000.00", issue_date=date(2023, 12, 1), due_days=30)
    payment_record(customer=b, received_date=date(2023, 12, 20), amount=Money.of("1000", "CNY"))

    totals = aging_build(as_of=date(2024, 2, 15))["totals"]["CNY"]

    assert totals["current"] == "400.00"
    assert totals["1-30"] == "600.00"
    assert totals["overdue"] == "600.00"
    assert totals["total"] == "1000.00"
    assert totals["overdue_share"] == "0.6000"
    assert totals["customer_count"] == 2
    # Count-back: February so far (15 days) sold 400, January (31 days) sold 600: all of it.
    assert totals["dso"] == "46.0"


def test_dso_reaches_back_beyond_a_year_when_the_receivable_is_that_old():
    customer = make_customer("OLD")
    make_invoice(customer, "100.00", issue_date=date(2022, 1, 10))
    make_invoice(customer, "100.00", issue_date=date(2024, 3, 1))

    dso = Decimal(aging_build(as_of=date(2024, 3, 31))["totals"]["CNY"]["dso"])

    # All of March 2024, then every day back to the start of January 2022, then 1/1 of it.
    assert dso == Decimal((date(2024, 3, 31) - date(2022, 1, 1)).days + 1)


def test_customers_come_in_code_order_and_each_customers_currencies_in_currency_order():
    for code in ("M20", "B07", "Z01", "A99"):
        customer = make_customer(code)
        for currency in ("USD", "CNY", "EUR"):
            make_invoice(customer, "10.00", currency, issue_date=date(2024, 6, 1))

    rows = aging_build(as_of=date(2024, 6, 30))["customers"]

    assert [(row["code"], row["currency"]) for row in rows] == [
        (code, currency) for code in ("A99", "B07", "M20", "Z01") for currency in ("CNY", "EUR", "USD")
    ]


def test_customers_with_nothing_open_are_left_out():
    paid, untouched = make_customer("PAID"), make_customer("NONE")
    make_invoice(paid, "100.00", issue_date=date(2024, 1, 1))
    payment_record(customer=paid, received_date=date(2024, 1, 20), amount=Money.of("100", "CNY"))
    owing = make_customer("OWES")
    make_invoice(owing, "1.00", issue_date=date(2024, 1, 1))

    report = aging_build(as_of=date(2024, 2, 1))

    assert [r["code"] for r in report["customers"]] == ["OWES"]
    assert untouched.code not in {r["code"] for r in report["customers"]}
    assert report["totals"]["CNY"]["customer_count"] == 1


@pytest.fixture
def portfolio():
    users = get_user_model().objects
    alice, bob = users.create_user("alice"), users.create_user("bob")
    customers = {
        "A1": make_customer("A1", collector=alice, grade="A"),
        "A2": make_customer("A2", collector=alice, grade="C"),
        "B1": make_customer("B1", collector=bob, grade="A"),
        "N1": make_customer("N1", grade="C"),
    }
    make_invoice(customers["A1"], "100.00", "CNY", issue_date=date(2024, 1, 1))
    make_invoice(customers["A1"], "10.00", "USD", issue_date=date(2024, 1, 1))
    make_invoice(customers["A2"], "200.00", "CNY", issue_date=date(2024, 2, 1))
    make_invoice(customers["B1"], "300.00", "CNY", issue_date=date(2024, 1, 1))
    make_invoice(customers["N1"], "400.00", "CNY", issue_date=date(2024, 1, 1))
    return customers


def _groups(report: dict) -> list[tuple]:
    return [(g["key"], g["currency"], g["total"], g["customer_count"]) for g in report["groups"]]


def test_grouping_by_collector_sums_each_collectors_customers_per_currency(portfolio):
    report = aging_build(as_of=date(2024, 2, 15), by="collector")

    assert report["by"] == "collector"
    assert _groups(report) == [
        ("alice", "CNY", "300.00", 2),
        ("alice", "USD", "10.00", 1),
        ("bob", "CNY", "300.00", 1),
        (None, "CNY", "400.00", 1),  # customers nobody collects come last
    ]
    alice_cny = report["groups"][0]
    assert (alice_cny["current"], alice_cny["1-30"], alice_cny["overdue"]) == ("200.00", "100.00", "100.00")
    assert len(report["customers"]) == 5  # the customer rows are still there


def test_grouping_by_grade_and_by_currency(portfolio):
    by_grade = aging_build(as_of=date(2024, 2, 15), by="grade")
    by_currency = aging_build(as_of=date(2024, 2, 15), by="currency")

    assert _groups(by_grade) == [
        ("A", "CNY", "400.00", 2),
        ("A", "USD", "10.00", 1),
        ("C", "CNY", "600.00", 2),
    ]
    assert _groups(by_currency) == [("CNY", "CNY", "1000.00", 4), ("USD", "USD", "10.00", 1)]


def test_an_unknown_grouping_is_refused():
    with pytest.raises(AgingGroupingInvalid):
        aging_build(as_of=date(2024, 1, 1), by="region")


def test_the_report_takes_a_bounded_number_of_queries_however_many_invoices(django_assert_max_num_queries):
    customers = [make_customer(f"Q{n}") for n in range(3)]
    for n in range(40):
        invoice = make_invoice(
            customers[n % 3], "10.00", "CNY" if n % 2 else "USD", issue_date=date(2023, 1 + n % 12, 1)
        )
        if n % 5 == 0:
            credit_note_issue(
                invoice=invoice, amount=Money.of("1", invoice.currency), on_date=date(2024, 1, 1), reason="x"
            )
    payment_record(customer=customers[0], received_date=date(2024, 2, 1), amount=Money.of("25", "CNY"))

    # Two aging queries, at most three of monthly sales; on PostgreSQL two more set the planner,
    # on SQLite one more looks at the table sizes (whether to read in slices).
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 6):
        few = aging_build(as_of=date(2024, 1, 31), by="collector")
    for n in range(200):
        make_invoice(customers[n % 3], "1.00", issue_date=date(2021, 1 + n % 12, 2))
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 6):
        many = aging_build(as_of=date(2024, 1, 31), by="collector")

    assert Decimal(many["totals"]["CNY"]["total"]) == Decimal(few["totals"]["CNY"]["total"]) + 200


# --- the command -------------------------------------------------------------------------


def test_the_json_output_has_exactly_the_shape_of_the_contract():
    customer = make_customer("JSON", name="华为技术有限公司")
    make_invoice(customer, "1234.50", "USD", issue_date=date(2013, 5, 1), due_days=30)

    report = json.loads(_run("--as-of", "2013-06-30", "--format", "json"))

    assert list(report) == ["as_of", "buckets", "totals", "customers"]
    assert report["as_of"] == "2013-06-30"
    assert report["buckets"] == LABELS
    assert list(report["totals"]) == ["USD"]
    usd = report["totals"]["USD"]
    assert list(usd) == [*LABELS, "overdue", "total", "customer_count", "dso", "overdue_share"]
    assert usd["1-30"] == usd["overdue"] == usd["total"] == "1234.50"
    assert usd["overdue_share"] == "1.0000"
    assert usd["customer_count"] == 1
    assert report["customers"] == [
        {
            "code": "JSON",
            "name": "华为技术有限公司",
            "currency": "USD",
            **dict.fromkeys(LABELS, "0.00"),
            "1-30": "1234.50",
            "total": "1234.50",
        }
    ]


def test_grouped_json_adds_the_groups_and_keeps_the_customers(portfolio):
    report = json.loads(_run("--as-of", "2024-02-15", "--format", "json", "--by", "grade"))

    assert list(report) == ["as_of", "buckets", "totals", "customers", "by", "groups"]
    assert list(report["groups"][0]) == ["key", "currency", *LABELS, "overdue", "total", "customer_count"]


def test_the_default_as_of_date_is_today_in_the_company_time_zone():
    report = json.loads(_run("--format", "json"))
    assert report["as_of"] == timezone.localdate().isoformat()


def test_the_table_shows_customers_and_totals_per_currency_with_amounts_right_aligned():
    make_invoice(make_customer("T1", name="上海某某贸易有限公司"), "1234567.89", issue_date=date(2024, 1, 1))
    make_invoice(make_customer("T2", name="Small Ltd"), "5.00", "USD", issue_date=date(2024, 1, 1))

    text = _run("--as-of", "2024-02-15")

    lines = text.splitlines()
    assert lines[0] == "Aging as of 2024-02-15"
    header = next(line for line in lines if line.startswith("Code"))
    row_t1 = next(line for line in lines if line.startswith("T1"))
    row_t2 = next(line for line in lines if line.startswith("T2"))
    assert "1,234,567.89" in row_t1
    # Right-aligned: both rows end their total at the same column as the header's "Total".
    assert row_t1.endswith("1,234,567.89") and row_t2.endswith("5.00") and header.endswith("Total")
    # Right-aligned: the rows end in the same terminal column as the header, Chinese names included.
    assert _display_width(row_t1) == _display_width(row_t2) == _display_width(header)
    assert "Totals per currency" in text
    assert aging_table_text(aging_build(as_of=date(2024, 2, 15))) == text


def test_the_table_says_when_nothing_is_open():
    assert "Nothing is open." in _run("--as-of", "2024-02-15")


def test_csv_has_a_header_and_one_row_per_customer_and_currency(tmp_path):
    make_invoice(make_customer("C1", name="Comma, Inc."), "10.00", issue_date=date(2024, 1, 1))
    make_invoice(make_customer("C2", name="二号客户"), "20.00", "USD", issue_date=date(2024, 2, 10))
    target = tmp_path / "aging.csv"

    _run("--as-of", "2024-02-15", "--format", "csv", "--output", str(target))

    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # so Excel reads the Chinese names
    rows = list(csv.DictReader(target.read_text(encoding="utf-8-sig").splitlines()))
    assert list(rows[0]) == ["code", "name", "currency", *LABELS, "total"]
    assert [(r["code"], r["name"], r["currency"], r["total"], r["1-30"]) for r in rows] == [
        ("C1", "Comma, Inc.", "CNY", "10.00", "10.00"),
        ("C2", "二号客户", "USD", "20.00", "0.00"),
    ]


def test_grouped_csv_has_a_row_per_group(portfolio):
    text = _run("--as-of", "2024-02-15", "--format", "csv", "--by", "collector")

    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["collector", "currency", *LABELS, "total"]
    assert [(r[0], r[1], r[-1]) for r in rows[1:]] == [
        ("alice", "CNY", "300.00"),
        ("alice", "USD", "10.00"),
        ("bob", "CNY", "300.00"),
        ("", "CNY", "400.00"),
    ]


def test_xlsx_has_numeric_amounts_with_the_currencys_decimals_and_a_totals_sheet(tmp_path):
    make_invoice(make_customer("X1"), "1234.56", issue_date=date(2024, 1, 1))
    make_invoice(make_customer("X2"), "700", "JPY", issue_date=date(2024, 2, 10))
    target = tmp_path / "aging.xlsx"

    _run("--as-of", "2024-02-15", "--format", "xlsx", "--output", str(target))

    workbook = load_workbook(target)
    assert workbook.sheetnames == ["Aging", "Totals"]
    rows = list(workbook["Aging"].iter_rows(values_only=True))
    assert rows[0] == ("code", "name", "currency", *LABELS, "total")
    x1 = workbook["Aging"]["K2"]  # X1's total
    assert (rows[1][0], x1.value, x1.number_format) == ("X1", 1234.56, "#,##0.00")
    assert (rows[2][0], rows[2][-1], workbook["Aging"]["K3"].number_format) == ("X2", 700, "#,##0")
    totals = list(workbook["Totals"].iter_rows(values_only=True))
    assert totals[0][:3] == ("as_of", "currency", "current")
    assert [(t[1], t[totals[0].index("total")]) for t in totals[1:]] == [("CNY", 1234.56), ("JPY", 700)]


def test_pdf_lists_customers_by_balance_with_the_totals_per_currency(tmp_path, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    make_invoice(make_customer("X1", name="上海华东机电设备有限公司"), "1234.56", issue_date=date(2024, 1, 1))
    make_invoice(make_customer("X2"), "98765.40", issue_date=date(2024, 2, 10))
    make_invoice(make_customer("X3"), "700", "JPY", issue_date=date(2024, 2, 10))
    target = tmp_path / "aging.pdf"

    _run("--as-of", "2024-02-15", "--format", "pdf", "--output", str(target))

    text = "".join(page.extract_text() for page in PdfReader(target).pages)
    assert "应收账款账龄分析" in text and "2024-02-15" in text
    assert "上海华东机电设备有限公司" in text and "98,765.40" in text and "99,999.96" in text
    assert text.index("X2") < text.index("X1")  # the largest balance first
    assert "JPY" in text and "700" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2024-13-01"], "--as-of: '2024-13-01' is not a date"),
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (["--buckets", "30,20"], "--buckets: buckets must increase: 20 comes after 30"),
        (["--buckets", "abc"], "--buckets: bucket 'abc' is not a whole number of days"),
        (["--by", "region"], "--by: 'region' is not one of customer, collector, grade, currency"),
        (["--format", "html"], "--format: 'html' is not one of table, json, csv, xlsx, pdf"),
        (["--format", "pdf"], "--format pdf writes a file: give it with --output FILE.pdf"),
        (["--format", "xlsx"], "--format xlsx writes a file: give it with --output FILE.xlsx"),
    ],
)
def test_bad_options_stop_with_one_clear_line_and_exit_code_2(args, message):
    with pytest.raises(CommandError) as caught:
        _run(*args)
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_an_output_file_that_cannot_be_written_is_reported(tmp_path):
    with pytest.raises(CommandError, match="--output: cannot write") as caught:
        _run("--format", "json", "--output", str(tmp_path / "missing" / "aging.json"))
    assert caught.value.returncode == 2


def test_the_report_leaves_garbage_collection_as_it_found_it():
    make_invoice(make_customer(), "10.00")
    aging_build(as_of=date(2024, 6, 30))
    assert gc.isenabled()
    gc.disable()
    try:
        aging_build(as_of=date(2024, 6, 30))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(AgingGroupingInvalid):
        aging_build(as_of=date(2024, 6, 30), by="planet")
    assert gc.isenabled()


def test_a_failure_while_reading_sales_for_dso_reaches_the_caller(monkeypatch):
    make_invoice(make_customer("FAIL"), "10.00", issue_date=date(2024, 6, 1))

    def broken(*args, **kwargs):
        raise RuntimeError("sales could not be read")

    monkeypatch.setattr(aging_report, "_monthly_sales", broken)
    with pytest.raises(RuntimeError, match="sales could not be read"):
        aging_build(as_of=date(2024, 6, 30))


def _planner() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_parallel_workers_per_gather'), current_setting('jit')")
        return cursor.fetchone()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner settings are PostgreSQL's")
def test_on_postgresql_the_queries_run_without_parallel_workers_and_the_settings_come_back(monkeypatch):
    make_invoice(make_customer("PLAN"), "10.00", issue_date=date(2024, 6, 1))
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 3")
        cursor.execute("SET jit = on")
    seen = []
    fetch_all = aging_report._fetch_all

    def spying(sql, params):
        seen.append(_planner())
        return fetch_all(sql, params)

    monkeypatch.setattr(aging_report, "_fetch_all", spying)
    report = aging_build(as_of=date(2024, 6, 30))
    with pytest.raises(AgingGroupingInvalid):
        aging_build(as_of=date(2024, 6, 30), by="planet")

    assert report["totals"]["CNY"]["total"] == "10.00"
    assert seen and set(seen) == {("0", "off")}
    assert _planner() == ("3", "on")
