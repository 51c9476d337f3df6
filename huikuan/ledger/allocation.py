"""Pure rule of the ledger: which invoices a payment settles, in which order and how much.

No database here, so that the rules are tested in milliseconds and property-checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

K = TypeVar("K", int, str)  # invoice keys: database ids, or numbers in tests


@dataclass(frozen=True, slots=True)
class OpenItem(Generic[K]):
    """An invoice as the allocation rule sees it."""

    key: K
    open_minor: int
    due_date: date
    named: bool = False  # quoted with the payment: settled before any other


def allocation_order(items: Sequence[OpenItem[K]], named_order: Sequence[K] = ()) -> list[OpenItem[K]]:
    """Return invoices in the order a payment settles them.

    Invoices named with the payment come first, in the order given; the rest follow oldest
    due date first (ties by key: the earlier-recorded invoice first, so the order is stable).
    """
    position = {key: index for index, key in enumerate(named_order)}
    named = sorted((i for i in items if i.key in position), key=lambda i: position[i.key])
    others = sorted((i for i in items if i.key not in position), key=lambda i: (i.due_date, i.key))
    return named + others


def plan_allocation(available_minor: int, ordered: Sequence[OpenItem[K]]) -> list[tuple[K, int]]:
    """Return (invoice, amount) pairs that spend ``available_minor`` over ``ordered`` invoices.

    Each invoice takes at most its open amount; whatever is left stays unapplied on account.
    """
    if available_minor < 0:
        raise ValueError("cannot allocate a negative amount")
    plan: list[tuple[K, int]] = []
    remaining = available_minor
    for item in ordered:
        if remaining == 0:
            break
        if item.open_minor <= 0:
            continue
        take = min(remaining, item.open_minor)
        plan.append((item.key, take))
        remaining -= take
    return plan
