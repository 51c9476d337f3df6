"""The worklist priority: overdue amount × amount-weighted days × risk, shown with its factors."""

from __future__ import annotations

from decimal import Decimal

from huikuan.web.priority import priority_compute, priority_explain, weighted_days


def test_the_score_multiplies_amount_days_grade_and_broken_promises():
    priority = priority_compute(
        overdue=Decimal("12000.00"), currency="CNY", days=45, grade="C", broken_promises=2
    )

    assert priority.score == Decimal(12000 * 45) * Decimal("1.5") * 2
    assert priority.risk == Decimal(3)


def test_a_better_grade_weighs_less_than_a_worse_one():
    scores = [
        priority_compute(overdue=Decimal(100), currency="CNY", days=10, grade=grade, broken_promises=0).score
        for grade in "ABCD"
    ]

    assert scores == sorted(scores) and len(set(scores)) == 4


def test_nothing_overdue_scores_zero_and_says_so():
    priority = priority_compute(overdue=Decimal(0), currency="USD", days=0, grade="D", broken_promises=3)

    assert priority.score == 0
    assert priority_explain(priority, amount_text="0.00") == "nothing overdue"


def test_days_are_weighted_by_amount():
    # 900 overdue 10 days and 100 overdue 100 days: (9000 + 10000) / 1000 = 19 days.
    assert weighted_days(overdue_minor=100000, day_weighted_minor=90000 * 10 + 10000 * 100) == 19
    assert weighted_days(overdue_minor=0, day_weighted_minor=0) == 0


def test_the_explanation_names_every_factor():
    one = priority_compute(overdue=Decimal("5.00"), currency="EUR", days=1, grade="B", broken_promises=1)

    assert priority_explain(one, amount_text="5.00") == (
        "5.00 EUR overdue × 1 day × grade B ×1, 1 broken promise ×1.5"
    )
