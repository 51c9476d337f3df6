"""A real Redis server and a real Celery worker process run the dunning task against a real database.

The worker is a separate process, so it cannot see pytest-django's test database (a transaction
that is never committed). The test therefore prepares its own database — a SQLite file, or a
fresh database on the PostgreSQL server the suite runs on — migrates it in a subprocess and
reads the worker's effect from it directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from celery import Celery

from tests.processes import (
    BIN,
    ROOT,
    START_TIMEOUT,
    TASK_TIMEOUT,
    WorkerDatabase,
    free_port,
    migrated_database,
    wait_for,
    worker_database,
    worker_env,
)

__all__ = ["migrated_database", "worker_database"]  # fixtures, used by name


def _redis_missing(reason: str) -> None:
    # On CI the set-up installs redis-server, so its absence there is a broken build, not a skip.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must install it (scripts/setup test)")
    pytest.skip(f"{reason}; install it with scripts/setup test (apt-get install redis-server)")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port, without persistence, stopped afterwards."""
    server = shutil.which("redis-server")
    if server is None:
        _redis_missing("redis-server is not installed")
    import redis

    port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    pytest.fail(f"redis-server did not start on port {port}: {error}")
                time.sleep(0.1)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def celery_worker(redis_url: str, worker_database: WorkerDatabase, tmp_path: Path) -> Iterator[Path]:
    """`celery -A huikuan worker --pool=solo` on the private Redis and database; yields its log file."""
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                str(BIN / "celery"), "-A", "huikuan", "worker", "--pool=solo", "--loglevel=INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname=test@%h",
            ],
            env=worker_env(worker_database.url, tmp_path, broker=redis_url),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield log
    finally:
        process.terminate()  # Celery's warm shutdown on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _client(redis_url: str) -> Celery:
    """A bare Celery client on the same broker: it sends tasks by name, as beat does."""
    return Celery("test-client", broker=redis_url, backend=redis_url)


def test_a_celery_worker_on_redis_runs_the_dunning_task_once_per_date(
    redis_url: str, worker_database: WorkerDatabase, celery_worker: Path
):
    client = _client(redis_url)
    try:
        # The ping comes back through Redis from the worker process, which reached the database.
        pong = client.send_task("huikuan.core.tasks.ping").get(timeout=TASK_TIMEOUT)
        assert pong == {"pong": True, "database": worker_database.vendor, "migrated": True}

        client.send_task("huikuan.dunning.tasks.dunning_run_task", kwargs={"as_of": "2026-03-10"})
        wait_for(
            lambda: worker_database.rows("SELECT as_of FROM dunning_dunningrun"),
            log=celery_worker,
            what="the dunning run of 2026-03-10",
        )
        # Delivered twice (a retry, a second beat): the second run for the date is a no-op.
        client.send_task("huikuan.dunning.tasks.dunning_run_task", kwargs={"as_of": "2026-03-10"})
        client.send_task("huikuan.core.tasks.ping").get(timeout=TASK_TIMEOUT)  # the solo worker is past it
    finally:
        client.close()

    runs = worker_database.rows("SELECT as_of, triggered_by FROM dunning_dunningrun")
    assert [(str(as_of), triggered_by) for as_of, triggered_by in runs] == [("2026-03-10", "celery")]
    log = celery_worker.read_text(errors="replace")
    assert log.count("huikuan.dunning.tasks.dunning_run_task") >= 2


def _next_run_minute(zone: str) -> datetime:
    """The next whole minute in the company zone, at least 15 s away (time for the worker to start)."""
    now = datetime.now(ZoneInfo(zone))
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return minute if (minute - now).total_seconds() >= 15 else minute + timedelta(minutes=1)


def test_huikuan_worker_with_a_broker_runs_the_daily_dunning_from_beat_at_the_configured_time(
    redis_url: str, worker_database: WorkerDatabase, tmp_path: Path
):
    zone = "Asia/Shanghai"
    run_at = _next_run_minute(zone)
    env = worker_env(worker_database.url, tmp_path, broker=redis_url)
    env.update(HUIKUAN_TIME_ZONE=zone, HUIKUAN_DUNNING_RUN_AT=run_at.strftime("%H:%M"))
    log = tmp_path / "huikuan-worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [str(BIN / "huikuan"), "worker", "--pool=solo", "--loglevel=INFO"],
            env=env,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: worker_database.rows("SELECT as_of, triggered_by FROM dunning_dunningrun"),
            log=log,
            what=f"beat to start the dunning run at {run_at:%H:%M} {zone}",
            timeout=(run_at - datetime.now(ZoneInfo(zone))).total_seconds() + TASK_TIMEOUT,
        )
    finally:
        process.terminate()
        try:
            returncode = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = None

    runs = worker_database.rows("SELECT as_of, triggered_by FROM dunning_dunningrun")
    assert [(str(as_of), by) for as_of, by in runs] == [(run_at.date().isoformat(), "celery")]
    assert datetime.now(ZoneInfo(zone)) >= run_at  # not before the configured time
    text = log.read_text(errors="replace")
    assert "starting a Celery worker with beat" in text
    assert returncode == 0, text
