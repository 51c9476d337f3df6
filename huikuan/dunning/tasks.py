"""Celery tasks of the dunning app: the daily run.

Thin on purpose: the task asks the clock for the company's date and calls the engine, which
decides everything and is idempotent per date (a second run for the same day creates nothing),
so a task delivered twice or retried after a lost worker is harmless.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from celery import shared_task
from django.utils import timezone

from huikuan.core.calendars import company_date

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def dunning_run_task(*, as_of: str | None = None, triggered_by: str = "celery") -> dict[str, Any]:
    """Run the day's dunning for ``as_of`` (ISO date; default today in the company's zone)."""
    # Imported here so that the worker starts, and delivery keeps working, even while the
    # engine cannot be imported (e.g. during an upgrade).
    from huikuan.dunning.engine import RunRefused, dunning_run

    day = date.fromisoformat(as_of) if as_of else company_date(timezone.now())
    try:
        result = dunning_run(as_of=day, triggered_by=triggered_by, list_actions=False)
    except RunRefused as error:
        # A later run exists or no policy is active: retrying cannot help, a person must look.
        logger.warning("dunning run %s refused: %s", day.isoformat(), error.message)
        return {"as_of": day.isoformat(), "refused": error.message}
    # After the run's commit, and again after a crash that came between: fills only empty scripts.
    from huikuan.collections.services import task_scripts_render

    scripts = task_scripts_render(run_id=result.run_id)
    summary = {
        "run_id": result.run_id,
        "scripts": scripts,
        "as_of": day.isoformat(),
        "already_ran": result.already_ran,
        "actions": result.actions_created,
        "messages": result.messages_created,
        "tasks": result.tasks_created,
        "holds_placed": result.holds_placed,
        "holds_released": result.holds_released,
    }
    logger.info("dunning run %s: %s", day.isoformat(), summary)
    return summary
