"""The interest core against hand-worked examples, and its properties.

The rate tables below are the published rates the examples need, written out so that each
example can be checked with a pencil; the shipped table is tested in tests/integration/test_rates.py.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from huikuan.dunning.interest import (
    RULE_CN_LPR,
    RULE_CN_SME,
    RULE_CONTRACT,
    RULE_EU,
    RULE_NONE,
    RULE_UK,
    InterestInputInvalid,
    RateMissing,
    compensation_minor,
    interest_compute,
    rate_in_force,
)

D = Decimal
RATES = {
    "BOE_BASE": [
        (date(2023, 5, 11), D("4.50")),
        (date(2023, 6, 22), D("5.00")),
        (date(2023, 8, 3), D("5.25")),
        (date(2024, 8, 1), D("5.00")),
    ],
    "ECB_MRO": [
        (date(2023, 9, 20), D("4.50")),
        (date(2024, 6, 12), D("4.25")),
        (date(2024, 9, 18), D("3.65")),
        (date(2024, 10, 23), D("3.40")),
        (date(2024, 12, 18), D("3.15")),
    ],
    "CN_LPR_1Y": [
        (date(2024, 5, 20), D("3.45")),
        (date(2024, 6, 20), D("3.45")),
        (date(2024, 7, 22), D("3.35")),
    ],
}


def compute(**kwargs):
    kwargs.setdefault("rates", RATES)
    return interest_compute(**kwargs)


# --- hand-worked examples ----------------------------------------------------------------


def test_uk_late_payment_on_ten_thousand_pounds_for_ninety_days():
    # Due 31 Jan 2024, paid 30 Apr 2024: late 1 Feb .. 30 Apr = 29 + 31 + 30 = 90 days.
    # Base rate in force on 31 Dec 2023 = 5.25 %, + 8 % = 13.25 %.
    # 10,000 x 13.25 % x 90 / 365 = 1,325 x 90 / 365 = 119,250 / 365 = 326.7123... -> 326.71
    # £10,000 is not below £10,000: compensation £100. Total 426.71.
    result = compute(
        principal_minor=1_000_000,
        currency="GBP",
        due_date=date(2024, 1, 31),
        until_date=date(2024, 4, 30),
        rule=RULE_UK,
    )

    assert result.to_json() == {
        "principal": "10000.00",
        "currency": "GBP",
        "rule": "uk-late-payment",
        "periods": [
            {
                "from": "2024-02-01",
                "to": "2024-04-30",
                "days": 90,
                "annual_rate": "13.25",
                "interest": "326.71",
            }
        ],
        "interest": "326.71",
        "compensation": "100.00",
        "total": "426.71",
    }


def test_uk_rate_is_fixed_by_the_half_year_in_which_the_debt_became_late():
    # Late from 1 Jul 2023: the base rate in force on 30 Jun 2023 (5.00 %, since 22 Jun) applies
    # for the whole delay, although the base rate rose to 5.25 % on 3 Aug 2023.
    # 1 Jul .. 30 Sep = 92 days; 10,000 x 13 % x 92 / 365 = 119,600 / 365 = 327.6712... -> 327.67
    result = compute(
        principal_minor=1_000_000,
        currency="GBP",
        due_date=date(2023, 6, 30),
        until_date=date(2023, 9, 30),
        rule=RULE_UK,
    )

    assert [(p.annual_rate, p.days) for p in result.periods] == [(D(13), 92)]
    assert result.interest_minor == 32_767


def test_uk_compensation_bands_follow_the_size_of_the_debt():
    def band(minor: int) -> int:
        return compensation_minor(rule=RULE_UK, currency="GBP", debt_minor=minor)

    assert (band(99_999), band(100_000), band(999_999), band(1_000_000)) == (4_000, 7_000, 7_000, 10_000)


def test_eu_late_payment_in_germany_is_split_where_the_half_year_rate_changes():
    # Due 31 May 2024, until 31 Aug 2024; German margin 9 points.
    # 1 Jun .. 30 Jun (30 days): ECB rate on 1 Jan 2024 = 4.50 % + 9 = 13.5 %
    #   10,000 x 13.5 % x 30 / 365 = 40,500 / 365 = 110.9589...
    # 1 Jul .. 31 Aug (62 days): ECB rate on 1 Jul 2024 = 4.25 % + 9 = 13.25 %
    #   10,000 x 13.25 % x 62 / 365 = 82,150 / 365 = 225.0684...
    # Exact total 336.0273... -> 336.03; the periods show 110.96 and 336.03 - 110.96 = 225.07.
    result = compute(
        principal_minor=1_000_000,
        currency="EUR",
        due_date=date(2024, 5, 31),
        until_date=date(2024, 8, 31),
        rule=RULE_EU,
        country="DE",
    )

    assert result.to_json()["periods"] == [
        {"from": "2024-06-01", "to": "2024-06-30", "days": 30, "annual_rate": "13.5", "interest": "110.96"},
        {"from": "2024-07-01", "to": "2024-08-31", "days": 62, "annual_rate": "13.25", "interest": "225.07"},
    ]
    assert (result.interest_minor, result.compensation_minor, result.total_minor) == (33_603, 4_000, 37_603)


def test_eu_margin_is_eight_points_unless_the_country_sets_another():
    def rate(country: str) -> Decimal:
        result = compute(
            principal_minor=100_000,
            currency="EUR",
            due_date=date(2024, 2, 29),
            until_date=date(2024, 3, 31),
            rule=RULE_EU,
            country=country,
        )
        return result.periods[0].annual_rate

    assert (rate(""), rate("IT"), rate("de"), rate("FR")) == (D("12.50"), D("12.50"), D("13.50"), D("14.50"))


def test_eu_periods_with_the_same_half_year_rate_are_not_split():
    # 1 Jan 2025 and 1 Jul 2025 would both use the rate in force then: 3.15 % in this table.
    result = compute(
        principal_minor=100_000,
        currency="EUR",
        due_date=date(2024, 12, 31),
        until_date=date(2025, 9, 30),
        rule=RULE_EU,
    )

    assert [(p.start, p.end, p.annual_rate) for p in result.periods] == [
        (date(2025, 1, 1), date(2025, 9, 30), D("11.15"))
    ]


def test_cn_lpr_takes_the_rate_on_the_day_of_breach_plus_half():
    # Due 31 May 2024: breach on 1 Jun 2024, the LPR fixed on 20 May 2024 is 3.45 %;
    # x 1.5 = 5.175 %. The cut to 3.35 % on 22 Jul 2024 does not change a breach already made.
    # 1 Jun .. 31 Aug = 92 days; 100,000 x 5.175 % x 92 / 365 = 476,100 / 365 = 1,304.3835... -> 1,304.38
    result = compute(
        principal_minor=10_000_000,
        currency="CNY",
        due_date=date(2024, 5, 31),
        until_date=date(2024, 8, 31),
        rule=RULE_CN_LPR,
    )

    assert [(p.annual_rate, p.days) for p in result.periods] == [(D("5.175"), 92)]
    assert (result.interest_minor, result.compensation_minor) == (130_438, 0)


def test_cn_lpr_markup_can_be_thirty_percent():
    # 3.45 % x 1.3 = 4.485 %; 100,000 x 4.485 % x 92 / 365 = 412,620 / 365 = 1,130.4657... -> 1,130.47
    result = compute(
        principal_minor=10_000_000,
        currency="CNY",
        due_date=date(2024, 5, 31),
        until_date=date(2024, 8, 31),
        rule=RULE_CN_LPR,
        lpr_markup=D("0.3"),
    )

    assert result.periods[0].annual_rate == D("4.485") and result.interest_minor == 113_047


def test_cn_sme_daily_charges_five_ten_thousandths_a_day():
    # 50,000 x 0.05 % = 25.00 a day; 1 Apr .. 30 Apr = 30 days -> 750.00 exactly.
    result = compute(
        principal_minor=5_000_000,
        currency="CNY",
        due_date=date(2024, 3, 31),
        until_date=date(2024, 4, 30),
        rule=RULE_CN_SME,
        day_count="ACT/360",  # the regulation counts days, whatever the contract's convention
    )

    assert result.to_json()["periods"][0]["annual_rate"] == "18.25"
    assert result.interest_minor == 75_000


def test_contract_interest_on_actual_360_and_actual_365():
    # 1 Feb .. 1 Mar 2024 = 29 + 1 = 30 days at 12 %:
    # ACT/360: 10,000 x 12 % x 30 / 360 = 100.00; ACT/365: 36,000 / 365 = 98.6301... -> 98.63
    def interest(day_count: str) -> int:
        return compute(
            principal_minor=1_000_000,
            currency="CNY",
            due_date=date(2024, 1, 31),
            until_date=date(2024, 3, 1),
            rule=RULE_CONTRACT,
            contract_rate=D(12),
            day_count=day_count,
        ).interest_minor

    assert (interest("ACT/360"), interest("ACT/365")) == (10_000, 9_863)


def test_grace_days_delay_the_start_of_interest():
    # Due 31 Jan, 10 grace days: interest from 11 Feb; 11 Feb .. 1 Mar = 20 days.
    # 10,000 x 12 % x 20 / 365 = 24,000 / 365 = 65.7534... -> 65.75
    kwargs = dict(
        principal_minor=1_000_000,
        currency="CNY",
        due_date=date(2024, 1, 31),
        rule=RULE_CONTRACT,
        contract_rate=D(12),
        grace_days=10,
    )

    late = compute(until_date=date(2024, 3, 1), **kwargs)
    within_grace = compute(until_date=date(2024, 2, 10), **kwargs)

    assert [(p.start, p.days) for p in late.periods] == [(date(2024, 2, 11), 20)]
    assert late.interest_minor == 6_575
    assert within_grace.periods == () and within_grace.total_minor == 0


def test_monthly_compounding_adds_each_months_interest_to_the_base():
    # 12 % ACT/365 on 10,000 due 31 May 2024:
    # June (30 days): 10,000 x 12 % x 30 / 365 = 98.630137 -> capitalised on 1 July
    # July (31 days): 10,098.630137 x 12 % x 31 / 365 = 102.923025
    # 201.553162 -> 201.55 (simple interest would be 10,000 x 12 % x 61 / 365 = 200.55)
    result = compute(
        principal_minor=1_000_000,
        currency="CNY",
        due_date=date(2024, 5, 31),
        until_date=date(2024, 7, 31),
        rule=RULE_CONTRACT,
        contract_rate=D(12),
        compound_monthly=True,
    )

    assert [(p.start, p.end) for p in result.periods] == [
        (date(2024, 6, 1), date(2024, 6, 30)),
        (date(2024, 7, 1), date(2024, 7, 31)),
    ]
    assert result.interest_minor == 20_155
    assert result.detail()["periods"][1]["base"] == "10098.630136"


def test_a_partial_payment_lowers_the_base_from_the_next_day():
    # 10 % on 10,000 due 31 Jan 2024; 4,000 paid on 10 Feb; reckoned to 1 Mar.
    # 1 Feb .. 10 Feb (10 days) on 10,000: 1,000 x 10 / 365 = 27.3972...
    # 11 Feb .. 1 Mar (20 days) on 6,000: 600 x 20 / 365 = 32.8767...
    # 60.2739... -> 60.27; periods show 27.40 and 60.27 - 27.40 = 32.87.
    result = compute(
        principal_minor=1_000_000,
        currency="CNY",
        due_date=date(2024, 1, 31),
        until_date=date(2024, 3, 1),
        rule=RULE_CONTRACT,
        contract_rate=D(10),
        payments=[(date(2024, 2, 10), 400_000)],
    )

    assert [(p["from"], p["to"], p["days"], p["interest"]) for p in result.to_json()["periods"]] == [
        ("2024-02-01", "2024-02-10", 10, "27.40"),
        ("2024-02-11", "2024-03-01", 20, "32.87"),
    ]
    assert result.interest_minor == 6_027


def test_a_payment_before_the_due_date_lowers_the_debt_and_the_compensation_band():
    # £1,200 invoice, £300 paid before it fell due: £900 is late, below £1,000: £40.
    result = compute(
        principal_minor=120_000,
        currency="GBP",
        due_date=date(2024, 1, 31),
        until_date=date(2024, 2, 29),
        rule=RULE_UK,
        payments=[(date(2024, 1, 15), 30_000)],
    )

    assert result.compensation_minor == 4_000
    assert result.periods[0].base == 900


def test_an_exact_half_minor_unit_rounds_up_once():
    # 365.00 at 0.5 % for one day on ACT/365: 365 x 0.005 / 365 = 0.005 -> 0.01
    result = compute(
        principal_minor=36_500,
        currency="CNY",
        due_date=date(2024, 1, 31),
        until_date=date(2024, 2, 1),
        rule=RULE_CONTRACT,
        contract_rate=D("0.5"),
    )

    assert result.interest_minor == 1


def test_nothing_is_due_on_the_due_date_itself():
    result = compute(
        principal_minor=1_000_000,
        currency="GBP",
        due_date=date(2024, 1, 31),
        until_date=date(2024, 1, 31),
        rule=RULE_UK,
    )

    assert result.periods == () and result.to_json()["total"] == "0.00"


def test_eu_compensation_is_forty_euros_and_nothing_automatic_in_other_currencies():
    assert compensation_minor(rule=RULE_EU, currency="EUR", debt_minor=1) == 4_000
    assert compensation_minor(rule=RULE_EU, currency="PLN", debt_minor=1_000_000) == 0
    assert compensation_minor(rule=RULE_UK, currency="EUR", debt_minor=1_000_000) == 0
    assert (
        compensation_minor(rule=RULE_EU, currency="PLN", debt_minor=1, eu_amounts={"PLN": D("171.26")})
        == 17_126
    )


def test_a_date_before_the_rate_table_says_which_rate_is_missing():
    with pytest.raises(RateMissing, match="BOE_BASE.*2022-12-31.*2023-05-11"):
        compute(
            principal_minor=100,
            currency="GBP",
            due_date=date(2023, 1, 31),
            until_date=date(2023, 3, 1),
            rule=RULE_UK,
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rule": RULE_CONTRACT}, "annual rate"),
        ({"rule": RULE_UK, "compound_monthly": True}, "only contractual interest can compound"),
        ({"rule": "simple"}, "unknown interest rule"),
        ({"rule": RULE_CONTRACT, "contract_rate": D(5), "day_count": "30/360"}, "unknown day count"),
        ({"rule": RULE_CONTRACT, "contract_rate": D(5), "grace_days": -1}, "grace"),
    ],
)
def test_inconsistent_input_is_refused_with_a_reason(changes, message):
    kwargs = dict(principal_minor=100, currency="CNY", due_date=date(2024, 1, 1), until_date=date(2024, 2, 1))
    with pytest.raises(InterestInputInvalid, match=message):
        compute(**{**kwargs, **changes})


def test_rate_in_force_is_the_latest_on_or_before_the_day():
    assert rate_in_force(RATES, "BOE_BASE", date(2023, 8, 2)) == D("5.00")
    assert rate_in_force(RATES, "BOE_BASE", date(2023, 8, 3)) == D("5.25")


# --- properties --------------------------------------------------------------------------

principals = st.integers(min_value=0, max_value=10**11)
days = st.integers(min_value=0, max_value=1500)
due_dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))
rates_percent = st.decimals(min_value=0, max_value=40, places=3)
day_counts = st.sampled_from(["ACT/365", "ACT/360"])
FLAT = {"ECB_MRO": [(date(2024, 1, 1), D("2.15")), (date(2026, 3, 1), D("3.40"))]}


def contract(principal: int, due: date, until: date, rate: Decimal, day_count: str, **more):
    return interest_compute(
        principal_minor=principal,
        currency="CNY",
        due_date=due,
        until_date=until,
        rule=RULE_CONTRACT,
        contract_rate=rate,
        day_count=day_count,
        **more,
    )


@given(principals, due_dates, days, days, rates_percent, day_counts)
def test_splitting_a_period_changes_the_total_by_no_more_than_rounding(
    principal, due, first, second, rate, count
):
    middle = due + timedelta(days=first)
    until = middle + timedelta(days=second)

    whole = contract(principal, due, until, rate, count).interest_minor
    parts = contract(principal, due, middle, rate, count).interest_minor
    parts += contract(principal, middle, until, rate, count).interest_minor

    # Each part is rounded once: two half-unit roundings at most.
    assert abs(whole - parts) <= 1


@given(principals, due_dates, days, st.sampled_from(["", "DE", "FR"]))
def test_the_periods_shares_add_up_to_the_total_and_stay_within_a_unit_of_exact(
    principal, due, length, country
):
    result = interest_compute(
        principal_minor=principal,
        currency="EUR",
        due_date=due,
        until_date=due + timedelta(days=length),
        rule=RULE_EU,
        rates=FLAT,
        country=country,
    )

    assert sum(period.interest_minor for period in result.periods) == result.interest_minor
    assert all(abs(period.interest_minor - period.exact * 100) <= 1 for period in result.periods)
    assert result.days == length
    for before, after in zip(result.periods, result.periods[1:], strict=False):
        assert after.start == before.end + timedelta(days=1)


@given(principals, due_dates, days, days, rates_percent, day_counts, st.booleans())
def test_interest_never_falls_as_the_delay_grows(principal, due, length, more, rate, count, compound):
    shorter = contract(principal, due, due + timedelta(days=length), rate, count, compound_monthly=compound)
    longer = contract(
        principal, due, due + timedelta(days=length + more), rate, count, compound_monthly=compound
    )

    assert longer.interest_minor >= shorter.interest_minor


@given(principals, principals, due_dates, days, st.sampled_from([RULE_EU, RULE_CN_SME]))
def test_interest_never_falls_as_the_debt_grows(smaller, extra, due, length, rule):
    def interest(principal: int) -> int:
        return interest_compute(
            principal_minor=principal,
            currency="EUR",
            due_date=due,
            until_date=due + timedelta(days=length),
            rule=rule,
            rates=FLAT,
        ).interest_minor

    assert interest(smaller + extra) >= interest(smaller)


@given(
    principals, due_dates, st.integers(min_value=0, max_value=60), st.sampled_from([RULE_CN_SME, RULE_NONE])
)
def test_no_day_of_delay_means_no_interest(principal, due, grace, rule):
    result = interest_compute(
        principal_minor=principal,
        currency="CNY",
        due_date=due,
        until_date=due + timedelta(days=grace),
        rule=rule,
        grace_days=grace,
    )

    assert (result.periods, result.interest_minor, result.total_minor) == ((), 0, 0)


@given(principals, due_dates, days, st.lists(st.tuples(days, principals), max_size=5), rates_percent)
def test_days_of_the_periods_add_up_to_the_delay_whatever_is_paid(principal, due, length, paid, rate):
    assume(length > 0)
    payments = [(due + timedelta(days=offset), amount) for offset, amount in paid]

    result = contract(principal, due, due + timedelta(days=length), rate, "ACT/365", payments=payments)

    assert result.days == length
    assert (
        result.interest_minor
        <= contract(principal, due, due + timedelta(days=length), rate, "ACT/365").interest_minor
    )
