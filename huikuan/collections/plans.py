"""Instalment plans (分期付款) as plain Python: the schedule, its interest, and a plan's state on a day.

- **Dates**: instalment *k* is due *k* intervals (months) after the plan's start date, the day of
  the month kept where the month has it (31 January + 1 month = 29 February in a leap year), or
  the custom dates given, in order, none before the start.
- **Interest**: simple yearly interest (actual/365) on the principal outstanding, which declines
  in equal parts (remainder on the last) from the start date to each due date; summed exactly
  and rounded half-up once, to the currency's minor unit.
- **Amounts**: the plan's total — principal + fee + interest — split equally with the remainder
  on the last instalment, or custom amounts that must add up to exactly that total.
- **Tracking**: what was paid towards the plan covers the instalments oldest first. An
  instalment not covered by its due date plus the grace days breaks the plan; a plan whose
  instalments are all covered, or whose invoices have nothing left open, is completed.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ACTIVE, COMPLETED, BROKEN = "ACTIVE", "COMPLETED", "BROKEN"
MAX_INSTALMENTS = 120
DAYS_IN_YEAR = Decimal(365)


class ScheduleInvalid(ValueError):
    """The schedule asked for cannot be made; ``code`` says why, for the API."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Schedule:
    due_dates: tuple[date, ...]
    amounts: tuple[int, ...]
    principal_minor: int
    fee_minor: int
    interest_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.fee_minor + self.interest_minor


@dataclass(frozen=True, slots=True)
class PlanState:
    status: str
    # Each instalment's covered amount, oldest first.
    paid: tuple[int, ...]
    # The day the plan completed (the review's day) or broke (the first day after the grace).
    decided_date: date | None


def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` later, or the month's last day where it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalment_dates(*, start_date: date, count: int, interval_months: int = 1) -> tuple[date, ...]:
    """Return ``count`` due dates, one interval after another from the start date."""
    if interval_months < 1:
        raise ScheduleInvalid("the interval is at least one month", code="interval_invalid")
    return tuple(add_months(start_date, interval_months * k) for k in range(1, count + 1))


def split_equal(total_minor: int, count: int) -> tuple[int, ...]:
    """Split an amount into ``count`` equal parts with the remainder on the last."""
    if count < 1:
        raise ScheduleInvalid("a plan has at least one instalment", code="count_invalid")
    part = total_minor // count
    return (part,) * (count - 1) + (total_minor - part * (count - 1),)


def parse_rate(text: str | Decimal | None) -> Decimal | None:
    """Return a yearly rate as a Decimal fraction ("0.0435" = 4.35 %), or None when none is set."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    try:
        rate = text if isinstance(text, Decimal) else Decimal(str(text).strip())
    except InvalidOperation:
        raise ScheduleInvalid(f"not a rate: {text!r}", code="rate_invalid")
    if not rate.is_finite() or rate < 0 or rate >= 1:
        raise ScheduleInvalid(
            "a yearly rate is a fraction from 0 to below 1 (0.0435 = 4.35 %)", code="rate_invalid"
        )
    return rate


def plan_interest(
    *, principal_minor: int, rate: Decimal | None, start_date: date, due_dates: Sequence[date]
) -> int:
    """Return the plan's simple interest in minor units (see the module's rule)."""
    if not rate or not due_dates:
        return 0
    parts = split_equal(principal_minor, len(due_dates))
    outstanding = principal_minor
    previous = start_date
    interest = Decimal(0)
    for due, part in zip(due_dates, parts, strict=True):
        interest += Decimal(outstanding) * rate * Decimal((due - previous).days) / DAYS_IN_YEAR
        outstanding -= part
        previous = due
    return int(interest.to_integral_value(rounding=ROUND_HALF_UP))


def schedule_build(
    *,
    principal_minor: int,
    start_date: date,
    count: int | None = None,
    interval_months: int = 1,
    amounts: Sequence[int] | None = None,
    dates: Sequence[date] | None = None,
    fee_minor: int = 0,
    rate: Decimal | None = None,
) -> Schedule:
    """Return the schedule: due dates, amounts and the interest, or raise ScheduleInvalid."""
    if principal_minor <= 0:
        raise ScheduleInvalid("there is nothing open to spread over instalments", code="nothing_open")
    if fee_minor < 0:
        raise ScheduleInvalid("a fee cannot be negative", code="fee_invalid")
    given = [len(items) for items in (amounts, dates) if items is not None]
    if count is None:
        if not given:
            raise ScheduleInvalid(
                "give the number of instalments, or their amounts or dates", code="count_invalid"
            )
        count = given[0]
    if any(n != count for n in given):
        raise ScheduleInvalid(
            "the number of instalments, amounts and dates given do not agree", code="count_mismatch"
        )
    if not 1 <= count <= MAX_INSTALMENTS:
        raise ScheduleInvalid(f"a plan has 1 to {MAX_INSTALMENTS} instalments", code="count_invalid")
    if dates is not None:
        due_dates = tuple(dates)
        if due_dates[0] < start_date or any(b <= a for a, b in zip(due_dates, due_dates[1:], strict=False)):
            raise ScheduleInvalid(
                "instalment dates must be in order, one per day at most, none before the start",
                code="dates_invalid",
            )
    else:
        due_dates = instalment_dates(start_date=start_date, count=count, interval_months=interval_months)
    interest = plan_interest(
        principal_minor=principal_minor, rate=rate, start_date=start_date, due_dates=due_dates
    )
    total = principal_minor + fee_minor + interest
    if amounts is not None:
        parts = tuple(int(amount) for amount in amounts)
        if any(part <= 0 for part in parts):
            raise ScheduleInvalid("every instalment is for more than zero", code="amounts_invalid")
        if sum(parts) != total:
            raise ScheduleInvalid(
                f"the instalments add up to {sum(parts)}, the plan's total is {total}", code="amounts_total"
            )
    else:
        if total < count:
            raise ScheduleInvalid("the amount is too small for that many instalments", code="count_invalid")
        parts = split_equal(total, count)
    return Schedule(
        due_dates=due_dates,
        amounts=parts,
        principal_minor=principal_minor,
        fee_minor=fee_minor,
        interest_minor=interest,
    )


def instalments_covered(amounts: Sequence[int], paid_minor: int) -> tuple[int, ...]:
    """Spread what was paid over the instalments, oldest first."""
    left = max(paid_minor, 0)
    covered = []
    for amount in amounts:
        take = min(amount, left)
        covered.append(take)
        left -= take
    return tuple(covered)


def plan_state(
    *,
    amounts: Sequence[int],
    due_dates: Sequence[date],
    paid_minor: int,
    grace_days: int,
    as_of: date,
    nothing_left_open: bool = False,
) -> PlanState:
    """Return an active plan's state on ``as_of`` from what was paid towards it."""
    covered = instalments_covered(amounts, paid_minor)
    if nothing_left_open or all(c >= a for c, a in zip(covered, amounts, strict=True)):
        return PlanState(COMPLETED, covered, as_of)
    for amount, due, paid in zip(amounts, due_dates, covered, strict=True):
        if paid < amount and as_of > due + timedelta(days=grace_days):
            return PlanState(BROKEN, covered, due + timedelta(days=grace_days + 1))
    return PlanState(ACTIVE, covered, None)
