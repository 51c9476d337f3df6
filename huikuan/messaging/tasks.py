"""Celery tasks of messaging: thin wrappers that ask the clock and call the service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from huikuan.messaging.delivery import outbox_deliver


@shared_task(name="huikuan.messaging.outbox_deliver")
def outbox_deliver_task(*, limit: int | None = None) -> dict[str, Any]:
    """Send the outbox messages due now; the report is the task's result."""
    return outbox_deliver(now=timezone.now(), limit=limit).as_dict()


@shared_task(name="huikuan.messaging.letter_batch")
def letter_batch_task() -> dict[str, Any]:
    """Gather the letters due now into one print batch (none: no batch)."""
    from huikuan.messaging.letters import letter_batch_create

    batch = letter_batch_create(now=timezone.now())
    return {"batch_id": batch.id if batch else None, "letters": batch.letters.count() if batch else 0}
