"""Commission on recoveries: exact, half-up, and the shares add up to the commission on the total."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.collections.legal import (
    HandoverInvalid,
    commission_minor,
    commission_percent_parse,
    recovery_commission_minor,
)

percents = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
amounts = st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=30)


@given(percent=percents, recoveries=amounts)
def test_the_shares_of_any_split_add_up_to_the_commission_on_the_total(percent, recoveries):
    booked = 0
    recovered = 0
    for amount in recoveries:
        share = recovery_commission_minor(
            recovered_before_minor=recovered, amount_minor=amount, percent=percent
        )
        assert 0 <= share <= amount
        booked += share
        recovered += amount

    assert booked == commission_minor(recovered, percent)


@given(percent=percents, amount=st.integers(min_value=0, max_value=10**15))
def test_the_commission_is_the_exact_product_rounded_half_up(percent, amount):
    exact = Decimal(amount) * percent / 100
    result = commission_minor(amount, percent)

    assert -Decimal("0.5") < result - exact <= Decimal("0.5")  # half-up: a half goes up
    assert 0 <= result <= amount


@given(
    percent=percents,
    amount=st.integers(min_value=0, max_value=10**12),
    more=st.integers(min_value=0, max_value=10**6),
)
def test_more_recovered_never_earns_less_commission(percent, amount, more):
    assert commission_minor(amount + more, percent) >= commission_minor(amount, percent)


def test_examples():
    assert commission_minor(100_000, Decimal("15")) == 15_000
    assert commission_minor(1, Decimal("50")) == 1  # 0.5 rounds half-up
    assert commission_minor(333, Decimal("12.5")) == 42  # 41.625
    # Three recoveries of 1 at 50 %: 1, 0, 1 — together the commission on 3 (1.5 → 2).
    shares = [
        recovery_commission_minor(recovered_before_minor=n, amount_minor=1, percent=Decimal(50))
        for n in range(3)
    ]
    assert shares == [1, 0, 1]


@pytest.mark.parametrize("text", ["-1", "100.01", "12.345", "abc", "NaN", ""])
def test_a_commission_outside_0_to_100_or_with_more_than_two_decimals_is_refused(text):
    with pytest.raises(HandoverInvalid):
        commission_percent_parse(text)


def test_a_commission_may_be_written_with_a_percent_sign():
    assert commission_percent_parse("15 %") == Decimal("15.00")
