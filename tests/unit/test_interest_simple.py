"""The integer fast path for interest against the general computation: the same result, always.

Booking a dunning run computes interest for every late invoice; most have no payment and one rate
for the whole delay, and take the fast path. Whatever the path, the amount claimed and the
evidence kept on the charge must be the same, so each property below compares the two.
"""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from huikuan.core.money import format_minor
from huikuan.dunning.interest import (
    RULE_CN_LPR,
    RULE_CN_SME,
    RULE_CONTRACT,
    RULE_EU,
    RULE_NONE,
    RULE_UK,
    RateMissing,
    interest_compute,
    interest_simple,
    minor_text,
)

D = Decimal
RATES = {
    "BOE_BASE": [(date(2022, 12, 15), D("3.50")), (date(2023, 8, 3), D("5.25")), (date(2024, 8, 1), D("5.00")),
                 (date(2025, 2, 6), D("4.5")), (date(2025, 8, 7), D("4.00"))],
    "ECB_MRO": [(date(2022, 12, 21), D("2.50")), (date(2023, 9, 20), D("4.50")), (date(2024, 6, 12), D("4.25")),
                (date(2025, 6, 11), D("2.15"))],
    "CN_LPR_1Y": [(date(2022, 12, 20), D("3.65")), (date(2023, 8, 21), D("3.45")), (date(2024, 7, 22), D("3.35")),
                  (date(2024, 10, 21), D("3.10")), (date(2025, 5, 20), D("3.0"))],
}  # fmt: skip

principals = st.integers(min_value=0, max_value=10**13)
due_dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))
delays = st.integers(min_value=-3, max_value=1200)
currencies = st.sampled_from(["CNY", "GBP", "EUR", "JPY", "KWD", "USD"])
rules = st.sampled_from([RULE_CONTRACT, RULE_UK, RULE_EU, RULE_CN_LPR, RULE_CN_SME])
contract_rates = st.decimals(min_value=0, max_value=60, places=4)
markups = st.one_of(st.none(), st.decimals(min_value=0, max_value=2, places=2))


# One rate table for the whole module, so one memo may serve every example.
MEMO: dict = {}


def both(**arguments):
    return interest_simple(**arguments), interest_compute(**arguments)


def outcome(function, arguments):
    try:
        return function(**arguments)
    except RateMissing as error:
        return type(error)


@given(
    principal=principals,
    currency=currencies,
    due=due_dates,
    delay=delays,
    rule=rules,
    rate=contract_rates,
    markup=markups,
    country=st.sampled_from(["", "DE", "FR", "NL"]),
    day_count=st.sampled_from(["ACT/365", "ACT/360"]),
    grace=st.integers(min_value=0, max_value=30),
)
@example(  # an exact half minor unit: 1 x 18.25 % x 1 / 365 = 0.0005 -> rounds to 0 (not .5)
    principal=1000, currency="CNY", due=date(2025, 1, 31), delay=1, rule=RULE_CN_SME, rate=D(0),
    markup=None, country="", day_count="ACT/365", grace=0,
)  # fmt: skip
def test_the_fast_path_gives_exactly_what_the_general_computation_gives(
    principal, currency, due, delay, rule, rate, markup, country, day_count, grace
):
    arguments = dict(
        principal_minor=principal,
        currency=currency,
        due_date=due,
        until_date=due + timedelta(days=delay),
        rule=rule,
        rates=RATES,
        contract_rate=rate,
        lpr_markup=markup,
        country=country,
        day_count=day_count,
        grace_days=grace,
    )
    fast, general = outcome(interest_simple, arguments), outcome(interest_compute, arguments)

    if general is RateMissing:
        assert fast in (RateMissing, None)
        return
    if fast is None:
        # Declined only where the general computation has more than one period or nothing late.
        assert len(general.periods) != 1
        return
    assert fast.interest_minor == general.interest_minor
    assert fast.compensation_minor == general.compensation_minor
    assert fast.detail() == general.detail()
    # The evidence as stored: the same JSON text, key for key.
    assert fast.detail_json(booked_before="12.34") == json.dumps(
        {**general.detail(), "booked_before": "12.34"}
    )
    # A memo kept across invoices (one rate table) changes nothing.
    assert interest_simple(**arguments, memo=MEMO) == fast


@given(principal=st.integers(min_value=0, max_value=10**7), days=st.integers(min_value=1, max_value=400))
def test_a_half_minor_unit_rounds_up_on_the_fast_path_as_on_the_general_one(principal, days):
    # 0.05 % a day: principal x days / 2000 minor units, often exactly on a half.
    arguments = dict(
        principal_minor=principal,
        currency="CNY",
        due_date=date(2025, 1, 31),
        until_date=date(2025, 1, 31) + timedelta(days=days),
        rule=RULE_CN_SME,
    )
    fast, general = both(**arguments)

    assert fast is not None
    assert fast.interest_minor == general.interest_minor == (principal * days * 2 + 2000) // 4000


def test_the_fast_path_declines_an_eu_delay_across_a_half_year_whose_rate_differs():
    # ECB 4.50 on 1 Jan 2024, 4.25 on 1 Jul 2024: two periods.
    split = dict(principal_minor=1_000_000, currency="EUR", due_date=date(2024, 5, 31), rule=RULE_EU,
                 rates=RATES, until_date=date(2024, 8, 31))  # fmt: skip
    # ECB 4.25 on 1 Jul 2024 and still on 1 Jan 2025: one period across the new year.
    same = {**split, "due_date": date(2024, 11, 30), "until_date": date(2025, 3, 31)}

    assert interest_simple(**split) is None
    assert len(interest_compute(**split).periods) == 2
    fast = interest_simple(**same)
    assert fast is not None
    assert fast.detail() == interest_compute(**same).detail()


def test_the_fast_path_declines_what_the_general_computation_refuses_or_finds_not_late():
    due = date(2024, 1, 31)
    common = dict(principal_minor=100, currency="CNY", due_date=due, until_date=due + timedelta(days=10))

    assert interest_simple(**common, rule=RULE_NONE) is None
    assert interest_simple(**common, rule=RULE_CONTRACT) is None  # no contract rate
    assert interest_simple(**common, rule=RULE_CONTRACT, contract_rate=D(-1)) is None
    assert interest_simple(**{**common, "until_date": due}, rule=RULE_CN_SME) is None
    assert interest_simple(**common, rule=RULE_CN_SME, grace_days=10) is None


def test_a_rate_missing_from_the_table_is_reported_by_the_fast_path_too():
    with pytest.raises(RateMissing):
        interest_simple(
            principal_minor=100,
            currency="CNY",
            due_date=date(2019, 1, 31),
            until_date=date(2019, 3, 1),
            rule=RULE_CN_LPR,
            rates=RATES,
        )


@given(minor=st.integers(min_value=-(10**15), max_value=10**15), currency=currencies)
def test_minor_text_writes_amounts_as_format_minor_does(minor, currency):
    places = {"JPY": 0, "KWD": 3}.get(currency, 2)

    assert minor_text(minor, places) == format_minor(minor, currency)


def test_a_zero_principal_bears_zero_interest_with_the_same_evidence():
    arguments = dict(principal_minor=0, currency="GBP", due_date=date(2024, 1, 31),
                     until_date=date(2024, 4, 30), rule=RULE_UK, rates=RATES)  # fmt: skip
    fast, general = both(**arguments)

    assert fast is not None
    assert fast.detail() == general.detail()
    assert (fast.interest_minor, fast.compensation_minor) == (0, 0)
