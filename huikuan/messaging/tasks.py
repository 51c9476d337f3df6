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
