"""The promise-to-pay rule, as plain Python: what a promise's status is on a given day.

A promise is KEPT as soon as what was paid towards it reaches the amount, whatever the day.
Until its date plus the grace days it stays OPEN (dunning of its invoices is paused meanwhile);
the day after, it is PARTLY_KEPT when something was paid and BROKEN when nothing was. Once a
promise has an outcome it keeps it: a later payment does not turn a broken promise into a kept
one, it only settles the invoices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

OPEN, KEPT, PARTLY_KEPT, BROKEN = "OPEN", "KEPT", "PARTLY_KEPT", "BROKEN"


@dataclass(frozen=True, slots=True)
class PromiseOutcome:
    status: str
    # The day the outcome was reached: the last payment for a kept promise, the first day after
    # the grace for a partly kept or broken one; None while open.
    resolved_date: date | None


def promise_pause_ends(*, promised_date: date, grace_days: int) -> date:
    """Return the last day on which the promise still holds its invoices out of dunning."""
    return promised_date + timedelta(days=grace_days)


def promise_outcome(
    *,
    amount_minor: int,
    paid_minor: int,
    promised_date: date,
    grace_days: int,
    as_of: date,
    last_paid_date: date | None = None,
) -> PromiseOutcome:
    """Return the status a still-open promise has on ``as_of`` given what was paid towards it."""
    if amount_minor <= 0:
        raise ValueError("a promise is for a positive amount")
    if paid_minor >= amount_minor:
        return PromiseOutcome(KEPT, last_paid_date or as_of)
    pause_ends = promise_pause_ends(promised_date=promised_date, grace_days=grace_days)
    if as_of <= pause_ends:
        return PromiseOutcome(OPEN, None)
    return PromiseOutcome(PARTLY_KEPT if paid_minor > 0 else BROKEN, pause_ends + timedelta(days=1))
