"""Celery task of insights: the daily debtor classification, after the collections review.

Thin on purpose: the task asks the clock for the company's date and calls the run, which is
set-based and writes nothing for a customer whose record did not change.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from huikuan.core.calendars import company_date

DEBTORS_CLASSIFY_TASK = "huikuan.insights.classify"


@shared_task(name=DEBTORS_CLASSIFY_TASK, acks_late=True)
def debtors_classify_task(*, as_of: str | None = None) -> dict[str, Any]:
    """Classify every overdue customer as of ``as_of`` (ISO date; default today)."""
    from huikuan.insights.services import debtors_classify

    day = date.fromisoformat(as_of) if as_of else company_date(timezone.now())
    return debtors_classify(as_of=day).as_dict()
