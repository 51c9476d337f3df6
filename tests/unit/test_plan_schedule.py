"""Instalment schedules: dates, equal or custom amounts, interest, and a plan's state as payments arrive."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.collections.plans import (
    ACTIVE,
    BROKEN,
    COMPLETED,
    ScheduleInvalid,
    add_months,
    instalments_covered,
    parse_rate,
    plan_interest,
    plan_state,
    schedule_build,
    split_equal,
)

START = date(2024, 1, 31)


@given(total=st.integers(min_value=1, max_value=10**13), count=st.integers(min_value=1, max_value=120))
def test_an_equal_split_adds_up_and_puts_the_remainder_on_the_last(total, count):
    parts = split_equal(total, count)

    assert sum(parts) == total and len(parts) == count
    assert len(set(parts[:-1])) <= 1
    assert 0 <= parts[-1] - parts[0] < count


def test_monthly_dates_keep_the_day_or_take_the_months_last_day():
    schedule = schedule_build(principal_minor=100_00, start_date=START, count=4)

    assert schedule.due_dates == (date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31))
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)


def test_ten_thousand_in_three_instalments_puts_the_odd_cent_last():
    schedule = schedule_build(principal_minor=1_000_000, start_date=START, count=3)

    assert schedule.amounts == (333_333, 333_333, 333_334)
    assert schedule.total_minor == 1_000_000


def test_a_fee_is_part_of_the_total_spread_over_the_instalments():
    schedule = schedule_build(principal_minor=90_000, start_date=START, count=2, fee_minor=10_001)

    assert schedule.amounts == (50_000, 50_001)
    assert schedule.total_minor == 100_001


def test_interest_runs_on_the_declining_principal_from_the_start_to_each_due_date():
    # 12,000.00 at 3.65 % a year: 0.01 % a day. 31+29+31 days on 12,000, 8,000 and 4,000.
    interest = plan_interest(
        principal_minor=1_200_000,
        rate=Decimal("0.0365"),
        start_date=date(2024, 1, 1),
        due_dates=[date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1)],
    )

    assert interest == 1_200_000 * 31 // 10_000 + 800_000 * 29 // 10_000 + 400_000 * 31 // 10_000


@given(
    principal=st.integers(min_value=1, max_value=10**11),
    count=st.integers(min_value=1, max_value=36),
    rate=st.decimals(min_value=0, max_value=Decimal("0.5"), places=4),
)
def test_interest_is_never_negative_and_at_most_a_year_on_the_whole_principal_per_year(
    principal, count, rate
):
    dates = [add_months(START, k) for k in range(1, count + 1)]

    interest = plan_interest(principal_minor=principal, rate=rate, start_date=START, due_dates=dates)

    years = Decimal((dates[-1] - START).days) / 365
    assert 0 <= interest <= principal * rate * years + 1


def test_custom_amounts_must_add_up_to_the_plans_total():
    with pytest.raises(ScheduleInvalid) as short:
        schedule_build(principal_minor=100_000, start_date=START, amounts=[50_000, 49_999])

    schedule = schedule_build(
        principal_minor=100_000,
        start_date=START,
        amounts=[20_000, 30_000, 50_000],
        dates=[date(2024, 2, 10), date(2024, 2, 20), date(2024, 4, 1)],
    )

    assert short.value.code == "amounts_total"
    assert schedule.due_dates[0] == date(2024, 2, 10) and schedule.amounts == (20_000, 30_000, 50_000)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"count": 0}, "count_invalid"),
        ({"count": 121}, "count_invalid"),
        ({}, "count_invalid"),
        ({"count": 2, "amounts": [1, 99_999, 0]}, "count_mismatch"),
        ({"dates": [date(2024, 3, 1), date(2024, 2, 1)]}, "dates_invalid"),
        ({"dates": [date(2024, 1, 30)]}, "dates_invalid"),
        ({"count": 2, "amounts": [100_000, 0]}, "amounts_invalid"),
        ({"count": 2, "fee_minor": -1}, "fee_invalid"),
        ({"count": 2, "interval_months": 0}, "interval_invalid"),
    ],
)
def test_impossible_schedules_are_refused_with_a_reason(kwargs, code):
    with pytest.raises(ScheduleInvalid) as error:
        schedule_build(principal_minor=100_000, start_date=START, **kwargs)

    assert error.value.code == code


@pytest.mark.parametrize("text", ["abc", "-0.01", "1", "NaN"])
def test_a_rate_is_a_fraction_below_one(text):
    with pytest.raises(ScheduleInvalid):
        parse_rate(text)


def test_a_blank_rate_means_no_interest():
    assert parse_rate("") is None and parse_rate(None) is None and parse_rate("0.0435") == Decimal("0.0435")


@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=24),
    paid=st.integers(min_value=-(10**6), max_value=3 * 10**10),
)
def test_payments_cover_instalments_oldest_first(amounts, paid):
    covered = instalments_covered(amounts, paid)

    assert sum(covered) == min(max(paid, 0), sum(amounts))
    assert all(0 <= c <= a for c, a in zip(covered, amounts, strict=True))
    first_short = next((k for k, (c, a) in enumerate(zip(covered, amounts, strict=True)) if c < a), None)
    if first_short is not None:
        assert all(c == 0 for c in covered[first_short + 1 :])


DUES = [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
AMOUNTS = [100, 100, 100]


def state(paid: int, as_of: date, *, nothing_left_open: bool = False):
    return plan_state(
        amounts=AMOUNTS,
        due_dates=DUES,
        paid_minor=paid,
        grace_days=5,
        as_of=as_of,
        nothing_left_open=nothing_left_open,
    )


def test_a_plan_stays_current_until_an_instalment_is_unpaid_past_its_grace():
    assert state(0, date(2024, 3, 5)).status == ACTIVE  # the first instalment's last day of grace
    assert state(0, date(2024, 3, 6)).status == BROKEN
    broken = state(150, date(2024, 4, 6))
    assert broken.status == BROKEN and broken.decided_date == date(2024, 4, 6)
    assert broken.paid == (100, 50, 0)
    assert state(100, date(2024, 3, 6)).status == ACTIVE


def test_a_plan_is_completed_when_every_instalment_is_covered_or_nothing_is_left_open():
    done = state(300, date(2024, 3, 1))
    assert done.status == COMPLETED and done.decided_date == date(2024, 3, 1)
    assert state(120, date(2024, 6, 1), nothing_left_open=True).status == COMPLETED


@given(paid=st.integers(min_value=0, max_value=300), offset=st.integers(min_value=0, max_value=200))
def test_a_plan_breaks_exactly_when_some_instalment_is_short_after_its_grace(paid, offset):
    as_of = date(2024, 2, 1) + timedelta(days=offset)
    covered = instalments_covered(AMOUNTS, paid)
    late = any(
        c < a and as_of > due + timedelta(days=5) for c, a, due in zip(covered, AMOUNTS, DUES, strict=True)
    )

    result = state(paid, as_of)

    if paid >= 300:
        assert result.status == COMPLETED
    else:
        assert (result.status == BROKEN) == late
