"""Two `huikuan dunning run` processes started together: one acts, the other finds its run.

Real processes on a real database file (SQLite) or a database of its own on the PostgreSQL
server the suite runs against, because the suite's own test database lives inside a transaction
other processes cannot see.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

AS_OF = "2026-11-23"
HUIKUAN = [str(Path(sys.executable).parent / "huikuan")]


@pytest.fixture
def separate_database(tmp_path):
    """A database URL no test transaction wraps, dropped afterwards."""
    url = os.environ.get("HUIKUAN_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'runs.sqlite3'}"
        return
    import psycopg

    name = f"hk_runs_{uuid.uuid4().hex[:10]}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def huikuan(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HUIKUAN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_two_runs_started_together_act_once(tmp_path, separate_database):
    env = {**os.environ, "HUIKUAN_DATABASE_URL": separate_database, "HUIKUAN_HOME": str(tmp_path / "home")}
    assert huikuan(env, "migrate", "-v0").returncode == 0
    customers, invoices = tmp_path / "customers.csv", tmp_path / "invoices.csv"
    with customers.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "country", "grade"])
        writer.writerows([f"K{i:03d}", f"Kunde {i}", "CN", "B"] for i in range(200))
    with invoices.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"])
        writer.writerows(
            [f"R{i:05d}", f"K{i % 200:03d}", "2026-10-01", f"2026-11-{1 + i % 20:02d}", "CNY", "100.00"]
            for i in range(2000)
        )
    assert huikuan(env, "import", "customers", str(customers), "--no-progress").returncode == 0
    assert huikuan(env, "import", "invoices", str(invoices), "--no-progress").returncode == 0

    command = [*HUIKUAN, "dunning", "run", "--as-of", AS_OF, "--format", "json"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]

    assert [process.returncode for process in processes] == [0, 0], [err for _out, err in outputs]
    reports = [json.loads(out) for out, _err in outputs]
    assert sorted(report["already_ran"] for report in reports) == [False, True]
    acting = next(report for report in reports if not report["already_ran"])
    assert acting["created"] == 200  # the first stage, one e-mail per customer for all ten invoices
    assert reports[0]["run_id"] == reports[1]["run_id"]
    again = json.loads(huikuan(env, "dunning", "run", "--as-of", AS_OF, "--format", "json").stdout)
    assert again["created"] == 0 and again["already_ran"]
