"""The promise rule: kept whenever paid in full, open until its date plus grace, then partly kept or broken."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.collections.promises import (
    BROKEN,
    KEPT,
    OPEN,
    PARTLY_KEPT,
    promise_outcome,
    promise_pause_ends,
)

amounts = st.integers(min_value=1, max_value=10**12)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))
graces = st.integers(min_value=0, max_value=60)
offsets = st.integers(min_value=-400, max_value=400)


@given(
    amount=amounts,
    extra=st.integers(min_value=0, max_value=10**6),
    promised=days,
    grace=graces,
    offset=offsets,
)
def test_a_promise_paid_in_full_is_kept_on_any_day(amount, extra, promised, grace, offset):
    outcome = promise_outcome(
        amount_minor=amount,
        paid_minor=amount + extra,
        promised_date=promised,
        grace_days=grace,
        as_of=promised + timedelta(days=offset),
    )

    assert outcome.status == KEPT


@given(amount=st.integers(min_value=2, max_value=10**12), data=st.data(), promised=days, grace=graces)
def test_an_unpaid_promise_is_open_exactly_while_dunning_is_paused(amount, data, promised, grace):
    paid = data.draw(st.integers(min_value=0, max_value=amount - 1))
    as_of = promised + timedelta(days=data.draw(offsets))

    outcome = promise_outcome(
        amount_minor=amount, paid_minor=paid, promised_date=promised, grace_days=grace, as_of=as_of
    )

    paused = as_of <= promise_pause_ends(promised_date=promised, grace_days=grace)
    assert (outcome.status == OPEN) == paused
    if not paused:
        assert outcome.status == (PARTLY_KEPT if paid else BROKEN)
        assert outcome.resolved_date == promised + timedelta(days=grace + 1)
    else:
        assert outcome.resolved_date is None


@given(amount=amounts, data=st.data(), promised=days, grace=graces, first=offsets, later=st.integers(0, 400))
def test_an_outcome_once_reached_does_not_change_as_days_pass_without_payment(
    amount, data, promised, grace, first, later
):
    paid = data.draw(st.integers(min_value=0, max_value=amount * 2))
    as_of = promised + timedelta(days=first)

    def on(day: date) -> str:
        return promise_outcome(
            amount_minor=amount, paid_minor=paid, promised_date=promised, grace_days=grace, as_of=day
        ).status

    if on(as_of) != OPEN:
        assert on(as_of + timedelta(days=later)) == on(as_of)


@given(amount=amounts, data=st.data(), promised=days, grace=graces, offset=offsets)
def test_paying_more_never_makes_the_outcome_worse(amount, data, promised, grace, offset):
    less = data.draw(st.integers(min_value=0, max_value=amount * 2))
    more = data.draw(st.integers(min_value=less, max_value=amount * 2))
    rank = {BROKEN: 0, PARTLY_KEPT: 1, OPEN: 1, KEPT: 2}

    def status(paid: int) -> str:
        return promise_outcome(
            amount_minor=amount,
            paid_minor=paid,
            promised_date=promised,
            grace_days=grace,
            as_of=promised + timedelta(days=offset),
        ).status

    assert rank[status(more)] >= rank[status(less)]


def test_a_kept_promise_is_resolved_on_the_day_of_the_last_payment():
    outcome = promise_outcome(
        amount_minor=100,
        paid_minor=100,
        promised_date=date(2024, 3, 15),
        grace_days=3,
        as_of=date(2024, 3, 20),
        last_paid_date=date(2024, 3, 12),
    )

    assert outcome.resolved_date == date(2024, 3, 12)


def test_a_promise_for_nothing_is_not_a_promise():
    with pytest.raises(ValueError):
        promise_outcome(
            amount_minor=0,
            paid_minor=0,
            promised_date=date(2024, 3, 15),
            grace_days=3,
            as_of=date(2024, 3, 1),
        )
