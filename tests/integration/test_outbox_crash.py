"""A delivery killed with SIGKILL half-way through a batch, then run again, delivers everything,
and nothing twice except the messages that were in flight — resent with the same Message-ID.

The delivery runs as a real ``huikuan outbox deliver`` process against a database file (SQLite)
or a database of its own on the PostgreSQL server the suite runs on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.smtp import smtp_server_start

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 60
BATCH = 10
LEASE_SECONDS = 3

SEED = f"""
import django
django.setup()
from tests.outbox import customer_with_contact, message_queue, templates_create
templates_create()
for _ in range({MESSAGES}):
    customer, _ = customer_with_contact()
    message_queue(customer)
"""

STATE = """
import django, json
django.setup()
from huikuan.messaging.models import OutboxMessage
print(json.dumps({m: s for m, s in OutboxMessage.objects.values_list("message_id", "status")}))
"""


def _python(env: dict[str, str], code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _huikuan(*args: str) -> list[str]:
    return [sys.executable, "-c", "from huikuan.cli import main; main()", *args]


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the suite's kind that a separate process can open."""
    configured = os.environ.get("HUIKUAN_DATABASE_URL", "")
    if not configured.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'outbox-crash.sqlite3'}"
        return
    import psycopg

    name = f"test_hk_outbox_crash_{uuid.uuid4().hex[:8]}"
    parts = urlsplit(configured)
    with psycopg.connect(configured, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(configured, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_delivery_killed_mid_batch_and_restarted_delivers_everything_and_only_in_flight_ones_twice(
    database_url, tmp_path
):
    server, controller = smtp_server_start(delay=0.05)  # a slow server: the kill lands mid-batch
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "HUIKUAN_DATABASE_URL": database_url,
            "HUIKUAN_HOME": str(tmp_path / "home"),
            "HUIKUAN_SECRET_KEY": "outbox-crash-test",
            "HUIKUAN_EMAIL_URL": server.url,
            "HUIKUAN_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        subprocess.run(_huikuan("migrate", "-v0"), cwd=ROOT, env=env, check=True, timeout=300)
        _python(env, SEED)
        deliver = _huikuan("outbox", "deliver", "--batch-size", str(BATCH), "--format", "json")

        process = subprocess.Popen(deliver, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        # Kill it inside the third batch: two batches recorded, the third half sent.
        while len(server.mailbox.messages) < 2 * BATCH + BATCH // 2:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the delivery did not get going"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        before = json.loads(_python(env, STATE))
        received_before = server.mailbox.counts()

        in_flight = {m for m, status in before.items() if status == "SENDING"}
        assert 0 < len(in_flight) <= BATCH
        assert any(status == "QUEUED" for status in before.values())

        time.sleep(LEASE_SECONDS + 0.5)  # the dead process's claim lapses
        done = subprocess.run(deliver, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        after = json.loads(_python(env, STATE))
    finally:
        controller.stop()

    received = server.mailbox.counts()
    assert set(after.values()) == {"SENT"}
    assert set(received) == set(after) and len(received) == MESSAGES  # every message arrived
    twice = {message_id for message_id, n in received.items() if n > 1}
    assert max(received.values()) <= 2
    assert twice <= in_flight & set(received_before)  # only ones the server had when the process died
    for message_id, status in before.items():
        if status == "SENT":
            assert received[message_id] == 1
    assert report["resent"] == len(in_flight)
    assert report["sent"] == MESSAGES - sum(1 for status in before.values() if status == "SENT")
