"""`huikuan worker` without a broker: the schedule in one process, for a single machine or cron."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.processes import (
    BIN,
    ROOT,
    WorkerDatabase,
    huikuan,
    migrated_database,
    wait_for,
    worker_database,
    worker_env,
)

__all__ = ["migrated_database", "worker_database"]  # fixtures, used by name

RUNS = "SELECT as_of, triggered_by FROM dunning_dunningrun ORDER BY as_of"


def _zone_at_noon() -> str:
    """A fixed-offset zone where it is now about noon, so "before 23:59" holds whatever the hour."""
    offset = 12 - datetime.now(UTC).hour  # Etc/GMT-8 is UTC+8: the sign is inverted
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _env(database: WorkerDatabase, tmp_path: Path, **settings: str) -> dict[str, str]:
    env = worker_env(database.url, tmp_path, broker="")
    env.update({f"HUIKUAN_{name}": value for name, value in settings.items()})
    return env


def test_worker_once_after_the_run_time_runs_todays_dunning_and_a_second_call_leaves_it_alone(
    worker_database: WorkerDatabase, tmp_path: Path
):
    zone = _zone_at_noon()
    env = _env(worker_database, tmp_path, TIME_ZONE=zone, DUNNING_RUN_AT="00:00")
    first = huikuan(["worker", "--once"], env=env)
    assert first.returncode == 0, first.stderr
    today = datetime.now(ZoneInfo(zone)).date().isoformat()
    assert [(str(day), by) for day, by in worker_database.rows(RUNS)] == [(today, "worker")]
    assert "dunning: run_id=" in first.stdout and f"as_of={today}" in first.stdout

    second = huikuan(["worker", "--once"], env=env)
    assert second.returncode == 0, second.stderr
    assert "dunning:" not in second.stdout  # today's run is there: not asked for again
    assert len(worker_database.rows(RUNS)) == 1


def test_worker_once_before_the_run_time_does_not_run_the_dunning(
    worker_database: WorkerDatabase, tmp_path: Path
):
    env = _env(worker_database, tmp_path, TIME_ZONE=_zone_at_noon(), DUNNING_RUN_AT="23:59")
    result = huikuan(["worker", "--once"], env=env)
    assert result.returncode == 0, result.stderr
    assert worker_database.rows(RUNS) == []


def test_the_worker_loop_runs_the_dunning_and_stops_cleanly_on_sigterm(
    worker_database: WorkerDatabase, tmp_path: Path
):
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [str(BIN / "huikuan"), "worker"],
            env=_env(worker_database, tmp_path, TIME_ZONE=_zone_at_noon(), DUNNING_RUN_AT="00:00"),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: worker_database.rows(RUNS), log=log, what="the in-process dunning run")
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = log.read_text()
    assert returncode == 0, text
    assert "running the schedule in this process" in text
    assert text.rstrip().endswith("Stopped.")
    assert [by for _day, by in worker_database.rows(RUNS)] == ["worker"]
