"""Reads of the outbox."""

from __future__ import annotations

from django.db.models import QuerySet

from huikuan.messaging.models import OutboxMessage, OutboxStatus


def outbox_list(*, status: str | None = None, limit: int = 100) -> QuerySet[OutboxMessage]:
    """Return the newest messages, optionally of one status, with their customer and contact."""
    rows = OutboxMessage.objects.select_related("customer", "contact").order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=OutboxStatus(status.upper()))
    return rows[:limit]
