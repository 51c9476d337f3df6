"""The credit score: a customer's own record turned into 0–100 and a grade (PLAYBOOK §1, §2).

Pure functions over plain figures, so that the rule can be read, tested and explained without a
database. The run (``customers/credit.py``) aggregates the figures for every customer in a few
set-based queries and calls :func:`credit_score` for each.

The score starts at ``BASE_SCORE``; each factor adds or takes away points, and the list of
factors with their value and effect is kept with the rating as "why this grade". Every effect
moves in one direction with its figure (a lower on-time share, more days late, more broken
promises never raise the score), which the property tests check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

BASE_SCORE = 75.0
# Lower bounds of grades A, B and C; anything below the last is D.
DEFAULT_GRADE_BOUNDS = (80, 60, 40)
GRADES = ("A", "B", "C", "D")
# Grade rank: a higher number is a worse grade, so a downgrade is a rise in rank.
GRADE_RANK = {grade: rank for rank, grade in enumerate(GRADES)}
# Months of average sales a grade may owe at once (D buys against payment in advance).
LIMIT_MONTHS = {"A": 3.0, "B": 2.0, "C": 1.0, "D": 0.0}


@dataclass(slots=True)
class CreditInputs:
    """What the record says about one customer over the rating window (usually a year)."""

    invoices_due: int = 0  # invoices that fell due in the window
    invoices_on_time: int = 0  # of those, settled by their due date
    recent_due: int = 0  # due in the recent part of the window (the last 90 days)
    recent_days_late: int = 0  # their days late, summed (open ones count up to the rating date)
    earlier_due: int = 0
    earlier_days_late: int = 0
    promises_broken: int = 0
    promises_partly_kept: int = 0
    disputes: int = 0
    short_payments: int = 0
    unanswered_contacts: int = 0  # calls and visits without an answer (no answer, wrong number)
    exposure_minor: int = 0  # open receivables and uninvoiced orders in the customer's currency
    limit_minor: int | None = None
    relationship_days: int | None = None  # since the first invoice; None without any
    sales_minor: int = 0  # invoiced in the window, in the customer's currency

    @property
    def on_time_share(self) -> float | None:
        return self.invoices_on_time / self.invoices_due if self.invoices_due else None

    @property
    def recent_avg_days_late(self) -> float | None:
        return self.recent_days_late / self.recent_due if self.recent_due else None

    @property
    def earlier_avg_days_late(self) -> float | None:
        return self.earlier_days_late / self.earlier_due if self.earlier_due else None

    @property
    def weighted_days_late(self) -> float | None:
        """Average days late with recent invoices counting twice (recent behaviour says more)."""
        weight = 2 * self.recent_due + self.earlier_due
        if not weight:
            return None
        return (2 * self.recent_days_late + self.earlier_days_late) / weight

    @property
    def days_late_trend(self) -> float | None:
        """Recent average less the earlier one: positive means paying later than before."""
        recent, earlier = self.recent_avg_days_late, self.earlier_avg_days_late
        if recent is None or earlier is None:
            return None
        return recent - earlier

    @property
    def exposure_ratio(self) -> float | None:
        if not self.limit_minor or self.limit_minor <= 0:
            return None
        return self.exposure_minor / self.limit_minor


class Factor(NamedTuple):
    """One line of "why this grade": what was measured and how many points it moved."""

    key: str
    value: float | int | None
    effect: float

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "effect": self.effect}


@dataclass(frozen=True)
class CreditScore:
    score: int
    grade: str
    factors: list[Factor] = field(default_factory=list)


def _points(value: float) -> float:
    return round(value, 1)


def _rounded(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def credit_factors(inputs: CreditInputs) -> list[Factor]:
    """Return every factor with its value and its effect on the score, in the order shown."""
    share = inputs.on_time_share
    late = inputs.weighted_days_late
    trend = inputs.days_late_trend
    ratio = inputs.exposure_ratio
    years = None if inputs.relationship_days is None else inputs.relationship_days / 365.0
    factors = [
        # 80 % on time is the norm; all on time earns 10, none costs 40.
        Factor(
            "on_time_share", _rounded(share, 3), _points((share - 0.8) * 50) if share is not None else 0.0
        ),
        Factor("days_late", _rounded(late, 1), _points(-min(25.0, late * 0.5)) if late is not None else 0.0),
        Factor(
            "days_late_trend",
            _rounded(trend, 1),
            0.0
            if trend is None
            else _points(-min(10.0, trend * 0.25) if trend > 0 else min(5.0, -trend * 0.1)),
        ),
        Factor(
            "promises_broken",
            inputs.promises_broken + inputs.promises_partly_kept,
            _points(-min(20.0, 7.0 * inputs.promises_broken + 3.0 * inputs.promises_partly_kept)),
        ),
        Factor("disputes", inputs.disputes, _points(-min(10.0, 3.0 * inputs.disputes))),
        Factor("short_payments", inputs.short_payments, _points(-min(10.0, 2.0 * inputs.short_payments))),
        Factor(
            "exposure_ratio",
            _rounded(ratio, 2),
            _points(-min(15.0, max(0.0, ratio - 0.8) * 50)) if ratio is not None else 0.0,
        ),
        Factor(
            "relationship_years",
            _rounded(years, 1),
            0.0 if years is None else (-5.0 if years < 0.5 else _points(min(10.0, 2.0 * years))),
        ),
        Factor(
            "unanswered_contacts",
            inputs.unanswered_contacts,
            _points(-min(10.0, 2.0 * inputs.unanswered_contacts)),
        ),
    ]
    return factors


def grade_for(score: int, bounds: Sequence[int] = DEFAULT_GRADE_BOUNDS) -> str:
    """A for a score at or above the first bound, B the second, C the third, else D."""
    for grade, bound in zip(GRADES, bounds, strict=False):
        if score >= bound:
            return grade
    return "D"


def credit_score(inputs: CreditInputs, *, bounds: Sequence[int] = DEFAULT_GRADE_BOUNDS) -> CreditScore:
    """Return the score (0–100), its grade and the factors that made it."""
    factors = credit_factors(inputs)
    total = BASE_SCORE + sum(factor.effect for factor in factors)
    score = int(min(100.0, max(0.0, round(total))))
    return CreditScore(score=score, grade=grade_for(score, bounds), factors=factors)


def suggested_limit(*, grade: str, sales_minor: int, window_days: int) -> int:
    """A limit of a few months of the customer's average sales, fewer the worse the grade."""
    if window_days <= 0 or sales_minor <= 0:
        return 0
    monthly = sales_minor * 30 / window_days
    # Rounded down to whole hundreds of minor units (whole units for most currencies).
    return int(monthly * LIMIT_MONTHS.get(grade, 0.0)) // 100 * 100


def is_downgrade(previous: str, current: str) -> bool:
    return bool(previous) and GRADE_RANK.get(current, 0) > GRADE_RANK.get(previous, 0)
