"""Benchmark the credit re-rating of every customer: M customers, N invoices, on SQLite and PostgreSQL.

The portfolio is the dunning benchmark's (``benchmarks/dunning.py``: customers of all grades,
invoices due from 200 days before to 15 days after the date), given a history: three invoices in
four of those due a month before the date are paid, each customer early or late by its own habit
(from 10 days early to 40 days late); one customer in five has broken or partly kept promises,
one in eight a dispute, one in six calls nobody answered, one in ten orders not yet invoiced, and
one in three a credit limit. ``--from`` copies a database the dunning benchmark built instead of
importing (its SQLite file; on PostgreSQL its database as a template).

In a process of its own it then times, after ``VACUUM (ANALYZE)`` on PostgreSQL:

- reading every customer's figures (the aggregate queries alone);
- the first rating run: every rating written, every customer's score and grade, early warnings
  raised (most grades change: the customers come with random grades);
- the next month's run, a normal one (few grades change, warnings already stand).

Usage: python benchmarks/credit.py [--invoices N] [--customers M] [--from DIR] [--only sqlite|postgresql]
PostgreSQL runs when HUIKUAN_BENCH_POSTGRES_URL names a server whose user may create databases.
Prints a table and writes benchmarks/results/credit.json.
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
DATABASE = "huikuan_bench_credit"

HISTORY = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from datetime import date, timedelta
from django.db import connection, transaction
as_of = date.fromisoformat(sys.argv[1])
pg = connection.vendor == "postgresql"
def day(expr, days):
    return f"({expr} + ({days}) * INTERVAL '1 day')::date" if pg else f"date({expr}, ({days}) || ' days')"
now = "NOW()" if pg else "datetime('now')"
cut = (as_of - timedelta(days=45)).isoformat()
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute(
        f"UPDATE ledger_invoice SET status = 'PAID', open_minor = 0, "
        f"settled_date = {day('due_date', '((customer_id * 7) %% 51 - 10 + (id %% 5))')} "
        f"WHERE id %% 4 <> 0 AND due_date <= %s AND settled_date IS NULL", [cut])
    cursor.execute(
        "UPDATE customers_customer SET credit_limit_minor = 20000000 + (id %% 7) * 10000000 WHERE id %% 3 = 0", [])
    for offset, status in ((10, "BROKEN"), (40, "PARTLY_KEPT"), (70, "BROKEN"), (100, "KEPT")):
        cursor.execute(
            f"INSERT INTO collections_promisetopay (created_at, updated_at, customer_id, currency, amount_minor, "
            f"promised_date, grace_days, status, notes, promised_by, method, evidence, if_broken, paid_minor) "
            f"SELECT {now}, {now}, id, 'CNY', 100000, %s, 3, %s, '', '', 'PHONE', '', '', 0 "
            f"FROM customers_customer WHERE id %% 5 = 0", [(as_of - timedelta(days=offset)).isoformat(), status])
    cursor.execute(
        f"INSERT INTO collections_dispute (created_at, updated_at, invoice_id, reason, status, opened_date, notes, "
        f"customer_id, source) SELECT {now}, {now}, MIN(id), 'QUALITY', 'OPEN', %s, '', customer_id, 'STAFF' "
        f"FROM ledger_invoice WHERE customer_id %% 8 = 0 GROUP BY customer_id",
        [(as_of - timedelta(days=30)).isoformat()])
    for hours in range(1, 5):
        cursor.execute(
            f"INSERT INTO collections_interaction (created_at, updated_at, customer_id, kind, outcome, notes, "
            f"occurred_at) SELECT {now}, {now}, id, 'CALL', 'NO_ANSWER', '', %s "
            f"FROM customers_customer WHERE id %% 6 = 0",
            [f"{(as_of - timedelta(days=hours * 3)).isoformat()} 02:00:00"])
    cursor.execute(
        f"INSERT INTO customers_order (created_at, updated_at, number, customer_id, order_date, currency, "
        f"amount_minor, status, description) SELECT {now}, {now}, 'SO' || id, id, %s, 'CNY', 500000, 'OPEN', '' "
        f"FROM customers_customer WHERE id %% 10 = 0", [(as_of - timedelta(days=3)).isoformat()])
    cursor.execute("UPDATE customers_customer SET status = 'ACTIVE' WHERE status = 'LEGAL'", [])
print("ok")
"""

PROBE = """
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from datetime import date, timedelta
from django.db import connection
from huikuan.customers.credit import credit_figures, credit_rate
as_of = date.fromisoformat(sys.argv[1])
def settle():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
settle()
started = time.perf_counter()
figures = credit_figures(as_of=as_of)
read_s = time.perf_counter() - started
del figures
started = time.perf_counter()
first = credit_rate(as_of=as_of, triggered_by="benchmark")
first_s = time.perf_counter() - started
settle()
started = time.perf_counter()
second = credit_rate(as_of=as_of + timedelta(days=31), triggered_by="benchmark")
second_s = time.perf_counter() - started
with connection.cursor() as cursor:
    cursor.execute("SELECT grade, COUNT(*) FROM customers_creditrating WHERE run_id = %s GROUP BY grade ORDER BY grade",
                   [second.pk])
    grades = dict(cursor.fetchall())
print(json.dumps({
    "read_s": read_s, "first_s": first_s, "second_s": second_s,
    "customers": first.customers_rated, "first_changed": first.grades_changed,
    "first_warnings": first.warnings_raised, "second_changed": second.grades_changed,
    "second_warnings": second.warnings_raised, "grades": grades,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'credit.sqlite3'}"
    return urlunsplit(urlsplit(os.environ["HUIKUAN_BENCH_POSTGRES_URL"])._replace(path=f"/{DATABASE}"))


def fresh_database(kind: str, workdir: Path, source: Path | None) -> tuple[str, bool]:
    """Return the database URL and whether it already holds the portfolio (copied from ``source``)."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'credit.sqlite3'}{suffix}").unlink(missing_ok=True)
        copied = source is not None and (source / "dunning.sqlite3").is_file()
        if copied:
            assert source is not None
            shutil.copyfile(source / "dunning.sqlite3", workdir / "credit.sqlite3")
        return database_url(kind, workdir), copied
    import psycopg

    server = os.environ["HUIKUAN_BENCH_POSTGRES_URL"]
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        copied = False
        if source is not None:
            try:
                connection.execute(f"CREATE DATABASE {DATABASE} TEMPLATE huikuan_bench_dunning")
                copied = True
            except psycopg.Error:
                pass
        if not copied:
            connection.execute(f"CREATE DATABASE {DATABASE}")
    return database_url(kind, workdir), copied


def bench(kind: str, args: argparse.Namespace, workdir: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmarks.dunning import write_portfolio
    from benchmarks.foundation import run_measured

    url, copied = fresh_database(kind, workdir, args.source)
    env = {**os.environ, "HUIKUAN_DATABASE_URL": url, "HUIKUAN_HOME": str(workdir), "PYTHONPATH": str(ROOT)}
    run_measured([*HUIKUAN, "migrate", "-v0"], env)
    if not copied:
        if not (workdir / "invoices.csv").is_file():
            write_portfolio(workdir, customers=args.customers, invoices=args.invoices, seed=args.seed)
        for what in ("customers", "invoices"):
            run_measured([*HUIKUAN, "import", what, str(workdir / f"{what}.csv"), "--no-progress"], env)
    run_measured([sys.executable, "-c", HISTORY, AS_OF.isoformat()], env)
    _seconds, peak, out = run_measured([sys.executable, "-c", PROBE, AS_OF.isoformat()], env)
    probe = json.loads(out)
    return {
        "database": kind,
        "customers": probe["customers"],
        "read_s": round(probe["read_s"], 2),
        "first_run_s": round(probe["first_s"], 2),
        "first_grades_changed": probe["first_changed"],
        "first_warnings": probe["first_warnings"],
        "next_run_s": round(probe["second_s"], 2),
        "next_grades_changed": probe["second_changed"],
        "next_warnings": probe["second_warnings"],
        "grades": probe["grades"],
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
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="the dunning benchmark's --workdir: copy its portfolio instead of importing one",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="benchmark one database only")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-credit-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("HUIKUAN_BENCH_POSTGRES_URL") else [])
    if args.only:
        kinds = [args.only]
    results = []
    for kind in kinds:
        print(f"{kind}: {args.invoices:,} invoices of {args.customers:,} customers…", file=sys.stderr)
        results.append(bench(kind, args, workdir))
    header = (
        f"{'database':<11} {'customers':>9} {'read s':>7} {'1st run s':>10} {'changed':>8} {'warnings':>9} "
        f"{'next run s':>11} {'changed':>8} {'warnings':>9} {'peak MB':>8}"
    )
    print(header)
    for r in results:
        print(
            f"{r['database']:<11} {r['customers']:>9} {r['read_s']:>7} {r['first_run_s']:>10} "
            f"{r['first_grades_changed']:>8} {r['first_warnings']:>9} {r['next_run_s']:>11} "
            f"{r['next_grades_changed']:>8} {r['next_warnings']:>9} {r['peak_mb']:>8}"
        )
    output = {
        "benchmark": "credit",
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
    (HERE / "results" / "credit.json").write_text(json.dumps(output, indent=2) + "\n")


if __name__ == "__main__":
    main()
