"""Settings as a user meets them: the real `huikuan` command run with a fresh HUIKUAN_HOME.

pytest-django's own SQLite test database lives in memory, where journal modes and key files do
not show; so these tests run the installed command in a subprocess against a throw-away home.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HUIKUAN = Path(sys.executable).with_name("huikuan")


def _environment(home: Path | None, **extra: str) -> dict[str, str]:
    """Return the environment of a first-time user: no HUIKUAN_* settings except those given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUIKUAN_")}
    if home is not None:
        env["HUIKUAN_HOME"] = str(home)
    env.update(extra)
    return env


def _huikuan(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUIKUAN), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _python_in_django(code: str, env: dict[str, str]) -> str:
    """Return what `code` prints when run inside the configured project."""
    result = _huikuan("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_migrate_creates_the_default_sqlite_file_in_wal_mode(home: Path) -> None:
    result = _huikuan("migrate", "--no-input", env=_environment(home))

    assert result.returncode == 0, result.stderr
    database = home / "huikuan.sqlite3"
    assert database.is_file()
    with sqlite3.connect(database) as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_sqlite_connections_wait_for_a_busy_database_and_enforce_foreign_keys(home: Path) -> None:
    printed = _python_in_django(
        "from django.db import connection\n"
        "cursor = connection.cursor()\n"
        "print(cursor.execute('PRAGMA busy_timeout').fetchone()[0])\n"
        "print(cursor.execute('PRAGMA foreign_keys').fetchone()[0])\n"
        "print(cursor.execute('PRAGMA journal_mode').fetchone()[0])",
        env=_environment(home),
    )

    busy_timeout_ms, foreign_keys, journal_mode = printed.splitlines()
    assert int(busy_timeout_ms) >= 5000
    assert foreign_keys == "1"
    assert journal_mode == "wal"


def test_a_command_on_an_unmigrated_database_says_so_in_one_line(home: Path) -> None:
    result = _huikuan("aging", env=_environment(home))

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "huikuan migrate" in lines[0]


def test_a_commands_help_works_before_the_database_is_set_up(home: Path) -> None:
    result = _huikuan("aging", "--help", env=_environment(home))

    assert result.returncode == 0, result.stderr
    assert "--as-of" in result.stdout


def test_an_unreachable_database_is_reported_in_one_line(home: Path) -> None:
    missing_folder = home / "no" / "such" / "folder" / "db.sqlite3"
    env = _environment(home, HUIKUAN_DATABASE_URL=f"sqlite:///{missing_folder}")

    result = _huikuan("aging", env=env)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_generated_secret_key_is_written_once_and_reused(home: Path) -> None:
    show_key = "from django.conf import settings; print(settings.SECRET_KEY)"

    first = _python_in_django(show_key, env=_environment(home))
    second = _python_in_django(show_key, env=_environment(home))

    key_file = home / "secret_key"
    assert first == second == key_file.read_text().strip()
    assert len(first) >= 40
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_configured_secret_key_is_used_and_nothing_is_generated(home: Path) -> None:
    show_key = "from django.conf import settings; print(settings.SECRET_KEY)"

    printed = _python_in_django(show_key, env=_environment(home, HUIKUAN_SECRET_KEY="configured-key"))

    assert printed == "configured-key"
    assert not (home / "secret_key").exists()


def test_home_defaults_to_the_per_user_data_folder(tmp_path: Path) -> None:
    env = _environment(None, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "data"))

    printed = _python_in_django(
        "from django.conf import settings; print(settings.HUIKUAN_HOME); "
        "print(settings.DATABASES['default']['NAME'])",
        env=env,
    )

    home_setting, database_name = printed.splitlines()
    assert Path(home_setting) == tmp_path / "data" / "huikuan"
    assert Path(database_name) == tmp_path / "data" / "huikuan" / "huikuan.sqlite3"
    assert (tmp_path / "data" / "huikuan" / "secret_key").is_file()
