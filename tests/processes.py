"""Helpers for tests that run Huikuan in other processes (workers) against a database of their own.

A subprocess cannot see pytest-django's test database (a transaction that is never committed),
so these tests prepare their own: a SQLite file, or a fresh database on the PostgreSQL server
the suite runs on, migrated in a subprocess and read directly.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
TASK_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WorkerDatabase:
    """A database a subprocess and the test both reach, outside pytest-django's."""

    def __init__(self, url: str, *, vendor: str, admin_url: str = "", name: str = "") -> None:
        self.url, self.vendor, self.admin_url, self.name = url, vendor, admin_url, name

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.vendor == "sqlite":
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            try:
                return connection.execute(sql, params).fetchall()
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1)) as connection:
            return connection.execute(sql.replace("?", "%s"), params).fetchall()


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as connection:
        connection.execute(statement)


def _pg_url(suite_url: str, name: str) -> str:
    base = suite_url.partition("?")[0].rpartition("/")[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerDatabase]:
    """One database migrated once per test session, copied for each test that needs one."""
    tmp_path = tmp_path_factory.mktemp("migrated")
    suite_url = os.environ.get("HUIKUAN_DATABASE_URL", "")
    if suite_url.startswith(("postgres://", "postgresql://")):
        name = f"hk_worker_template_{uuid.uuid4().hex[:8]}"
        admin_url = _pg_url(suite_url, "postgres")
        _pg_admin(admin_url, f'CREATE DATABASE "{name}"')
        database = WorkerDatabase(
            _pg_url(suite_url, name), vendor="postgresql", admin_url=admin_url, name=name
        )
    else:
        database = WorkerDatabase(f"sqlite:///{tmp_path / 'template.sqlite3'}", vendor="sqlite")
    try:
        migrate = huikuan(["migrate", "--verbosity", "0"], env=worker_env(database.url, tmp_path, broker=""))
        if migrate.returncode:
            pytest.fail(f"huikuan migrate failed:\n{migrate.stdout}{migrate.stderr}")
        yield database
    finally:
        if database.vendor == "postgresql":
            _pg_admin(database.admin_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


@pytest.fixture
def worker_database(migrated_database: WorkerDatabase, tmp_path: Path) -> Iterator[WorkerDatabase]:
    """A migrated database of this test's own: a SQLite file, or a new database on the suite's PostgreSQL."""
    if migrated_database.vendor == "sqlite":
        path = tmp_path / "worker.sqlite3"
        source = sqlite3.connect(migrated_database.url.removeprefix("sqlite:///"))
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        yield WorkerDatabase(f"sqlite:///{path}", vendor="sqlite")
        return
    name = f"hk_worker_{uuid.uuid4().hex[:10]}"
    _pg_admin(migrated_database.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_database.name}"')
    try:
        yield WorkerDatabase(
            migrated_database.url.rpartition("/")[0] + f"/{name}",
            vendor="postgresql",
            admin_url=migrated_database.admin_url,
            name=name,
        )
    finally:
        _pg_admin(migrated_database.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker_env(database_url: str, tmp_path: Path, *, broker: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        HUIKUAN_DATABASE_URL=database_url,
        HUIKUAN_BROKER_URL=broker,
        HUIKUAN_HOME=str(tmp_path / "home"),
        HUIKUAN_SECRET_KEY="test-worker",
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def huikuan(
    args: list[str], *, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the `huikuan` command in a subprocess; return its exit code and output."""
    return subprocess.run(  # noqa: S603 - fixed arguments
        [str(BIN / "huikuan"), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def wait_for(condition: Callable[[], Any], *, log: Path, what: str, timeout: float = TASK_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
