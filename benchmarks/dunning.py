"""Benchmark the daily dunning run over N open invoices of M customers, and a per-invoice ORM loop.

For each database (SQLite always; PostgreSQL when HUIKUAN_BENCH_POSTGRES_URL names a server whose
user may create databases) it builds a fresh database, imports the generated portfolio through
``huikuan import``, then, in a process of its own:

- times ``dunning_run`` as a dry run (every decision and every write, then rolled back) REPEAT
  times, and once for real: the figures are decide + write actions, invoice lines, levels,
  outbox messages, tasks and holds;
- times the next day's run after it (a normal day: only the invoices whose next stage falls due);
- times a per-invoice ORM loop implementing the same ladder rule (the way ERPNext, iDempiere and
  OCA credit-control evaluate lines: a few queries and writes per invoice) on the first
  ORM_INVOICES open invoices, rolled back, and reports the per-invoice speed ratio.

On PostgreSQL it runs ``VACUUM (ANALYZE)`` after the import and, on the tables a run writes,
before each timed run: what autovacuum does after a load and between one day's run and the
next. Without it the first run pays for setting the new rows' hint bits and plans without
statistics, and each rolled-back dry run leaves a million dead rows to the next.

Usage: python benchmarks/dunning.py [--invoices N] [--customers M] [--repeat R] [--orm-invoices K]
Prints a table and writes benchmarks/results/dunning.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HUIKUAN = [sys.executable, "-m", "huikuan.cli"]
AS_OF = date(2026, 11, 23)  # a Monday, a working day in China

PROBE = """
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from datetime import UTC, date, datetime
import django
django.setup()
from huikuan.dunning.engine import dunning_run
from benchmarks.dunning import orm_loop_run
as_of, repeat, orm_invoices = date.fromisoformat(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
now = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
from django.db import connection
WRITTEN = ("dunning_dunningrun, dunning_dunningaction, dunning_dunningactioninvoice, "
           "dunning_invoicedunninglevel, messaging_outboxmessage, collections_task, dunning_credithold")
def settle(everything=False):
    # PostgreSQL: what autovacuum does between one day's run and the next (and after a load):
    # statistics, and the dead rows of a rolled-back run cleared away.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)" if everything else f"VACUUM (ANALYZE) {WRITTEN}")
settle(everything=True)
dry = []
for _ in range(repeat):
    settle()
    started = time.perf_counter()
    result = dunning_run(as_of=as_of, now=now, dry_run=True, list_actions=False)
    dry.append(time.perf_counter() - started)
started = time.perf_counter()
orm_done = orm_loop_run(as_of=as_of, limit=orm_invoices, now=now)
orm_seconds = time.perf_counter() - started
settle()
started = time.perf_counter()
real = dunning_run(as_of=as_of, now=now, list_actions=False, triggered_by="benchmark")
real_seconds = time.perf_counter() - started
from datetime import timedelta
settle()
started = time.perf_counter()
next_day = dunning_run(as_of=as_of + timedelta(days=1), now=now, list_actions=False, triggered_by="benchmark")
next_day_seconds = time.perf_counter() - started
print(json.dumps({
    "dry_run_s": dry, "run_s": real_seconds, "invoices_due": real.invoices_considered,
    "actions": real.actions_created, "messages": real.messages_created, "tasks": real.tasks_created,
    "holds": real.holds_placed, "charges": real.charges_booked,
    "orm_s": orm_seconds, "orm_invoices": orm_done,
    "next_day_s": next_day_seconds, "next_day_due": next_day.invoices_considered,
    "next_day_actions": next_day.actions_created,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def orm_loop_run(*, as_of: date, limit: int, now) -> int:  # type: ignore[no-untyped-def]
    """The same ladder, evaluated the way per-line peers do it; rolled back. Returns invoices seen."""
    from django.db import transaction

    from huikuan.collections.models import Dispute, InstalmentPlan, PromiseToPay
    from huikuan.customers.models import Customer, CustomerStatus
    from huikuan.dunning.models import (
        CustomerPolicy,
        DunningAction,
        DunningActionInvoice,
        DunningRun,
        InvoiceDunningLevel,
        Policy,
        Stage,
    )
    from huikuan.dunning.policy import InvoiceStanding, StageRule, next_stage_due
    from huikuan.ledger.models import Invoice
    from huikuan.messaging.models import OutboxMessage

    grade_policy: dict[str, int] = {}
    for policy in Policy.objects.filter(is_active=True).order_by("code"):
        for grade in policy.grades:
            grade_policy.setdefault(grade, policy.id)
    seen = 0
    with transaction.atomic():
        run = DunningRun.objects.create(as_of=as_of + timedelta(days=3650), started_at=now, finished_at=now)
        invoices = Invoice.objects.filter(settled_date__isnull=True, open_minor__gt=0).order_by("id")[:limit]
        for invoice in invoices.iterator(chunk_size=2000):
            seen += 1
            customer = Customer.objects.get(pk=invoice.customer_id)
            if customer.do_not_contact or customer.status in (CustomerStatus.LEGAL, CustomerStatus.CLOSED):
                continue
            override = CustomerPolicy.objects.filter(customer=customer).first()
            policy_id = override.policy_id if override else grade_policy.get(customer.grade)
            if policy_id is None:
                continue
            if Dispute.objects.filter(invoice=invoice, status__in=["OPEN", "INVESTIGATING"]).exists():
                continue
            if PromiseToPay.objects.filter(
                invoices=invoice, status="OPEN", promised_date__gte=as_of
            ).exists():
                continue
            if InstalmentPlan.objects.filter(invoices=invoice, status="ACTIVE").exists():
                continue
            stages = list(Stage.objects.filter(policy_id=policy_id).order_by("position"))
            rules = [StageRule(s.position, s.trigger_days, s.min_days_since_previous) for s in stages]
            level = InvoiceDunningLevel.objects.filter(invoice=invoice).first()
            standing = InvoiceStanding(
                invoice.id, invoice.due_date, invoice.open_minor, level.level if level else 0
            )
            position = next_stage_due(standing=standing, stages=rules, as_of=as_of)
            if position is None:
                continue
            stage = stages[position - 1]
            previous = (
                DunningAction.objects.filter(customer=customer, currency=invoice.currency)
                .order_by("-as_of")
                .first()
            )
            if previous and (as_of - previous.as_of).days < stage.min_days_since_previous:
                continue
            days = (as_of - invoice.due_date).days
            action = DunningAction.objects.filter(
                run=run, customer=customer, currency=invoice.currency
            ).first()
            if action is None:
                action = DunningAction.objects.create(
                    run=run, as_of=as_of, customer=customer, currency=invoice.currency, policy_id=policy_id,
                    policy_version=1, stage=stage, stage_position=position, amount_minor=invoice.open_minor,
                    invoice_count=1, max_days_overdue=days,
                )  # fmt: skip
            else:
                action.amount_minor += invoice.open_minor
                action.invoice_count += 1
                action.max_days_overdue = max(action.max_days_overdue, days)
                if position > action.stage_position:
                    action.stage, action.stage_position = stage, position
                action.save()
            DunningActionInvoice.objects.create(
                action=action, invoice=invoice, open_minor=invoice.open_minor,
                days_overdue=(as_of - invoice.due_date).days, level=position,
            )  # fmt: skip
            InvoiceDunningLevel.objects.update_or_create(
                invoice=invoice, defaults={"level": action.stage_position, "level_date": as_of}
            )
            for channel in stage.channels:
                key = f"orm:{action.id}:{channel}"
                if (
                    channel in ("EMAIL", "SMS", "LETTER")
                    and not OutboxMessage.objects.filter(idempotency_key=key).exists()
                ):
                    OutboxMessage.objects.create(
                        idempotency_key=key, message_id=f"<orm.{action.id}.{channel}@x>",
                        channel=channel, customer=customer, action=action, template_key=stage.template_key,
                        not_before_at=now,
                    )  # fmt: skip
        transaction.set_rollback(True)
    return seen


def write_portfolio(folder: Path, *, customers: int, invoices: int, seed: int) -> None:
    """Customers in China of all four grades; invoices due from 200 days before to 15 days after AS_OF."""
    rng = random.Random(seed)
    with (folder / "customers.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "country", "grade"])
        writer.writerows(
            [f"D{n:07d}", f"Dunning Customer {n}", "CN", rng.choice("ABCD")] for n in range(customers)
        )
    with (folder / "invoices.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"])
        for n in range(invoices):
            due = AS_OF + timedelta(days=rng.randrange(-200, 15))
            cents = rng.randrange(10_000, 50_000_000)
            writer.writerow(
                [f"DI{n:08d}", f"D{rng.randrange(customers):07d}", (due - timedelta(days=30)).isoformat(),
                 due.isoformat(), "CNY", f"{cents // 100}.{cents % 100:02d}"]
            )  # fmt: skip


RESET = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.db import connection, transaction
with transaction.atomic(), connection.cursor() as cursor:
    for table in ("collections_task", "messaging_outboxmessage", "dunning_charge", "dunning_credithold",
                  "dunning_dunningactioninvoice", "dunning_invoicedunninglevel", "dunning_dunningaction",
                  "dunning_dunningrun"):
        cursor.execute(f"DELETE FROM {table}")
    cursor.execute("UPDATE customers_customer SET status = 'ACTIVE' WHERE status = 'LEGAL'")
"""


def database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'dunning.sqlite3'}"
    return urlunsplit(
        urlsplit(os.environ["HUIKUAN_BENCH_POSTGRES_URL"])._replace(path="/huikuan_bench_dunning")
    )


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'dunning.sqlite3'}{suffix}").unlink(missing_ok=True)
        return database_url(kind, workdir)
    import psycopg

    server = os.environ["HUIKUAN_BENCH_POSTGRES_URL"]
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS huikuan_bench_dunning")
        connection.execute("CREATE DATABASE huikuan_bench_dunning")
    return database_url(kind, workdir)


def bench(kind: str, args: argparse.Namespace, data: Path, workdir: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from benchmarks.foundation import run_measured

    url = database_url(kind, workdir) if args.reuse else fresh_database(kind, workdir)
    env = {**os.environ, "HUIKUAN_DATABASE_URL": url, "HUIKUAN_HOME": str(workdir), "PYTHONPATH": str(ROOT)}
    run_measured([*HUIKUAN, "migrate", "-v0"], env)
    if args.reuse:
        run_measured([sys.executable, "-c", RESET], env)
    else:
        for what in ("customers", "invoices"):
            run_measured([*HUIKUAN, "import", what, str(data / f"{what}.csv"), "--no-progress"], env)
    _seconds, peak, out = run_measured(
        [sys.executable, "-c", PROBE, AS_OF.isoformat(), str(args.repeat), str(args.orm_invoices)], env
    )
    probe = json.loads(out)
    set_per_invoice = statistics.median(probe["dry_run_s"]) / args.invoices
    orm_per_invoice = probe["orm_s"] / max(1, probe["orm_invoices"])
    return {
        "database": kind,
        "run_s": round(probe["run_s"], 2),
        "dry_run_s": [round(s, 2) for s in probe["dry_run_s"]],
        "dry_run_median_s": round(statistics.median(probe["dry_run_s"]), 2),
        "peak_mb": round(peak),
        "invoices_due": probe["invoices_due"],
        "actions": probe["actions"],
        "messages": probe["messages"],
        "tasks": probe["tasks"],
        "holds": probe["holds"],
        "next_day_run_s": round(probe["next_day_s"], 2),
        "next_day_invoices_due": probe["next_day_due"],
        "next_day_actions": probe["next_day_actions"],
        "orm_invoices": probe["orm_invoices"],
        "orm_s": round(probe["orm_s"], 2),
        "orm_us_per_invoice": round(orm_per_invoice * 1e6, 1),
        "set_us_per_invoice": round(set_per_invoice * 1e6, 2),
        "speed_ratio": round(orm_per_invoice / set_per_invoice),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--orm-invoices", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--workdir", type=Path, help="keep data and databases here (default: a temporary folder)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the databases an earlier run left in --workdir (no import)",
    )
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="benchmark one database only")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-dunning-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        write_portfolio(workdir, customers=args.customers, invoices=args.invoices, seed=args.seed)
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("HUIKUAN_BENCH_POSTGRES_URL") else [])
    if args.only:
        kinds = [args.only]
    results = []
    for kind in kinds:
        print(f"{kind}: {args.invoices:,} invoices of {args.customers:,} customers…", file=sys.stderr)
        results.append(bench(kind, args, workdir, workdir))
    header = f"{'database':<11} {'run s':>7} {'dry-run s':>10} {'peak MB':>8} {'due':>9} {'actions':>8} " \
             f"{'messages':>9} {'tasks':>7} {'ORM us/inv':>11} {'set us/inv':>11} {'ratio':>6} {'next day s':>11}"  # fmt: skip
    print(header)
    for r in results:
        print(
            f"{r['database']:<11} {r['run_s']:>7} {r['dry_run_median_s']:>10} {r['peak_mb']:>8} "
            f"{r['invoices_due']:>9} {r['actions']:>8} {r['messages']:>9} {r['tasks']:>7} "
            f"{r['orm_us_per_invoice']:>11} {r['set_us_per_invoice']:>11} {r['speed_ratio']:>6} "
            f"{r['next_day_run_s']:>11}"
        )
    output = {
        "benchmark": "dunning",
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
    (HERE / "results" / "dunning.json").write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
