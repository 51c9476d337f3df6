"""A settlement's concession split over invoices: exact, proportional, never more than is open."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from huikuan.collections.incentives import concession_percent, discount_minor, settlement_shares


@given(opens=st.lists(st.integers(min_value=1, max_value=10**11), min_size=1, max_size=20), data=st.data())
def test_the_shares_add_up_to_the_concession_and_each_stays_within_its_invoice(opens, data):
    concession = data.draw(st.integers(min_value=0, max_value=sum(opens)))

    shares = settlement_shares(opens, concession)

    assert sum(shares) == concession
    for share, amount in zip(shares, opens, strict=True):
        assert 0 <= share <= amount
        # proportional to within one minor unit
        assert abs(Decimal(share) - Decimal(concession) * amount / sum(opens)) < 1


@given(
    amount=st.integers(min_value=1, max_value=10**12),
    percent=st.decimals(min_value="0.01", max_value="99.99", places=2),
)
def test_a_discount_is_the_percent_rounded_half_up_and_within_its_approval_percent(amount, percent):
    discount = discount_minor(amount, percent)
    assume(discount > 0)

    assert abs(Decimal(discount) - Decimal(amount) * percent / 100) <= Decimal("0.5")
    # what an approver is shown never understates the percent by more than the rounding
    assert concession_percent(concession_minor=discount, open_minor=amount) <= percent + Decimal(50) / amount
