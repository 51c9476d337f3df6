"""The pure parts of aging: bucket parsing and labels, bucket assignment, DSO by count-back."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.core.money import CURRENCY_EXPONENTS, format_minor
from huikuan.ledger.aging import (
    DEFAULT_BUCKETS,
    BucketsInvalid,
    bucket_due_dates,
    bucket_index,
    bucket_labels,
    buckets_parse,
    dso_count_back,
    month_shift,
    share,
)
from huikuan.ledger.aging_report import _column_formatter, _formatter, amount_grouped

bounds_strategy = st.lists(st.integers(min_value=1, max_value=2000), min_size=1, max_size=8, unique=True).map(
    lambda values: tuple(sorted(values))
)


def _label_range(label: str) -> tuple[int, float]:
    """Return the (lowest, highest) days past due a label stands for; current is (-inf..0]."""
    if label == "current":
        return (-(10**9), 0)
    if label.endswith("+"):
        return (int(label[:-1]) + 1, float("inf"))
    low, high = label.split("-")
    return (int(low), int(high))


# --- parsing and labels ------------------------------------------------------------------


def test_the_default_buckets_have_the_labels_of_the_contract():
    assert buckets_parse("30,60,90,180,365") == DEFAULT_BUCKETS
    assert bucket_labels(DEFAULT_BUCKETS) == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "91-180",
        "181-365",
        "365+",
    ]


def test_bucket_bounds_may_have_spaces_and_a_single_bound_gives_two_overdue_buckets():
    assert buckets_parse(" 15 , 45 ") == (15, 45)
    assert bucket_labels(buckets_parse("7")) == ["current", "1-7", "7+"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30,20", "buckets must increase: 20 comes after 30"),
        ("30,30", "buckets must increase: 30 comes after 30"),
        ("abc", "bucket 'abc' is not a whole number of days"),
        ("30,,60", "bucket '' is not a whole number of days"),
        ("-5,30", "bucket '-5' is not a whole number of days"),
        ("1.5", "bucket '1.5' is not a whole number of days"),
        ("0,30", "bucket bound 0 must be a whole number of days of at least 1"),
        ("", "buckets must be a list of days"),
        ("²", "bucket '²' is not a whole number of days"),
    ],
)
def test_bad_bucket_lists_are_refused_with_a_message_that_says_why(text, message):
    with pytest.raises(BucketsInvalid, match=message.replace("(", r"\(").replace("+", r"\+")):
        buckets_parse(text)


@given(bounds_strategy)
def test_labels_are_contiguous_from_current_to_the_open_ended_last_bucket(bounds):
    ranges = [_label_range(label) for label in bucket_labels(bounds)]
    assert ranges[0] == (-(10**9), 0)
    assert ranges[-1][1] == float("inf")
    for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False):
        assert low == high + 1


@given(bounds_strategy, st.integers(min_value=-5000, max_value=5000))
def test_every_day_count_lands_in_exactly_the_one_bucket_whose_label_covers_it(bounds, days):
    ranges = [_label_range(label) for label in bucket_labels(bounds)]
    covering = [k for k, (low, high) in enumerate(ranges) if low <= days <= high]
    assert covering == [bucket_index(days, bounds)]


@pytest.mark.parametrize(
    ("days", "label"),
    [
        (-10, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (365, "181-365"),
        (366, "365+"),
    ],
)
def test_days_past_due_at_the_edges_of_the_default_buckets(days, label):
    assert bucket_labels(DEFAULT_BUCKETS)[bucket_index(days, DEFAULT_BUCKETS)] == label


@given(
    bounds_strategy,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    st.integers(-3000, 3000),
)
def test_comparing_due_dates_with_the_bucket_edges_gives_the_same_bucket_as_counting_days(
    bounds, as_of, offset
):
    """The SQL compares due dates with these edges; it must agree with days past due."""
    due = as_of - timedelta(days=offset)
    edges = bucket_due_dates(as_of, bounds)
    by_dates = next((k for k, edge in enumerate(edges) if due >= edge), len(edges))
    assert by_dates == bucket_index((as_of - due).days, bounds)


# --- DSO ---------------------------------------------------------------------------------


def test_dso_counts_whole_months_back_until_a_months_sales_cover_the_rest():
    # March (31 days) sales 100 are used up; 150 of February's 200 remain: 29 × 150/200 = 21.75 days.
    sales = {(2024, 3): 100, (2024, 2): 200, (2024, 1): 300}
    assert dso_count_back(as_of=date(2024, 3, 31), receivable_minor=250, monthly_sales=sales) == Decimal(
        "52.8"
    )


def test_dso_counts_only_the_days_of_the_current_month_up_to_the_as_of_date():
    sales = {(2024, 3): 100}
    assert dso_count_back(as_of=date(2024, 3, 15), receivable_minor=50, monthly_sales=sales) == Decimal("7.5")


def test_a_month_without_sales_counts_its_days_and_covers_nothing():
    sales = {(2024, 3): 100, (2024, 1): 100}
    # March 31 days, February 29 days (2024 is a leap year), then half of January's 31.
    assert dso_count_back(as_of=date(2024, 3, 31), receivable_minor=150, monthly_sales=sales) == Decimal(
        "75.5"
    )


def test_dso_is_unknown_when_the_months_given_do_not_cover_the_receivable():
    sales = {(2024, 3): 100}
    assert dso_count_back(as_of=date(2024, 3, 31), receivable_minor=500, monthly_sales=sales) is None
    assert (
        dso_count_back(as_of=date(2024, 3, 31), receivable_minor=500, monthly_sales=sales, earliest=(2023, 1))
        is None
    )


def test_dso_of_nothing_owed_is_zero():
    assert dso_count_back(as_of=date(2024, 3, 31), receivable_minor=0, monthly_sales={}) == Decimal("0.0")


@given(
    st.dictionaries(
        st.tuples(st.integers(2023, 2024), st.integers(1, 12)), st.integers(1, 10**9), min_size=1, max_size=24
    ),
    st.integers(1, 10**9),
    st.integers(1, 10**9),
)
def test_more_receivable_never_means_fewer_days_sales_outstanding(sales, smaller, extra):
    as_of = date(2024, 12, 31)
    low = dso_count_back(as_of=as_of, receivable_minor=smaller, monthly_sales=sales, earliest=(2000, 1))
    high = dso_count_back(
        as_of=as_of, receivable_minor=smaller + extra, monthly_sales=sales, earliest=(2000, 1)
    )
    if high is not None:
        assert low is not None and low <= high


@pytest.mark.parametrize(
    ("month", "shift", "expected"),
    [
        ((2024, 3), -2, (2024, 1)),
        ((2024, 1), -1, (2023, 12)),
        ((2024, 12), 1, (2025, 1)),
        ((2024, 5), -29, (2021, 12)),
    ],
)
def test_month_shift_crosses_year_ends(month, shift, expected):
    assert month_shift(month, shift) == expected


def test_share_is_a_four_place_fraction_rounded_half_up_and_zero_of_nothing():
    assert share(4231, 10000) == Decimal("0.4231")
    assert share(1, 3) == Decimal("0.3333")
    assert share(2, 3) == Decimal("0.6667")
    assert str(share(0, 0)) == "0.0000"


# --- formatting ---------------------------------------------------------------------------


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_the_reports_fast_amount_format_matches_format_minor(minor, currency):
    assert _formatter(currency)(minor) == format_minor(minor, currency)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        ("0.00", "0.00"),
        ("999.99", "999.99"),
        ("1234.50", "1,234.50"),
        ("-1234.50", "-1,234.50"),
        ("1234567", "1,234,567"),
    ],
)
def test_table_amounts_get_thousands_separators(amount, shown):
    assert amount_grouped(amount) == shown


@given(
    st.lists(st.integers(min_value=-(10**15), max_value=10**15), max_size=20),
    st.sampled_from(sorted(CURRENCY_EXPONENTS)),
)
def test_the_reports_column_format_matches_format_minor_for_every_amount(column, currency):
    assert _column_formatter(currency)(column) == [format_minor(minor, currency) for minor in column]
