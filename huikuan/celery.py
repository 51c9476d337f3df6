"""The Celery application: the daily collections review and dunning run, outbox delivery, on a schedule.

With ``HUIKUAN_BROKER_URL`` (Redis) Celery workers take the tasks from the broker and Celery
beat sends them on the schedule below. Without a broker, tasks run in the calling process
(``task_always_eager``) and ``huikuan worker`` keeps the same schedule in a plain loop, so a
one-machine installation needs neither Redis nor a separate beat process.

The configuration is read from Django settings lazily, when Celery first needs it, so importing
the ``huikuan`` package stays cheap and does not touch the settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import time
from typing import Any

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Registered task names (what beat sends and the in-process loop looks up).
DUNNING_RUN_TASK = "huikuan.dunning.tasks.dunning_run_task"
COLLECTIONS_REVIEW_TASK = "huikuan.collections.review"
OUTBOX_DELIVER_TASK = "huikuan.messaging.outbox_deliver"
LETTER_BATCH_TASK = "huikuan.messaging.letter_batch"
CREDIT_RATE_TASK = "huikuan.customers.credit_rate"
DEBTORS_CLASSIFY_TASK = "huikuan.insights.classify"

# What prepares the day's run, in order, each this many minutes after the collections review:
# ratings and overrides that ran out (a grade picks the policy), then debtor types (a type can
# shorten the ladder). Each is safe to repeat and none holds the run back when it fails.
BEFORE_RUN_TASKS = ((COLLECTIONS_REVIEW_TASK, 0), (CREDIT_RATE_TASK, 5), (DEBTORS_CLASSIFY_TASK, 10))

# Without a broker nothing is sent anywhere; an in-memory transport keeps Celery from looking
# for a RabbitMQ server on localhost, its built-in default.
IN_PROCESS_BROKER = "memory://"


@dataclass(frozen=True)
class Schedule:
    """When the periodic work happens: times of day in the company zone, the delivery interval."""

    dunning_run_at: time
    delivery_interval: int
    letter_batch_at: time
    time_zone: str
    # Promises, plans and short payments are reviewed just before the run (see review_time).
    collections_review_at: time | None = None

    @property
    def review_time(self) -> time:
        """When beat sends the collections review: as set, else shortly before the dunning run."""
        if self.collections_review_at is not None:
            return self.collections_review_at
        minutes = self.dunning_run_at.hour * 60 + self.dunning_run_at.minute - REVIEW_MINUTES_BEFORE_RUN
        return time(*divmod(max(minutes, 0), 60))


BEFORE_RUN_ENTRIES = {
    COLLECTIONS_REVIEW_TASK: "collections-review-daily",
    CREDIT_RATE_TASK: "credit-rate-daily",
    DEBTORS_CLASSIFY_TASK: "debtors-classify-daily",
}

# Beat sends the review this many minutes before the run (never before midnight), so that a broken
# plan's invoices are back in the same day's run. The in-process worker does the review inside the
# run's own step instead, right before it.
REVIEW_MINUTES_BEFORE_RUN = 15


def _time_of_day(name: str, raw: str) -> time:
    from django.core.exceptions import ImproperlyConfigured

    try:
        hours, minutes = (int(part) for part in raw.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ImproperlyConfigured(f"HUIKUAN_{name} must be a time of day as HH:MM, e.g. 06:00 (got {raw!r})")


def schedule_from_settings() -> Schedule:
    """Read the schedule from HUIKUAN_DUNNING_RUN_AT, HUIKUAN_DELIVERY_INTERVAL and TIME_ZONE."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    review_at = str(getattr(settings, "HUIKUAN_COLLECTIONS_REVIEW_AT", "") or "").strip()
    interval = int(settings.HUIKUAN_DELIVERY_INTERVAL)
    if interval < 1:
        raise ImproperlyConfigured("HUIKUAN_DELIVERY_INTERVAL must be at least 1 (seconds)")
    return Schedule(
        dunning_run_at=_time_of_day("DUNNING_RUN_AT", settings.HUIKUAN_DUNNING_RUN_AT),
        delivery_interval=interval,
        letter_batch_at=_time_of_day("LETTER_BATCH_AT", settings.HUIKUAN_LETTER_BATCH_AT),
        time_zone=settings.TIME_ZONE,
        collections_review_at=_time_of_day("COLLECTIONS_REVIEW_AT", review_at) if review_at else None,
    )


def beat_schedule(schedule: Schedule) -> dict[str, dict[str, Any]]:
    """Return Celery beat's entries for this schedule (crontab times are in the company zone)."""
    entries: dict[str, dict[str, Any]] = {}
    review_minutes = schedule.review_time.hour * 60 + schedule.review_time.minute
    for task, after in BEFORE_RUN_TASKS:
        hour, minute = divmod(min(review_minutes + after, 23 * 60 + 59), 60)
        entries[BEFORE_RUN_ENTRIES[task]] = {"task": task, "schedule": crontab(hour=hour, minute=minute)}
    return entries | {
        "dunning-run-daily": {
            "task": DUNNING_RUN_TASK,
            "schedule": crontab(hour=schedule.dunning_run_at.hour, minute=schedule.dunning_run_at.minute),
        },
        "outbox-deliver": {
            "task": OUTBOX_DELIVER_TASK,
            "schedule": float(schedule.delivery_interval),
            # A delivery that waited longer than one interval is superseded by the next one.
            "options": {"expires": float(schedule.delivery_interval)},
        },
        "letter-batch-daily": {
            "task": LETTER_BATCH_TASK,
            "schedule": crontab(hour=schedule.letter_batch_at.hour, minute=schedule.letter_batch_at.minute),
        },
    }


def celery_config() -> dict[str, Any]:
    """Return Celery's configuration derived from the Huikuan settings."""
    from django.conf import settings

    broker = settings.HUIKUAN_BROKER_URL
    schedule = schedule_from_settings()
    # Beat keeps its last-run times there; the folder exists only once something needed it.
    settings.HUIKUAN_HOME.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": broker or IN_PROCESS_BROKER,
        "broker_connection_retry_on_startup": True,
        "task_always_eager": not broker,
        "task_eager_propagates": True,
        # Only tasks that ask for it (the diagnostic ping) keep a result, in the broker's Redis.
        "task_ignore_result": True,
        "result_backend": broker if broker.startswith(("redis://", "rediss://", "redis+socket://")) else None,
        # The run and delivery are safe to repeat, so a task whose worker died is redelivered
        # rather than lost.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": schedule.time_zone,
        "enable_utc": True,
        "beat_schedule": beat_schedule(schedule),
        "beat_schedule_filename": str(settings.HUIKUAN_HOME / "celerybeat-schedule"),
    }


app = Celery("huikuan")
app.add_defaults(celery_config)
app.autodiscover_tasks()
