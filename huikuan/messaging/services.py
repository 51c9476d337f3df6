"""Writes to the outbox made by people: approving and cancelling queued messages.

Each change is one conditional UPDATE, so it cannot race a delivery in progress: a message that
delivery has already claimed (SENDING) or finished is reported as unchanged, never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.messaging.models import OutboxMessage, OutboxStatus


class OutboxError(HuikuanError):
    code = "outbox_invalid"


@dataclass
class OutboxChange:
    """Which messages changed, which were left as they were (with their status), which do not exist."""

    changed: list[int] = field(default_factory=list)
    unchanged: dict[int, str] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "unchanged": self.unchanged, "missing": self.missing}


def _ids(message_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(message_id) for message_id in message_ids})
    if not ids:
        raise OutboxError("name at least one message")
    return ids


def _change(*, ids: list[int], allowed: list[str], values: dict[str, Any]) -> OutboxChange:
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(id__in=ids)
        changed = sorted(rows.filter(status__in=allowed).values_list("id", flat=True))
        if changed:
            OutboxMessage.objects.filter(id__in=changed, status__in=allowed).update(**values)
        statuses = dict(rows.exclude(id__in=changed).values_list("id", "status"))
    return OutboxChange(
        changed=changed,
        unchanged=statuses,
        missing=[i for i in ids if i not in statuses and i not in changed],
    )


def outbox_approve(
    *, message_ids: Iterable[int], user: Any = None, now: datetime | None = None
) -> OutboxChange:
    """Release messages awaiting approval to the queue, recording who approved them and when."""
    return _change(
        ids=_ids(message_ids),
        allowed=[OutboxStatus.AWAITING_APPROVAL],
        values={
            "status": OutboxStatus.QUEUED,
            "approved_at": now or timezone.now(),
            "approved_by": user if user is not None and getattr(user, "pk", None) else None,
        },
    )


def outbox_cancel(*, message_ids: Iterable[int], user: Any = None, reason: str = "") -> OutboxChange:
    """Withdraw messages that have not gone out yet (queued or awaiting approval)."""
    who = getattr(user, "username", "") if user is not None else ""
    note = "cancelled" + (f" by {who}" if who else "") + (f": {reason}" if reason else "")
    return _change(
        ids=_ids(message_ids),
        allowed=[OutboxStatus.QUEUED, OutboxStatus.AWAITING_APPROVAL],
        values={"status": OutboxStatus.CANCELLED, "next_attempt_at": None, "last_error": note[:2000]},
    )
