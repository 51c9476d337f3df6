"""Celery task of customers: the daily credit step (overrides that ran out; the rating when due).

Thin on purpose, like the dunning task: it asks the clock for the company's date and calls
``credit_rate_if_due``, which rates only when the month's, quarter's or year's scheduled rating
has not run, so a task delivered twice or retried is harmless.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from huikuan.core.calendars import company_date

logger = logging.getLogger(__name__)

CREDIT_RATE_TASK = "huikuan.customers.credit_rate"


@shared_task(name=CREDIT_RATE_TASK, acks_late=True)
def credit_rate_task(*, as_of: str | None = None) -> dict[str, Any]:
    """Run the day's credit step for ``as_of`` (ISO date; default today in the company's zone)."""
    from huikuan.customers.credit import credit_rate_if_due

    day = date.fromisoformat(as_of) if as_of else company_date(timezone.now())
    summary = credit_rate_if_due(as_of=day, triggered_by="celery")
    logger.info("credit step %s: %s", day.isoformat(), summary)
    return summary
