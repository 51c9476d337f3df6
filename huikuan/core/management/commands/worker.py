"""``huikuan worker``: the daily collections review and dunning run, and outbox delivery, on schedule.

With HUIKUAN_BROKER_URL this starts a Celery worker with embedded beat (the same as
``celery -A huikuan worker -B``). Without a broker it keeps the same schedule in this process:
a plain loop calling the same task functions, for a one-machine installation or for cron
(``--once``).
"""

from __future__ import annotations

import functools
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.celery import (
    BEFORE_RUN_TASKS,
    DUNNING_RUN_TASK,
    LETTER_BATCH_TASK,
    OUTBOX_DELIVER_TASK,
    Schedule,
    schedule_from_settings,
)

logger = logging.getLogger("huikuan.worker")

# After a failed run, wait this long before trying again (the loop must not hammer a broken
# database every few seconds).
RETRY_AFTER = timedelta(minutes=5)
# The loop wakes at least this often, so a changed system clock is noticed soon.
LONGEST_SLEEP = 60.0

DUNNING, DELIVERY, LETTERS = "dunning", "delivery", "letters"


@dataclass
class LoopState:
    """What the in-process loop has done so far (lost on restart: every step is safe to repeat)."""

    dunning_done_on: date | None = None
    letters_done_on: date | None = None
    next_delivery_at: datetime | None = None
    retry_at: dict[str, datetime] = field(default_factory=dict)


def work_due(*, now: datetime, schedule: Schedule, state: LoopState) -> list[str]:
    """Return which steps are due at ``now``: the day's run, delivery, the day's letter batch."""
    local = now.astimezone(ZoneInfo(schedule.time_zone))
    today, clock = local.date(), local.time().replace(tzinfo=None)
    due = []
    for step, done_on, at in (
        (DUNNING, state.dunning_done_on, schedule.dunning_run_at),
        (LETTERS, state.letters_done_on, schedule.letter_batch_at),
    ):
        if clock >= at and done_on != today and now >= state.retry_at.get(step, now):
            due.append(step)
    if state.next_delivery_at is None or now >= state.next_delivery_at:
        due.append(DELIVERY)
    # The run comes first: its messages can then go out in the same cycle.
    return sorted(due, key=[DUNNING, DELIVERY, LETTERS].index)


def seconds_until_next(*, now: datetime, schedule: Schedule, state: LoopState) -> float:
    """Return how long the loop may sleep before something may be due."""
    zone = ZoneInfo(schedule.time_zone)
    local = now.astimezone(zone)
    wake = [state.next_delivery_at or now, *state.retry_at.values()]
    for at in (schedule.dunning_run_at, schedule.letter_batch_at):
        moment = datetime.combine(local.date(), at, tzinfo=zone)
        wake.append(moment if moment > now else moment + timedelta(days=1))
    upcoming = [moment for moment in wake if moment > now]
    if not upcoming:
        return 1.0
    return max(1.0, min(LONGEST_SLEEP, (min(upcoming) - now).total_seconds()))


def _state_from_database(*, now: datetime, schedule: Schedule) -> LoopState:
    """Start from what today already holds, so a restart or a cron call does not repeat the day's steps."""
    from huikuan.dunning.models import DunningRun
    from huikuan.messaging.models import LetterBatch

    zone = ZoneInfo(schedule.time_zone)
    today = now.astimezone(zone).date()
    state = LoopState()
    if DunningRun.objects.filter(as_of=today).exists():
        state.dunning_done_on = today
    midnight = datetime.combine(today, datetime.min.time(), tzinfo=zone)
    if LetterBatch.objects.filter(created_at__gte=midnight).exists():
        state.letters_done_on = today
    return state


def _registered_task(name: str) -> Callable[..., Any] | None:
    """Return the Celery task registered as ``name`` (None when this installation has none)."""
    from huikuan.celery import app

    _tasks_import()
    return app.tasks.get(name)


@functools.cache
def _tasks_import() -> None:
    """Import every app's tasks.py, as a Celery worker does when it starts."""
    from huikuan.celery import app

    app.loader.import_default_modules()


def _summary(result: Any) -> str:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items())
    return "" if result is None else str(result)


class Command(BaseCommand):
    help = (
        "Run the daily dunning and deliver the outbox on schedule: a Celery worker with beat when "
        "HUIKUAN_BROKER_URL is set, otherwise a loop in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="run one cycle in this process and exit (for cron), with or without a broker",
        )
        parser.add_argument(
            "--no-beat",
            action="store_true",
            help="with a broker: start the worker without the embedded beat scheduler",
        )
        parser.add_argument(
            "--concurrency", type=int, default=None, help="with a broker: number of worker processes"
        )
        parser.add_argument(
            "--pool", default=None, help="with a broker: Celery's pool (prefork, solo, threads)"
        )
        parser.add_argument("--loglevel", default="INFO", help="with a broker: Celery's log level")

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = options["verbosity"]
        schedule = schedule_from_settings()
        if settings.HUIKUAN_BROKER_URL and not options["once"]:
            self._celery_worker(options)
            return
        self.state = _state_from_database(now=timezone.now(), schedule=schedule)
        self.warned: set[str] = set()
        if options["once"]:
            self._cycle(timezone.now(), schedule)
            return
        self._loop(schedule)

    # --- with a broker

    def _celery_worker(self, options: dict[str, Any]) -> None:
        from kombu.utils.url import maybe_sanitize_url

        from huikuan.celery import app

        argv = ["worker", f"--loglevel={options['loglevel']}"]
        if not options["no_beat"]:
            argv.append("--beat")
        if options["concurrency"]:
            argv.append(f"--concurrency={options['concurrency']}")
        if options["pool"]:
            argv.append(f"--pool={options['pool']}")
        if options["no_beat"]:
            message = _("Broker %(broker)s: starting a Celery worker (celery -A huikuan %(argv)s).")
        else:
            message = _("Broker %(broker)s: starting a Celery worker with beat (celery -A huikuan %(argv)s).")
        broker = maybe_sanitize_url(settings.HUIKUAN_BROKER_URL)
        self.stdout.write(message % {"broker": broker, "argv": " ".join(argv)})
        self.stdout.flush()
        app.worker_main(argv)

    # --- without a broker

    def _loop(self, schedule: Schedule) -> None:
        stop = threading.Event()

        def request_stop(signum: int, _frame: Any) -> None:
            if stop.is_set():
                raise SystemExit(1)  # a second signal: stop now
            self.stdout.write(_("Stopping after the current step (signal %(signal)s).") % {"signal": signum})
            stop.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(
            _(
                "No broker (HUIKUAN_BROKER_URL): running the schedule in this process. Dunning daily at "
                "%(run_at)s, letter batch at %(letters_at)s (%(zone)s), outbox every %(interval)s s. "
                "Stop with Ctrl+C."
            )
            % {
                "run_at": schedule.dunning_run_at.strftime("%H:%M"),
                "letters_at": schedule.letter_batch_at.strftime("%H:%M"),
                "zone": schedule.time_zone,
                "interval": schedule.delivery_interval,
            }
        )
        self.stdout.flush()
        try:
            while not stop.is_set():
                self._cycle(timezone.now(), schedule)
                stop.wait(seconds_until_next(now=timezone.now(), schedule=schedule, state=self.state))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(_("Stopped."))

    def _cycle(self, now: datetime, schedule: Schedule) -> None:
        """Do every step due at ``now``; a failing step is reported and retried later."""
        today = now.astimezone(ZoneInfo(schedule.time_zone)).date()
        try:
            for step in work_due(now=now, schedule=schedule, state=self.state):
                try:
                    self._step(step, now=now, today=today, schedule=schedule)
                except Exception:
                    logger.exception("%s failed", step)
                    self.stderr.write(_("%(step)s failed; trying again in 5 minutes.") % {"step": step})
                    self.state.retry_at[step] = now + RETRY_AFTER
                    if step == DELIVERY:
                        self.state.next_delivery_at = now + RETRY_AFTER
                else:
                    self.state.retry_at.pop(step, None)
        finally:
            # A long-lived process must not keep a connection the server may have dropped.
            connections.close_all()

    def _step(self, step: str, *, now: datetime, today: date, schedule: Schedule) -> None:
        name = {DUNNING: DUNNING_RUN_TASK, DELIVERY: OUTBOX_DELIVER_TASK, LETTERS: LETTER_BATCH_TASK}[step]
        task = _registered_task(name)
        if step == DELIVERY:
            self.state.next_delivery_at = now + timedelta(seconds=schedule.delivery_interval)
        if task is None:
            if name not in self.warned:
                self.warned.add(name)
                self.stderr.write(
                    _("%(task)s is not available in this installation; skipped.") % {"task": name}
                )
            self._mark_done(step, today)
            return
        if step == DUNNING:
            self._review(now=now, today=today)
        kwargs = {"as_of": today.isoformat(), "triggered_by": "worker"} if step == DUNNING else {}
        result = task(**kwargs)
        self._mark_done(step, today)
        if step != DELIVERY or self.verbosity >= 2 or _has_counts(result):
            stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(f"[{stamp}] {step}: {_summary(result)}")

    def _review(self, *, now: datetime, today: date) -> None:
        """Prepare the day's dunning run, just before it: the collections review, then the credit
        step and the debtor types (BEFORE_RUN_TASKS).

        A broken plan's invoices are then back in the same run, and a new grade or debtor type
        picks its policy. None of them failing holds the run back: a promise's pause ends by its
        dates alone, and the next day catches up.
        """
        for name, _after in BEFORE_RUN_TASKS:
            task = _registered_task(name)
            if task is None:
                continue
            label = name.rsplit(".", 1)[-1]
            try:
                result = task(as_of=today.isoformat())
            except Exception:
                logger.exception("%s failed", name)
                self.stderr.write(_("%(step)s failed; the dunning run goes ahead.") % {"step": label})
                continue
            stamp = timezone.localtime(now).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(f"[{stamp}] {label}: {_summary(result)}")

    def _mark_done(self, step: str, today: date) -> None:
        if step == DUNNING:
            self.state.dunning_done_on = today
        elif step == LETTERS:
            self.state.letters_done_on = today


def _has_counts(result: Any) -> bool:
    """Tell whether a delivery result reports anything done (so idle cycles stay quiet)."""
    if isinstance(result, dict):
        return any(
            isinstance(value, int) and not isinstance(value, bool) and value for value in result.values()
        )
    return bool(result)
