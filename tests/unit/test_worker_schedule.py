"""The in-process schedule of `huikuan worker`: what is due when, and how long it may sleep."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

from huikuan.celery import (
    DUNNING_RUN_TASK,
    OUTBOX_DELIVER_TASK,
    Schedule,
    beat_schedule,
    celery_config,
    schedule_from_settings,
)
from huikuan.core.management.commands.worker import (
    DELIVERY,
    DUNNING,
    LETTERS,
    LONGEST_SLEEP,
    LoopState,
    seconds_until_next,
    work_due,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEDULE = Schedule(
    dunning_run_at=time(6, 0), delivery_interval=60, letter_batch_at=time(14, 0), time_zone="Asia/Shanghai"
)


def _at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def test_before_the_run_time_only_delivery_is_due():
    assert work_due(now=_at(5, 59), schedule=SCHEDULE, state=LoopState()) == [DELIVERY]


def test_at_the_run_time_the_run_comes_before_delivery():
    assert work_due(now=_at(6, 0), schedule=SCHEDULE, state=LoopState()) == [DUNNING, DELIVERY]


def test_a_worker_started_in_the_afternoon_catches_up_the_run_and_the_letter_batch():
    assert work_due(now=_at(15), schedule=SCHEDULE, state=LoopState()) == [DUNNING, DELIVERY, LETTERS]


def test_the_run_is_due_once_per_company_day():
    state = LoopState(dunning_done_on=date(2026, 3, 10), next_delivery_at=_at(9, 1))
    assert work_due(now=_at(9), schedule=SCHEDULE, state=state) == []
    assert work_due(now=_at(6, 0, day=11), schedule=SCHEDULE, state=state) == [DUNNING, DELIVERY]


def test_the_company_zone_decides_the_day_not_utc():
    # 22:30 UTC on 9 March is 06:30 on 10 March in Shanghai: the run of the 10th is due.
    now = datetime(2026, 3, 9, 22, 30, tzinfo=ZoneInfo("UTC"))
    state = LoopState(dunning_done_on=date(2026, 3, 9), next_delivery_at=now + timedelta(seconds=30))
    assert work_due(now=now, schedule=SCHEDULE, state=state) == [DUNNING]


def test_delivery_waits_for_its_interval_and_a_failed_run_for_its_retry_time():
    state = LoopState(next_delivery_at=_at(7, 1), retry_at={DUNNING: _at(7, 5)})
    assert work_due(now=_at(7), schedule=SCHEDULE, state=state) == []
    assert work_due(now=_at(7, 5), schedule=SCHEDULE, state=state) == [DUNNING, DELIVERY]


def test_the_loop_sleeps_until_the_next_delivery():
    state = LoopState(dunning_done_on=date(2026, 3, 10), next_delivery_at=_at(9) + timedelta(seconds=42))
    assert seconds_until_next(now=_at(9), schedule=SCHEDULE, state=state) == 42


def test_the_loop_wakes_for_the_run_time():
    slow = Schedule(
        dunning_run_at=time(6, 0), delivery_interval=3600, letter_batch_at=time(14), time_zone="Asia/Shanghai"
    )
    state = LoopState(next_delivery_at=_at(6, 30))
    assert seconds_until_next(now=_at(5, 59) + timedelta(seconds=30), schedule=slow, state=state) == 30


@given(
    now=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(SHANGHAI)
    ),
    delivery_in=st.integers(min_value=-600, max_value=86_400),
)
def test_the_loop_never_sleeps_less_than_a_second_or_more_than_a_minute(now, delivery_in):
    state = LoopState(next_delivery_at=now + timedelta(seconds=delivery_in))
    assert 1.0 <= seconds_until_next(now=now, schedule=SCHEDULE, state=state) <= LONGEST_SLEEP


def test_beat_runs_the_dunning_daily_at_the_run_time_and_delivery_every_interval():
    entries = beat_schedule(SCHEDULE)
    dunning = entries["dunning-run-daily"]
    assert dunning["task"] == DUNNING_RUN_TASK
    assert dunning["schedule"].hour == {6} and dunning["schedule"].minute == {0}
    assert entries["outbox-deliver"]["task"] == OUTBOX_DELIVER_TASK
    assert entries["outbox-deliver"]["schedule"] == 60.0


def test_without_a_broker_tasks_run_in_process(settings, tmp_path):
    settings.HUIKUAN_BROKER_URL = ""
    settings.HUIKUAN_HOME = tmp_path
    config = celery_config()
    assert config["task_always_eager"] is True
    assert config["broker_url"] == "memory://"
    assert config["timezone"] == settings.TIME_ZONE


def test_with_a_redis_broker_tasks_go_to_redis(settings, tmp_path):
    settings.HUIKUAN_BROKER_URL = "redis://127.0.0.1:6379/3"
    settings.HUIKUAN_HOME = tmp_path
    config = celery_config()
    assert config["task_always_eager"] is False
    assert config["broker_url"] == config["result_backend"] == "redis://127.0.0.1:6379/3"
    assert config["beat_schedule_filename"] == str(tmp_path / "celerybeat-schedule")


@pytest.mark.parametrize("value", ["6", "25:00", "six", "06:00:00"])
def test_a_run_time_that_is_not_hh_mm_is_refused_with_the_variable_named(settings, value):
    settings.HUIKUAN_DUNNING_RUN_AT = value
    with pytest.raises(ImproperlyConfigured, match="HUIKUAN_DUNNING_RUN_AT"):
        schedule_from_settings()


def test_every_task_beat_sends_is_registered():
    from huikuan.celery import app

    app.loader.import_default_modules()
    assert {entry["task"] for entry in beat_schedule(SCHEDULE).values()} <= set(app.tasks)
