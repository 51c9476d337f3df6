"""The ladder rule in plain Python: which stage is due for an invoice, and what one customer gets.

The run (``dunning/engine.py``) carries out exactly this rule in SQL over whole tables; this
module states it where it can be read and tested in milliseconds, and the tests hold the SQL to it.

- An invoice climbs one stage per run at most: its next stage is the one after the last it
  reached, due once ``as_of - due_date >= trigger_days`` ("at least", so a missed day catches up).
- A customer's due invoices in one currency make one communication at the highest of their next
  stages, if at least that stage's ``min_days_since_previous`` have passed since the customer's
  previous communication in that currency. Every invoice in it reaches that stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class StageRule:
    position: int
    trigger_days: int
    min_days_since_previous: int = 0


@dataclass(frozen=True)
class InvoiceStanding:
    invoice_id: int
    due_date: date
    open_minor: int
    level: int  # the last stage position reached; 0 before the first


@dataclass(frozen=True)
class Communication:
    stage_position: int
    invoice_ids: tuple[int, ...]
    amount_minor: int
    max_days_overdue: int


def next_stage_due(*, standing: InvoiceStanding, stages: Sequence[StageRule], as_of: date) -> int | None:
    """Return the position of the stage this invoice is due for on ``as_of``, or None."""
    following = next((stage for stage in stages if stage.position == standing.level + 1), None)
    if following is None:
        return None
    if (as_of - standing.due_date).days < following.trigger_days:
        return None
    return following.position


def customer_communication(
    *,
    standings: Iterable[InvoiceStanding],
    stages: Sequence[StageRule],
    as_of: date,
    previous_communication_date: date | None,
) -> Communication | None:
    """Decide the one communication for one customer and currency on ``as_of``, if any."""
    due = [
        (standing, position)
        for standing in standings
        if (position := next_stage_due(standing=standing, stages=stages, as_of=as_of)) is not None
    ]
    if not due:
        return None
    highest = max(position for _standing, position in due)
    rule = next(stage for stage in stages if stage.position == highest)
    if (
        previous_communication_date is not None
        and (as_of - previous_communication_date).days < rule.min_days_since_previous
    ):
        return None
    return Communication(
        stage_position=highest,
        invoice_ids=tuple(sorted(standing.invoice_id for standing, _position in due)),
        amount_minor=sum(standing.open_minor for standing, _position in due),
        max_days_overdue=max((as_of - standing.due_date).days for standing, _position in due),
    )
