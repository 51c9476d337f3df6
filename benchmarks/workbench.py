"""Benchmark the collector's workbench: worklist and customer 360 under 20 concurrent users.

On PostgreSQL (HUIKUAN_BENCH_POSTGRES_URL names a server whose user may create databases) it
builds the database ``huikuan_bench_workbench``: 100,000 customers and 1,000,000 open invoices
(the dunning benchmark's portfolio, ``benchmarks/dunning.py``), imported with ``huikuan import``,
payments for some of them (``huikuan import payments``, which leaves short payments), then

- collectors (100 by default) each assigned an equal share of the customers (1,000 each), a
  manager, one finance contact per customer;
- three logged calls per customer over the previous two months; promises to pay for one
  customer in ten (some already past their date), disputes for one in thirty;
- the collections review and the dunning run once a week for six weeks up to 2026-11-23,
  which write the call and visit tasks, broken-promise and dispute tasks and the messages waiting for approval that make up a
  collector's worklist;

then ``VACUUM (ANALYZE)``. It starts the web application (``huikuan serve`` when the command
exists, otherwise gunicorn on ``config.wsgi``) and lets locust drive N simulated users (20 by
default), each signed in as a different collector, who open their worklist and then customers
from it (or others of theirs), with a think time between clicks. A warm-up run comes first and
is not counted. It prints p50/p95/p99, errors and requests per second per page and writes
``benchmarks/results/workbench.json``.

Usage:
    .venv/bin/pip install -e '.[bench]'          # locust
    HUIKUAN_BENCH_POSTGRES_URL=postgres://huikuan:huikuan@127.0.0.1:55432/huikuan \\
        .venv/bin/python benchmarks/workbench.py --workdir /tmp/workbench-bench
    # again, on the database built before (migrated, nothing re-imported):
    ... benchmarks/workbench.py --workdir /tmp/workbench-bench --reuse [--duration 60] [--users 20]

``--locust PATH`` names the locust command when it is not beside this Python.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HUIKUAN = [sys.executable, "-m", "huikuan.cli"]
AS_OF = date(2026, 11, 23)  # a Monday, a working day in China
DATABASE = "huikuan_bench_workbench"
PASSWORD = "Workbench-Bench-1"
PAGES = ("worklist", "customer 360")
TARGET_P95_MS = 150
RUN_WEEKS = 6

SEED = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from benchmarks.workbench import seed_workbench
print(json.dumps(seed_workbench(collectors=int(sys.argv[1]), password=sys.argv[2], seed=int(sys.argv[3]))))
"""


# ---------------------------------------------------------------------------------------------
# The data


def write_payments(folder: Path, *, share: float, seed: int) -> int:
    """Payments for a share of the invoices: two in three paid in full, the rest in part."""
    rng = random.Random(seed)
    count = 0
    with (
        (folder / "invoices.csv").open(newline="", encoding="utf-8") as source,
        (folder / "payments.csv").open("w", newline="", encoding="utf-8") as target,
    ):
        writer = csv.writer(target)
        writer.writerow(
            ["payment_date", "customer_code", "currency", "amount", "invoice_number", "payment_id"]
        )
        for row in csv.DictReader(source):
            if rng.random() >= share:
                continue
            due = date.fromisoformat(row["due_date"])
            issued = date.fromisoformat(row["issue_date"])
            paid = min(AS_OF - timedelta(days=1), due + timedelta(days=rng.randrange(-10, 40)))
            if paid < issued:
                continue
            cents = int(row["amount"].replace(".", ""))
            if rng.random() < 1 / 3:
                cents = max(1, cents * rng.randrange(30, 90) // 100)
            count += 1
            writer.writerow(
                [paid.isoformat(), row["customer_code"], row["currency"], f"{cents // 100}.{cents % 100:02d}",
                 row["invoice_number"], f"WB{count:08d}"]
            )  # fmt: skip
    return count


def seed_workbench(*, collectors: int, password: str, seed: int) -> dict[str, Any]:
    """Collectors and their customers, contacts, calls, promises, disputes; then the reviews and the run.

    Bulk writes straight to the tables (this is benchmark data, not a ledger anyone keeps); the
    reviews and the dunning run are the real ones. Runs once per database: a second call reports
    what is there.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from huikuan.accounts.models import Profile, Role
    from huikuan.collections.models import (
        Dispute,
        DisputeReason,
        Interaction,
        InteractionKind,
        InteractionOutcome,
        PromiseMethod,
        PromiseToPay,
        Task,
        TaskKind,
        TaskStatus,
    )
    from huikuan.customers.models import Contact, Customer
    from huikuan.dunning.engine import dunning_run
    from huikuan.ledger.models import Invoice

    user_model = get_user_model()
    if user_model.objects.filter(username="collector001").exists():
        return {"seeded": "before", **_counts()}
    rng = random.Random(seed)
    started = time.perf_counter()
    hashed = make_password(password)
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            user_model(username=f"collector{k + 1:03d}", password=hashed, first_name=f"Collector {k + 1}")
            for k in range(collectors)
        )
        manager = user_model.objects.create(username="manager", password=hashed, first_name="Manager")
        Profile.objects.bulk_create(Profile(user=user, role=Role.COLLECTOR) for user in users)
        Profile.objects.create(user=manager, role=Role.MANAGER)
        customer_ids = list(Customer.objects.order_by("code").values_list("id", flat=True))
        share = -(-len(customer_ids) // collectors)
        collector_of: dict[int, Any] = {}
        for k, user in enumerate(users):
            ids = customer_ids[k * share : (k + 1) * share]
            Customer.objects.filter(id__in=ids).update(collector=user)
            collector_of.update((customer_id, user) for customer_id in ids)
        Contact.objects.bulk_create(
            (
                Contact(
                    customer_id=customer_id,
                    name=f"财务 {n}",
                    email=f"finance{n}@example.cn",
                    phone=f"+86 138 {n:08d}",
                    is_primary=True,
                )
                for n, customer_id in enumerate(customer_ids)
            ),
            batch_size=5000,
        )
    outcomes = [InteractionOutcome.NO_ANSWER, InteractionOutcome.REACHED, InteractionOutcome.PROMISED]
    with transaction.atomic():
        Interaction.objects.bulk_create(
            (
                Interaction(
                    customer_id=customer_id,
                    kind=InteractionKind.CALL,
                    outcome=outcomes[n],
                    notes="Spoke to accounts payable about the overdue invoices.",
                    user=collector_of[customer_id],
                    occurred_at=datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
                    + timedelta(days=20 * n + customer_id % 17),
                )
                for customer_id in customer_ids
                for n in range(3)
            ),
            batch_size=5000,
        )
    # The open invoices of a sample of customers: promises for one in ten, disputes for one in thirty.
    promised = rng.sample(customer_ids, len(customer_ids) // 10)
    disputed = rng.sample(customer_ids, len(customer_ids) // 30)
    # Each sampled customer's open invoice due first (rows come latest first; the last one stays).
    first_invoice: dict[int, int] = {}
    for customer_id, invoice_id in (
        Invoice.objects.filter(customer_id__in=set(promised) | set(disputed), open_minor__gt=0)
        .order_by("-due_date", "-id")
        .values_list("customer_id", "id")
    ):
        first_invoice[customer_id] = invoice_id
    open_minor = dict(Invoice.objects.filter(id__in=first_invoice.values()).values_list("id", "open_minor"))
    with transaction.atomic():
        promises = PromiseToPay.objects.bulk_create(
            (
                PromiseToPay(
                    customer_id=customer_id,
                    currency="CNY",
                    amount_minor=open_minor[first_invoice[customer_id]],
                    promised_date=AS_OF + timedelta(days=rng.randrange(-20, 10)),
                    made_date=AS_OF - timedelta(days=25),
                    promised_by="王会计",
                    method=PromiseMethod.PHONE,
                    created_by=collector_of[customer_id],
                )
                for customer_id in promised
                if customer_id in first_invoice
            ),
            batch_size=5000,
        )
        PromiseToPay.invoices.through.objects.bulk_create(
            (
                PromiseToPay.invoices.through(
                    promisetopay_id=promise.id, invoice_id=first_invoice[promise.customer_id]
                )
                for promise in promises
            ),
            batch_size=5000,
        )
        reasons = list(DisputeReason.values)
        disputes = Dispute.objects.bulk_create(
            (
                Dispute(
                    invoice_id=first_invoice[customer_id],
                    customer_id=customer_id,
                    reason=rng.choice(reasons),
                    opened_date=AS_OF - timedelta(days=rng.randrange(0, 30)),
                    owner=collector_of[customer_id],
                    raised_by=collector_of[customer_id],
                )
                for customer_id in disputed
                if customer_id in first_invoice
            ),
            batch_size=5000,
        )
        Task.objects.bulk_create(
            (
                Task(
                    kind=TaskKind.DISPUTE,
                    customer_id=dispute.customer_id,
                    assignee=dispute.owner,
                    due_date=dispute.opened_date,
                    title="New dispute",
                    dispute=dispute,
                )
                for dispute in disputes
            ),
            batch_size=5000,
        )
    # A run a week for six weeks up to AS_OF, so that customers stand at every stage of their
    # ladder (a first run alone would put every overdue invoice on its first stage); the daily
    # reviews before the last one, as the worker runs them.
    runs = []
    for weeks in range(RUN_WEEKS, -1, -1):
        as_of = AS_OF - timedelta(days=7 * weeks)
        if weeks == 0:
            review = collections_reviews(as_of=as_of)
        runs.append(
            dunning_run(
                as_of=as_of,
                now=datetime.combine(as_of - timedelta(days=1), datetime.min.time(), tzinfo=UTC),
                list_actions=False,
                triggered_by="benchmark",
            )
        )
    # Collectors did the calls and visits of the weeks before the last two.
    Task.objects.filter(
        status=TaskStatus.OPEN,
        kind__in=[TaskKind.CALL, TaskKind.VISIT],
        due_date__lt=AS_OF - timedelta(days=14),
    ).update(status=TaskStatus.DONE, completed_at=datetime(2026, 11, 10, 8, 0, tzinfo=UTC))
    return {
        "seeded": "now",
        "seed_s": round(time.perf_counter() - started, 1),
        "review": review,
        "run_actions": sum(run.actions_created for run in runs),
        "run_tasks": sum(run.tasks_created for run in runs),
        "run_messages": sum(run.messages_created for run in runs),
        **_counts(),
    }


def collections_reviews(*, as_of: date) -> dict[str, Any]:
    """Run the day's collections review (promises, plans, short payments), as the worker does."""
    from huikuan.collections import services

    review = getattr(services, "collections_review", None)
    if review is not None:
        return {
            key: value for key, value in review(as_of=as_of).items() if isinstance(value, int | str | dict)
        }
    done: dict[str, Any] = {}
    for name in ("promises_review", "plans_review", "short_payments_to_tasks"):
        function = getattr(services, name, None)
        if function is not None:
            done[name] = function(as_of=as_of)
    return done


def _counts() -> dict[str, Any]:
    """What a collector's worklist draws from, in all and for the busiest and quietest collector."""
    from django.db.models import Count

    from huikuan.collections.models import Interaction, PromiseToPay, Task, TaskStatus
    from huikuan.ledger.models import Invoice
    from huikuan.messaging.models import OutboxMessage, OutboxStatus

    open_tasks = Task.objects.filter(status=TaskStatus.OPEN)
    per_collector = list(
        open_tasks.values("assignee").annotate(n=Count("id")).order_by("n").values_list("n", flat=True)
    )
    return {
        "open_invoices": Invoice.objects.filter(open_minor__gt=0).count(),
        "open_tasks": open_tasks.count(),
        "open_tasks_by_kind": dict(open_tasks.values_list("kind").annotate(n=Count("id")).order_by("kind")),
        "open_tasks_per_collector": {
            "min": per_collector[0] if per_collector else 0,
            "median": per_collector[len(per_collector) // 2] if per_collector else 0,
            "max": per_collector[-1] if per_collector else 0,
        },
        "awaiting_approval": OutboxMessage.objects.filter(status=OutboxStatus.AWAITING_APPROVAL).count(),
        "interactions": Interaction.objects.count(),
        "promises_by_status": dict(
            PromiseToPay.objects.values_list("status").annotate(n=Count("id")).order_by("status")
        ),
    }


def database_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


def build(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """Make (or, with --reuse, migrate) the benchmark database; return what it holds."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.dunning import write_portfolio
    from benchmarks.foundation import run_measured

    timings: dict[str, float] = {}
    if not args.reuse:
        import psycopg

        write_portfolio(workdir, customers=args.customers, invoices=args.invoices, seed=args.seed)
        payments = write_payments(workdir, share=args.paid_share, seed=args.seed)
        print(
            f"wrote {args.customers:,} customers, {args.invoices:,} invoices, {payments:,} payments",
            file=sys.stderr,
        )
        with psycopg.connect(os.environ["HUIKUAN_BENCH_POSTGRES_URL"], autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {args.database}")
            connection.execute(f"CREATE DATABASE {args.database}")
    run_measured([*HUIKUAN, "migrate", "-v0"], env)
    if not args.reuse:
        for what in ("customers", "invoices", "payments"):
            seconds, _peak, _out = run_measured(
                [*HUIKUAN, "import", what, str(workdir / f"{what}.csv"), "--no-progress"], env
            )
            timings[f"import_{what}_s"] = round(seconds, 1)
            print(f"  imported {what} in {seconds:.0f} s", file=sys.stderr)
    seconds, _peak, out = run_measured(
        [sys.executable, "-c", SEED, str(args.collectors), PASSWORD, str(args.seed)], env
    )
    seeded = json.loads(out)
    print(f"  seeded in {seconds:.0f} s: {seeded}", file=sys.stderr)
    if seeded.get("seeded") == "now" or not args.reuse:
        import psycopg

        with psycopg.connect(env["HUIKUAN_DATABASE_URL"], autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")
    return {**timings, **seeded}


# ---------------------------------------------------------------------------------------------
# The server and the load


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def has_serve_command(env: dict[str, str]) -> bool:
    probe = subprocess.run(
        [*HUIKUAN, "serve", "--help"], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    return probe.returncode == 0


def start_server(
    args: argparse.Namespace, env: dict[str, str], port: int, log: Path
) -> tuple[subprocess.Popen, list[str]]:
    if not args.gunicorn and has_serve_command(env):
        command = [*HUIKUAN, "serve", "--host", "127.0.0.1", "--port", str(port)]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.threads:
            command += ["--threads", str(args.threads)]
    else:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        command = [
            gunicorn, "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers or 2 * (os.cpu_count() or 1) + 1), "--access-logfile", "-",
        ]  # fmt: skip
    handle = log.open("w")
    process = subprocess.Popen(
        command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {process.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as answer:
                if answer.status == 200:
                    return process, command
        except OSError:
            time.sleep(0.5)
    stop_server(process)
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def locust_command(args: argparse.Namespace) -> str:
    if args.locust:
        return args.locust
    found = shutil.which("locust", path=str(Path(sys.executable).parent)) or shutil.which("locust")
    if not found:
        raise SystemExit(
            "locust is not installed: .venv/bin/pip install -e '.[bench]' (or pass --locust PATH)"
        )
    return found


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group (the server's)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the PostgreSQL server on this machine: its live processes, and
    through the postmaster's children's times the backends that have ended (one a request when
    connections are not kept)."""
    processes: dict[str, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name == "postgres":
            processes[stat.parent.name] = rest.split()
    total = 0
    for fields in processes.values():
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if fields[1] not in processes:  # the postmaster: its ended children's times too
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's ended children (locust, once it has run)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def probe_alone(port: int, collectors: int, customers: int, count: int) -> dict[str, dict[str, float]]:
    """Time each page requested alone, one after the other by one signed-in collector (no other load
    from this benchmark): what a page costs before anyone queues for the cores."""
    import http.cookiejar
    import re
    import statistics
    from urllib.parse import urlencode

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    form = opener.open(f"{base}/accounts/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    data = {
        "username": "collector001",
        "password": PASSWORD,
        "next": "/",
        "csrfmiddlewaretoken": token.group(1) if token else "",
    }
    opener.open(f"{base}/accounts/login/", data=urlencode(data).encode(), timeout=30).read()
    share = -(-customers // collectors)
    rng = random.Random(7)
    urls = {
        "worklist": ["/"] * count,
        "customer 360": [f"/customers/D{rng.randrange(share):07d}/" for _ in range(count)],
    }
    timings: dict[str, dict[str, float]] = {}
    for name, paths in urls.items():
        seconds = []
        for path in paths:
            started = time.perf_counter()
            with opener.open(f"{base}{path}", timeout=60) as answer:
                answer.read()
                assert answer.status == 200 and answer.geturl().endswith(path), (path, answer.geturl())
            seconds.append(time.perf_counter() - started)
        seconds.sort()
        timings[name] = {
            "requests": len(seconds),
            "p50_ms": round(statistics.median(seconds) * 1000, 1),
            "p95_ms": round(seconds[int(0.95 * (len(seconds) - 1))] * 1000, 1),
            "min_ms": round(seconds[0] * 1000, 1),
        }
    return timings


def run_locust(
    args: argparse.Namespace, port: int, seconds: int, prefix: Path, env: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Run locust headless for some seconds; return its figures per request name."""
    command = [
        locust_command(args), "-f", str(HERE / "workbench_locustfile.py"), "--headless",
        "--users", str(args.users), "--spawn-rate", str(args.users), "--run-time", f"{seconds}s",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
        "--loglevel", "WARNING", "--stop-timeout", "10",
    ]  # fmt: skip
    locust_env = {
        **env,
        "WORKBENCH_COLLECTORS": str(args.collectors),
        "WORKBENCH_CUSTOMERS": str(args.customers),
        "WORKBENCH_PASSWORD": PASSWORD,
        "WORKBENCH_THINK_S": str(args.think),
    }
    subprocess.run(command, env=locust_env, check=False, cwd=ROOT, stdout=subprocess.DEVNULL)
    rows: dict[str, dict[str, Any]] = {}
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["50%"] == "N/A":
                continue
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "max_ms": float(row["Max Response Time"]),
                "mean_ms": round(float(row["Average Response Time"]), 1),
                "rps": round(float(row["Requests/s"]), 1),
            }
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--collectors", type=int, default=100)
    parser.add_argument("--paid-share", type=float, default=0.05, help="share of invoices with a payment")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users")
    parser.add_argument("--duration", type=int, default=60, help="seconds measured")
    parser.add_argument("--warmup", type=int, default=15, help="seconds of load before, not counted")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds a user waits between clicks")
    parser.add_argument("--probe", type=int, default=30, help="requests per page timed alone before the load")
    parser.add_argument(
        "--workers", type=int, default=0, help="server worker processes (default: the server's)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per server worker (default: the server's)"
    )
    parser.add_argument("--gunicorn", action="store_true", help="run gunicorn directly, not huikuan serve")
    parser.add_argument("--locust", help="the locust command (default: beside this Python, then PATH)")
    parser.add_argument("--workdir", type=Path, help="keep data, logs and locust's CSV here")
    parser.add_argument("--reuse", action="store_true", help="reuse the database an earlier run built")
    parser.add_argument("--database", default=DATABASE, help=f"the database's name (default {DATABASE})")
    parser.add_argument("--build-only", action="store_true", help="build the database, measure nothing")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "workbench.json")
    args = parser.parse_args()
    server_url = os.environ.get("HUIKUAN_BENCH_POSTGRES_URL")
    if not server_url:
        parser.error("set HUIKUAN_BENCH_POSTGRES_URL to a PostgreSQL server whose user may create databases")
    if not args.build_only:
        locust_command(args)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-workbench-bench-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "HUIKUAN_DATABASE_URL": database_url(server_url, args.database),
        "HUIKUAN_HOME": str(workdir),
        "HUIKUAN_STATIC_ROOT": str(workdir / "static"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("HUIKUAN_DEBUG", None)
    data = build(args, workdir, env)
    if args.build_only:
        print(json.dumps(data, indent=2))
        return

    port = free_port()
    server, command = start_server(args, env, port, workdir / "server.log")
    try:
        print(f"server: {' '.join(command)}", file=sys.stderr)
        print(f"warm-up: {args.warmup} s, {args.users} users…", file=sys.stderr)
        run_locust(args, port, args.warmup, workdir / "warmup", env)
        alone = probe_alone(port, args.collectors, args.customers, args.probe) if args.probe else {}
        load_before = os.getloadavg()
        cpu_before = group_cpu_seconds(server.pid)
        postgres_before = postgres_cpu_seconds()
        locust_before = children_cpu_seconds()
        print(f"measuring: {args.duration} s, {args.users} users…", file=sys.stderr)
        started = time.perf_counter()
        rows = run_locust(args, port, args.duration, workdir / "locust", env)
        elapsed = time.perf_counter() - started
        server_cpu = group_cpu_seconds(server.pid) - cpu_before
        postgres_cpu = postgres_cpu_seconds() - postgres_before
        locust_cpu = children_cpu_seconds() - locust_before
        load_after = os.getloadavg()
    finally:
        stop_server(server)

    print(
        f"\n{'page':<14} {'requests':>9} {'errors':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for name in (*PAGES, "Aggregated"):
        row = rows.get(name)
        if row:
            print(
                f"{name:<14} {row['requests']:>9} {row['errors']:>7} {row['rps']:>7} {row['p50_ms']:>7.0f} "
                f"{row['p95_ms']:>7.0f} {row['p99_ms']:>7.0f} {row['max_ms']:>7.0f}"
            )
    met = all(
        name in rows and rows[name]["p95_ms"] <= TARGET_P95_MS and rows[name]["errors"] == 0 for name in PAGES
    )
    print(f"target p95 ≤ {TARGET_P95_MS} ms and no errors: {'met' if met else 'NOT met'}")
    total = rows.get("Aggregated", {}).get("requests", 0)
    cpu_per_request = server_cpu / total * 1000 if total else 0.0
    print(
        f"server CPU: {server_cpu:.1f} s for {total} requests ({cpu_per_request:.0f} ms a request, sign-in included)"
    )
    if total:
        print(
            f"PostgreSQL CPU: {postgres_cpu:.1f} s ({postgres_cpu / total * 1000:.0f} ms a request); "
            f"locust CPU: {locust_cpu:.1f} s ({locust_cpu / total * 1000:.0f} ms a request); "
            f"{(server_cpu + postgres_cpu + locust_cpu) / elapsed:.2f} of {os.cpu_count()} cores busy"
        )
    for name, row in alone.items():
        print(
            f"{name} alone: p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms ({row['requests']} requests)"
        )
    print(f"load average: {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)")
    result = {
        "benchmark": "workbench",
        "date": datetime.now(UTC).date().isoformat(),
        "as_of": AS_OF.isoformat(),
        "customers": args.customers,
        "invoices": args.invoices,
        "collectors": args.collectors,
        "users": args.users,
        "think_s": args.think,
        "duration_s": round(elapsed, 1),
        "server": command[2:] if command[:2] == HUIKUAN[:2] else command,
        "load_average": {"before": load_before, "after": load_after},
        "server_cpu_s": round(server_cpu, 1),
        "server_cpu_ms_per_request": round(cpu_per_request, 1),
        "postgres_cpu_s": round(postgres_cpu, 1),
        "locust_cpu_s": round(locust_cpu, 1),
        "pages_alone": alone,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "data": data,
        "pages": rows,
        "target_met": met,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
