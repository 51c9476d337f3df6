"""Celery tasks of collections: the daily review, run before the dunning run.

Thin on purpose: the task asks the clock for the company's date and calls the review, which is
set-based and safe to repeat for a day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from huikuan.core.calendars import company_date


@shared_task(name="huikuan.collections.review", acks_late=True)
def collections_review_task(*, as_of: str | None = None) -> dict[str, Any]:
    """Review promises, plans and short payments for ``as_of`` (ISO date; default today)."""
    from huikuan.collections.services import collections_review

    day = date.fromisoformat(as_of) if as_of else company_date(timezone.now())
    return {"as_of": day.isoformat(), **collections_review(as_of=day)}
