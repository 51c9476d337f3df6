"""Benchmark the debtor classification of every overdue customer: M customers, N invoices.

The portfolio is the dunning benchmark's (``benchmarks/dunning.py``) with the credit benchmark's
history (``benchmarks/credit.py``: paid invoices, broken and kept promises, disputes, unanswered
calls), and on top of it, so that every rule has work: payments for one customer in four (one in
three of them short), a dunning action at a collector's stage a few days before each of them,
and the days the promises were given and broken. ``--from-sqlite FILE`` / ``--from-postgres DB`` copy a database that already holds such a
portfolio (the credit benchmark's) instead of building one; with ``--add-history`` the copy holds
the portfolio only (the dunning benchmark's) and gets the credit history here.

In a process of its own it then times, after ``VACUUM (ANALYZE)`` on PostgreSQL:

- gathering every overdue customer's facts (the aggregate queries alone);
- the first classification run (every classification written);
- the next day's run on an unchanged record (nothing to write).

Usage: python benchmarks/debtors.py [--invoices N] [--customers M] [--from-sqlite FILE] [--from-postgres DB]
       [--only sqlite|postgresql] [--workdir DIR]
PostgreSQL runs when HUIKUAN_BENCH_POSTGRES_URL names a server whose user may create databases.
Prints a table and writes benchmarks/results/debtors.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HUIKUAN = [sys.executable, "-m", "huikuan.cli"]
AS_OF = date(2026, 11, 30)
DATABASE = "huikuan_bench_debtors"

ESCALATION = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from datetime import date, timedelta
from django.db import connection, transaction
from huikuan.dunning.models import Stage
as_of = date.fromisoformat(sys.argv[1])
pg = connection.vendor == "postgresql"
now = "NOW()" if pg else "datetime('now')"
def day(expr, days):
    return f"({expr} + ({days}) * INTERVAL '1 day')::date" if pg else f"date({expr}, '{days:+d} days')"
stage = Stage.objects.select_related("policy").get(policy__code="standard", name="Formal notice")
with transaction.atomic(), connection.cursor() as cursor:
    for weeks in (3, 8, 13):
        run_day = as_of - timedelta(weeks=weeks)
        paid_day = run_day + timedelta(days=4)
        cursor.execute(
            f"INSERT INTO dunning_dunningrun (as_of, started_at, finished_at, invoices_considered, actions_created, "
            f"messages_created, tasks_created, triggered_by) VALUES (%s, {now}, {now}, 0, 0, 0, 0, 'benchmark')",
            [run_day.isoformat()])
        cursor.execute("SELECT id FROM dunning_dunningrun WHERE as_of = %s", [run_day.isoformat()])
        run_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO dunning_dunningaction (run_id, as_of, customer_id, currency, policy_id, policy_version, "
            "stage_id, stage_position, amount_minor, invoice_count, max_days_overdue) "
            "SELECT %s, %s, id, 'CNY', %s, 1, %s, %s, 100000, 1, 20 FROM customers_customer WHERE id %% 4 = 0",
            [run_id, run_day.isoformat(), stage.policy_id, stage.pk, stage.position])
        cursor.execute(
            "INSERT INTO ledger_payment (customer_id, received_date, currency, amount_minor, unapplied_minor, method, "
            f"reference, payer_name, created_at) SELECT id, %s, 'CNY', 50000, 0, 'BANK_TRANSFER', '', '', {now} "
            "FROM customers_customer WHERE id %% 4 = 0", [paid_day.isoformat()])
    # The credit history's promises carry no day given and no day broken: a week before the date,
    # and the day after the grace, as the promise review would have written them.
    cursor.execute(
        f"UPDATE collections_promisetopay SET made_date = {day('promised_date', -7)} WHERE made_date IS NULL", [])
    cursor.execute(
        f"UPDATE collections_promisetopay SET resolved_date = {day('promised_date', 4)} "
        "WHERE resolved_date IS NULL AND status IN ('BROKEN', 'PARTLY_KEPT')", [])
    cursor.execute(
        "INSERT INTO ledger_shortpayment (payment_id, invoice_id, currency, short_minor, event_date, created_at) "
        f"SELECT p.id, MIN(i.id), 'CNY', 1000, p.received_date, {now} FROM ledger_payment p "
        "JOIN ledger_invoice i ON i.customer_id = p.customer_id WHERE p.customer_id %% 12 = 0 "
        "GROUP BY p.id, p.received_date", [])
print("ok")
"""

PROBE = """
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from datetime import date, timedelta
from django.db import connection
from huikuan.insights.facts import debtor_facts_gather
from huikuan.insights.services import debtors_classify
as_of = date.fromisoformat(sys.argv[1])
def settle():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
settle()
started = time.perf_counter()
facts = debtor_facts_gather(as_of=as_of)
gather_s = time.perf_counter() - started
del facts
started = time.perf_counter()
first = debtors_classify(as_of=as_of)
first_s = time.perf_counter() - started
settle()
started = time.perf_counter()
second = debtors_classify(as_of=as_of + timedelta(days=1))
second_s = time.perf_counter() - started
print(json.dumps({
    "gather_s": gather_s, "first_s": first_s, "second_s": second_s, "customers": first.customers,
    "first_written": first.written, "second_written": second.written, "types": first.counts,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'debtors.sqlite3'}"
    return urlunsplit(urlsplit(os.environ["HUIKUAN_BENCH_POSTGRES_URL"])._replace(path=f"/{DATABASE}"))


def fresh_database(kind: str, workdir: Path, args: argparse.Namespace) -> tuple[str, bool]:
    """Return the database URL and whether it already holds a portfolio with its history."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'debtors.sqlite3'}{suffix}").unlink(missing_ok=True)
        if args.from_sqlite is not None:
            import sqlite3

            # The backup API copies a consistent database, write-ahead log included.
            with (
                sqlite3.connect(args.from_sqlite) as source,
                sqlite3.connect(workdir / "debtors.sqlite3") as target,
            ):
                source.backup(target)
            return database_url(kind, workdir), True
        return database_url(kind, workdir), False
    import psycopg

    with psycopg.connect(os.environ["HUIKUAN_BENCH_POSTGRES_URL"], autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        if args.from_postgres:
            connection.execute(f"CREATE DATABASE {DATABASE} TEMPLATE {args.from_postgres}")
            return database_url(kind, workdir), True
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return database_url(kind, workdir), False


def bench(kind: str, args: argparse.Namespace, workdir: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmarks.credit import HISTORY
    from benchmarks.dunning import write_portfolio
    from benchmarks.foundation import run_measured

    url, copied = fresh_database(kind, workdir, args)
    env = {**os.environ, "HUIKUAN_DATABASE_URL": url, "HUIKUAN_HOME": str(workdir), "PYTHONPATH": str(ROOT)}
    run_measured([*HUIKUAN, "migrate", "-v0"], env)
    if not copied:
        if not (workdir / "invoices.csv").is_file():
            write_portfolio(workdir, customers=args.customers, invoices=args.invoices, seed=args.seed)
        for what in ("customers", "invoices"):
            run_measured([*HUIKUAN, "import", what, str(workdir / f"{what}.csv"), "--no-progress"], env)
    if not copied or args.add_history:
        run_measured([sys.executable, "-c", HISTORY, AS_OF.isoformat()], env)
    run_measured([sys.executable, "-c", ESCALATION, AS_OF.isoformat()], env)
    _seconds, peak, out = run_measured([sys.executable, "-c", PROBE, AS_OF.isoformat()], env)
    probe = json.loads(out)
    return {
        "database": kind,
        "customers": probe["customers"],
        "gather_s": round(probe["gather_s"], 2),
        "first_run_s": round(probe["first_s"], 2),
        "first_written": probe["first_written"],
        "next_run_s": round(probe["second_s"], 2),
        "next_written": probe["second_written"],
        "types": probe["types"],
        "peak_mb": round(peak),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, help="keep data and databases here (default: a temporary folder)"
    )
    parser.add_argument("--from-sqlite", type=Path, help="copy this SQLite database (portfolio and history)")
    parser.add_argument("--from-postgres", help="copy this PostgreSQL database (portfolio and history)")
    parser.add_argument(
        "--add-history",
        action="store_true",
        help="the copied database holds a portfolio only (the dunning benchmark's)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="benchmark one database only")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-debtors-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("HUIKUAN_BENCH_POSTGRES_URL") else [])
    if args.only:
        kinds = [args.only]
    results = []
    for kind in kinds:
        print(f"{kind}: {args.invoices:,} invoices of {args.customers:,} customers…", file=sys.stderr)
        results.append(bench(kind, args, workdir))
    print(
        f"{'database':<11} {'overdue':>8} {'gather s':>9} {'1st run s':>10} {'written':>8} {'next run s':>11} {'written':>8} {'peak MB':>8}"
    )
    for r in results:
        print(
            f"{r['database']:<11} {r['customers']:>8} {r['gather_s']:>9} {r['first_run_s']:>10} "
            f"{r['first_written']:>8} {r['next_run_s']:>11} {r['next_written']:>8} {r['peak_mb']:>8}"
        )
        print(f"{'':<11} {json.dumps(r['types'], sort_keys=True)}")
    output = {
        "benchmark": "debtors",
        "as_of": AS_OF.isoformat(),
        "invoices": args.invoices,
        "customers": args.customers,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "debtors.json").write_text(json.dumps(output, indent=2) + "\n")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
