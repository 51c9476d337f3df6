"""The credit score rule: monotonic in each behaviour, bounded, explained factor by factor."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from huikuan.customers.rating import (
    CreditInputs,
    credit_score,
    grade_for,
    is_downgrade,
    suggested_limit,
)

counts = st.integers(min_value=0, max_value=200)


@st.composite
def records(draw: st.DrawFn) -> CreditInputs:
    recent_due = draw(counts)
    earlier_due = draw(counts)
    due = recent_due + earlier_due
    return CreditInputs(
        invoices_due=due,
        invoices_on_time=draw(st.integers(min_value=0, max_value=due)),
        recent_due=recent_due,
        recent_days_late=draw(st.integers(min_value=0, max_value=400)) * recent_due,
        earlier_due=earlier_due,
        earlier_days_late=draw(st.integers(min_value=0, max_value=400)) * earlier_due,
        promises_broken=draw(st.integers(min_value=0, max_value=20)),
        promises_partly_kept=draw(st.integers(min_value=0, max_value=20)),
        disputes=draw(st.integers(min_value=0, max_value=20)),
        short_payments=draw(st.integers(min_value=0, max_value=20)),
        unanswered_contacts=draw(st.integers(min_value=0, max_value=20)),
        exposure_minor=draw(st.integers(min_value=0, max_value=10**12)),
        limit_minor=draw(st.none() | st.integers(min_value=1, max_value=10**12)),
        relationship_days=draw(st.none() | st.integers(min_value=0, max_value=10_000)),
    )


@given(records())
def test_the_score_is_between_0_and_100_and_its_grade_follows_it(inputs):
    result = credit_score(inputs)
    assert 0 <= result.score <= 100
    assert result.grade == grade_for(result.score)


@given(records(), st.data())
def test_fewer_invoices_on_time_never_raise_the_score(inputs, data):
    fewer = data.draw(st.integers(min_value=0, max_value=inputs.invoices_on_time))
    worse = replace(inputs, invoices_on_time=fewer)
    assert credit_score(worse).score <= credit_score(inputs).score


@given(records(), st.integers(min_value=1, max_value=5000))
def test_paying_recent_invoices_later_never_raises_the_score(inputs, more):
    worse = replace(inputs, recent_days_late=inputs.recent_days_late + (more if inputs.recent_due else 0))
    assert credit_score(worse).score <= credit_score(inputs).score


@given(records(), st.integers(min_value=1, max_value=365))
def test_paying_every_invoice_later_never_raises_the_score(inputs, days):
    worse = replace(
        inputs,
        recent_days_late=inputs.recent_days_late + days * inputs.recent_due,
        earlier_days_late=inputs.earlier_days_late + days * inputs.earlier_due,
    )
    assert credit_score(worse).score <= credit_score(inputs).score


@given(records(), st.integers(min_value=1, max_value=50))
def test_more_broken_promises_never_raise_the_score(inputs, more):
    assert (
        credit_score(replace(inputs, promises_broken=inputs.promises_broken + more)).score
        <= credit_score(inputs).score
    )


@given(records(), st.integers(min_value=1, max_value=50))
def test_more_disputes_short_payments_or_silence_never_raise_the_score(inputs, more):
    base = credit_score(inputs).score
    assert credit_score(replace(inputs, disputes=inputs.disputes + more)).score <= base
    assert credit_score(replace(inputs, short_payments=inputs.short_payments + more)).score <= base
    assert credit_score(replace(inputs, unanswered_contacts=inputs.unanswered_contacts + more)).score <= base


def test_a_spotless_long_relationship_is_grade_a_and_a_bad_one_d():
    good = CreditInputs(
        invoices_due=20, invoices_on_time=20, recent_due=5, earlier_due=15, relationship_days=1500
    )
    assert credit_score(good).grade == "A"
    bad = CreditInputs(
        invoices_due=10, invoices_on_time=1, recent_due=4, recent_days_late=4 * 60, earlier_due=6,
        earlier_days_late=6 * 20, promises_broken=3, relationship_days=400,
    )  # fmt: skip
    result = credit_score(bad)
    assert result.grade == "D"
    effects = {factor.key: factor.effect for factor in result.factors}
    assert effects["promises_broken"] == -20.0
    assert effects["days_late_trend"] == -10.0
    assert effects["on_time_share"] == -35.0


def test_a_new_customer_without_a_record_starts_in_the_middle():
    result = credit_score(CreditInputs())
    assert result.grade == "B"
    assert all(factor.effect == 0 for factor in result.factors)


def test_grade_bounds_and_downgrades():
    assert [grade_for(score) for score in (100, 80, 79, 60, 59, 40, 39, 0)] == list("AABBCCDD")
    assert grade_for(70, (90, 70, 50)) == "B"
    assert is_downgrade("A", "C") and not is_downgrade("C", "A") and not is_downgrade("", "D")


def test_the_suggested_limit_is_months_of_sales_by_grade():
    yearly = 365 * 100_00  # 100.00 a day
    assert suggested_limit(grade="A", sales_minor=yearly, window_days=365) == 3 * 30 * 100_00
    assert suggested_limit(grade="C", sales_minor=yearly, window_days=365) == 30 * 100_00
    assert suggested_limit(grade="D", sales_minor=yearly, window_days=365) == 0
    assert suggested_limit(grade="A", sales_minor=0, window_days=365) == 0
