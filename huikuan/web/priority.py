"""The worklist's priority: how much is overdue, for how long, and how risky the customer is.

Pure: :func:`priority_compute` takes figures the worklist selector has already read and returns
the score with every factor kept, so that each row can show and explain its place in the list
("12,000.00 CNY overdue × 45 days × grade C ×1.5, 2 broken promises ×2").

- amount: what the customer has overdue in the item's currency (amounts in different currencies
  are never added; an item without a currency uses the customer's own);
- age: the amount-weighted average of days past due of those invoices, so that a large old debt
  counts for more than the same amount just past due (PLAYBOOK §2: the older the debt, the
  firmer the action);
- risk: the customer's grade and the promises it has broken (PLAYBOOK §5).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# How much a customer's grade weighs on its priority.
GRADE_WEIGHTS: dict[str, Decimal] = {
    "A": Decimal("0.5"),
    "B": Decimal("1"),
    "C": Decimal("1.5"),
    "D": Decimal("2"),
}
# Each broken promise adds this much to the risk factor.
BROKEN_PROMISE_WEIGHT = Decimal("0.5")


@dataclass(frozen=True)
class Priority:
    score: Decimal  # the product of the factors below, rounded to a whole number
    overdue: Decimal  # major units of ``currency``
    currency: str
    days: int  # amount-weighted average days past due of the overdue invoices
    grade: str
    grade_weight: Decimal
    broken_promises: int
    broken_weight: Decimal  # 1 + 0.5 per broken promise

    @property
    def risk(self) -> Decimal:
        return self.grade_weight * self.broken_weight


def weighted_days(*, overdue_minor: int, day_weighted_minor: int) -> int:
    """Return the amount-weighted average days past due: Σ(open × days) / Σ open, rounded."""
    if overdue_minor <= 0:
        return 0
    return int((Decimal(day_weighted_minor) / Decimal(overdue_minor)).to_integral_value(ROUND_HALF_UP))


def priority_compute(
    *, overdue: Decimal, currency: str, days: int, grade: str, broken_promises: int
) -> Priority:
    """Return the priority of work on a customer: overdue amount × age in days × risk."""
    grade_weight = GRADE_WEIGHTS.get(grade, Decimal(1))
    broken_weight = 1 + BROKEN_PROMISE_WEIGHT * max(0, broken_promises)
    score = (max(overdue, Decimal(0)) * max(days, 0) * grade_weight * broken_weight).to_integral_value(
        ROUND_HALF_UP
    )
    return Priority(
        score=score,
        overdue=overdue,
        currency=currency,
        days=max(days, 0),
        grade=grade,
        grade_weight=grade_weight,
        broken_promises=max(0, broken_promises),
        broken_weight=broken_weight,
    )


@dataclass(frozen=True)
class ScaledWeights:
    """The weights as whole numbers over ``scale``, for a database to order by the same score
    with integer arithmetic: risk = grade[g] / scale × (broken_base + broken_step × n) / scale."""

    scale: int
    grades: dict[str, int]
    other_grade: int  # a grade without a weight of its own counts as 1
    broken_base: int
    broken_step: int


def priority_weights_scaled() -> ScaledWeights:
    """Return the priority's weights as integers over a common power of ten."""
    weights = [*GRADE_WEIGHTS.values(), Decimal(1), BROKEN_PROMISE_WEIGHT]
    places = max(max(0, -int(weight.normalize().as_tuple().exponent)) for weight in weights)
    scale = 10**places

    def whole(weight: Decimal) -> int:
        return int(weight * scale)

    return ScaledWeights(
        scale=scale,
        grades={grade: whole(weight) for grade, weight in GRADE_WEIGHTS.items()},
        other_grade=scale,
        broken_base=scale,
        broken_step=whole(BROKEN_PROMISE_WEIGHT),
    )


def _factor(value: Decimal) -> str:
    return format(value.normalize(), "f")


def priority_explain(priority: Priority, *, amount_text: str) -> str:
    """Return the row's explanation in the reader's language; ``amount_text`` is the formatted amount."""
    if priority.overdue <= 0:
        return _("nothing overdue")
    parts = [
        ngettext(
            "%(amount)s %(currency)s overdue × %(days)s day",
            "%(amount)s %(currency)s overdue × %(days)s days",
            priority.days,
        )
        % {"amount": amount_text, "currency": priority.currency, "days": priority.days},
        _("grade %(grade)s ×%(weight)s")
        % {"grade": priority.grade, "weight": _factor(priority.grade_weight)},
    ]
    text = " × ".join(parts)
    if priority.broken_promises:
        text += ", " + ngettext(
            "%(count)s broken promise ×%(weight)s",
            "%(count)s broken promises ×%(weight)s",
            priority.broken_promises,
        ) % {"count": priority.broken_promises, "weight": _factor(priority.broken_weight)}
    return text
