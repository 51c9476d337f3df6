from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.core.money import (
    CURRENCY_EXPONENTS,
    CurrencyMismatch,
    Money,
    TooManyDecimals,
    UnknownCurrency,
    exponent,
    format_minor,
    from_minor,
    to_minor,
)

CURRENCIES = st.sampled_from(sorted(CURRENCY_EXPONENTS))
MINOR = st.integers(min_value=-(10**15), max_value=10**15)


def test_currency_exponents_follow_iso_4217():
    assert (exponent("JPY"), exponent("CNY"), exponent("KWD"), exponent("usd")) == (0, 2, 3, 2)


def test_an_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        Money(1, "XYZ")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("0.005", "CNY", 1),
        ("0.004", "CNY", 0),
        ("-0.005", "CNY", -1),
        ("2.5", "JPY", 3),
        ("1.0005", "KWD", 1001),
    ],
)
def test_rounding_is_half_up_away_from_zero(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor


def test_exact_conversion_refuses_amounts_that_would_need_rounding():
    with pytest.raises(TooManyDecimals):
        to_minor(Decimal("1.234"), "CNY", exact=True)
    assert to_minor(Decimal("1.230"), "CNY", exact=True) == 123


def test_amounts_in_different_currencies_are_never_added():
    with pytest.raises(CurrencyMismatch):
        Money.of("1", "CNY") + Money.of("1", "USD")


def test_json_strings_carry_the_currency_exact_places():
    assert [
        Money.of("1234.5", "CNY").to_json(),
        Money.of("1000", "JPY").to_json(),
        Money(1, "KWD").to_json(),
    ] == [
        "1234.50",
        "1000",
        "0.001",
    ]


@given(MINOR, CURRENCIES)
def test_minor_units_survive_a_round_trip_through_decimal_and_text(minor, currency):
    assert to_minor(from_minor(minor, currency), currency, exact=True) == minor
    assert to_minor(Decimal(format_minor(minor, currency)), currency, exact=True) == minor


@given(MINOR, MINOR, CURRENCIES)
def test_addition_and_subtraction_are_exact(a, b, currency):
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y - y) == x
    assert (x + y).amount == x.amount + y.amount
