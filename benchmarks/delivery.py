"""Benchmark delivery: render and send N dunning e-mails to an SMTP server on loopback.

For each database (a SQLite file; PostgreSQL when HUIKUAN_BENCH_POSTGRES_URL names a server whose
user may create databases) it builds a fresh database, writes N customers with a contact and
three invoices each five days overdue, lets the dunning run queue one e-mail per customer (the
"friendly" stage, shipped templates, half in Chinese and half in English), then times
``outbox_deliver`` sending them all to an aiosmtpd server running in its own process on
127.0.0.1. The server counts what it accepts; the figure is messages per second of wall time.

Usage: python benchmarks/delivery.py [--messages 10000] [--batch-size 100] [--only sqlite|postgres]
Writes benchmarks/results/delivery.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2026-11-23"

SERVER = """
import asyncio, sys, threading, time
from aiosmtpd.controller import Controller

class Counter:
    def __init__(self):
        self.count = 0
    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"

handler = Counter()
controller = Controller(handler, hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    print(handler.count, time.process_time(), flush=True)
"""

PROBE = """
import json, os, resource, sys, time
from datetime import UTC, date, datetime, timedelta
import django
django.setup()
from django.db import transaction
from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import Invoice
from huikuan.dunning.engine import dunning_run
from huikuan.messaging.delivery import outbox_deliver
from huikuan.messaging.models import OutboxMessage

count, batch_size = int(sys.argv[1]), int(sys.argv[2])
as_of = date.fromisoformat(sys.argv[3])
due = as_of - timedelta(days=5)
with transaction.atomic():
    customers = Customer.objects.bulk_create(
        Customer(code=f"D{n:06d}", name=f"Delivery Customer {n}", country="CN", grade="B",
                 language="zh-hans" if n % 2 else "en")
        for n in range(count)
    )
    Contact.objects.bulk_create(
        Contact(customer=c, name=f"Finance {n}", email=f"ap{n}@customer{n}.example", is_primary=True)
        for n, c in enumerate(customers)
    )
    Invoice.objects.bulk_create(
        Invoice(number=f"D{n:06d}-{k}", customer=c, issue_date=due - timedelta(days=30), due_date=due,
                currency="CNY", amount_minor=100_000 + k, open_minor=100_000 + k)
        for n, c in enumerate(customers) for k in range(3)
    )
dunning_run(as_of=as_of, now=datetime.combine(as_of, datetime.min.time(), tzinfo=UTC))
queued = OutboxMessage.objects.filter(channel="EMAIL", status="QUEUED").count()
started, started_cpu = time.perf_counter(), time.process_time()
deliver = lambda: outbox_deliver(now=datetime.now(UTC) + timedelta(days=30), channels=["EMAIL"], batch_size=batch_size)
if os.environ.get("BENCH_PROFILE"):
    import cProfile, pstats
    profile = cProfile.Profile()
    report = profile.runcall(deliver)
    pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
else:
    report = deliver()
elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
print(json.dumps({"queued": queued, "sent": report.sent, "failed": report.failed, "retrying": report.retrying,
                  "seconds": elapsed, "cpu_seconds": cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_database(kind: str, workdir: Path, postgres_url: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'delivery.sqlite3'}"
    assert postgres_url
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute('DROP DATABASE IF EXISTS "huikuan_bench_delivery" WITH (FORCE)')
        admin.execute('CREATE DATABASE "huikuan_bench_delivery"')
    return urlunsplit(urlsplit(postgres_url)._replace(path="/huikuan_bench_delivery"))


def measure(kind: str, *, messages: int, batch_size: int, postgres_url: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="huikuan-delivery-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "HUIKUAN_HOME": str(workdir / "home"),
            "HUIKUAN_SECRET_KEY": "benchmark",
            "HUIKUAN_DATABASE_URL": fresh_database(kind, workdir, postgres_url),
            "HUIKUAN_EMAIL_URL": f"smtp://127.0.0.1:{port}",
            "HUIKUAN_EMAIL_FROM": "ar@company.example",
        }
        subprocess.run([sys.executable, "-m", "huikuan.cli", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None and server.stdin is not None
            assert server.stdout.readline().strip() == "ready"
            load_before = os.getloadavg()[0]
            probe = subprocess.run(
                [sys.executable, "-c", PROBE, str(messages), str(batch_size), AS_OF],
                cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            result = json.loads(probe.stdout.strip().splitlines()[-1])
            # The machine's 1-minute load average before and after: the figures mean little
            # when other work shares the cores.
            result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            server.stdin.write("count\n")
            server.stdin.flush()
            received, server_cpu = server.stdout.readline().split()
            result["received"] = int(received)
            result["server_cpu_seconds"] = round(float(server_cpu), 2)
        finally:
            server.kill()
            server.wait()
    result["per_second"] = round(result["sent"] / result["seconds"], 1)
    result["database"] = kind
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    postgres_url = os.environ.get("HUIKUAN_BENCH_POSTGRES_URL")
    kinds = [args.only] if args.only else ["sqlite"] + (["postgres"] if postgres_url else [])
    results = []
    for kind in kinds:
        print(f"{kind}: {args.messages} e-mails …", file=sys.stderr, flush=True)
        results.append(
            measure(kind, messages=args.messages, batch_size=args.batch_size, postgres_url=postgres_url)
        )
    print(
        f"{'database':<10} {'queued':>7} {'sent':>7} {'received':>9} {'seconds':>8} {'per s':>7} {'CPU s':>7} "
        f"{'ms/mail':>8} {'peak MB':>8} {'load':>11}"
    )
    for r in results:
        print(
            f"{r['database']:<10} {r['queued']:>7} {r['sent']:>7} {r['received']:>9} {r['seconds']:>8.1f} "
            f"{r['per_second']:>7.0f} {r['cpu_seconds']:>7.1f} {r['cpu_seconds'] / max(r['sent'], 1) * 1000:>8.2f} "
            f"{r['peak_rss_mb']:>8.0f} {r['load_average'][0]:>5.2f}-{r['load_average'][1]:<5.2f}"
        )
    out = HERE / "results" / "delivery.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "system": platform.system(),
                },
                "messages": args.messages,
                "batch_size": args.batch_size,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
