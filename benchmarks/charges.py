"""Benchmark booking a dunning run's charges: fees alone, and fees with interest and compensation.

For each database (SQLite always; PostgreSQL when HUIKUAN_BENCH_POSTGRES_URL names a server whose
user may create databases) it builds a fresh database, migrates it and writes, directly:

- run F: ACTIONS customers without interest terms, one action each, at a stage with a fixed fee
  (a quarter of the customers have a percentage fee in their contract);
- run I1 and, a month later, run I2: ACTIONS other customers with INVOICES open invoices between
  them, at a stage that charges a fee and starts interest. Their contracts mix the interest rules
  (contractual at 12 %, some ACT/360, some compounding monthly; cn-lpr; cn-sme-daily; UK in GBP;
  EU in EUR), and one invoice in ten has a partial payment before the run.

Then, in the same process, it times ``charges_book_for_run`` REPEAT times for run F and run I1,
each inside a transaction that is rolled back, books I1 for real, and times I2 the same way (the
second month: interest less what is already booked). Each figure comes with the number of queries
and a digest of the charges written (kind, customer, invoice, action, amount, rule, detail), so
that two versions of the booking can be compared for identical results.

Usage: python benchmarks/charges.py [--actions N] [--invoices M] [--repeat R] [--database sqlite|postgresql]
                                   [--charges-module FILE]
``--charges-module`` times another version of huikuan/dunning/charges.py (a file, for instance one
taken from an earlier commit with ``git show``) in place of the current one.
Prints a table and writes benchmarks/results/charges.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_DATABASE = "huikuan_bench_charges"


def _seed(actions: int, invoices: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Write the three runs; return their ids."""
    import random
    from datetime import UTC, date, datetime, timedelta

    from huikuan.customers.models import Customer
    from huikuan.dunning.models import (
        ContractTerms,
        DunningAction,
        DunningActionInvoice,
        DunningRun,
        FeeKind,
        InterestRule,
        Policy,
        Stage,
    )
    from huikuan.ledger.models import Allocation, Invoice, Payment

    rng = random.Random(7)
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    policy = Policy.objects.create(code="bench-charges", name="bench")
    fee_stage = Stage.objects.create(
        policy=policy, position=1, name="Friendly", trigger_days=10, channels=["EMAIL"],
        template_key="friendly", fee_kind=FeeKind.FIXED, fee_value="25",
    )  # fmt: skip
    interest_stage = Stage.objects.create(
        policy=policy, position=2, name="Formal notice", trigger_days=20, channels=["EMAIL"],
        template_key="formal-notice", fee_kind=FeeKind.FIXED, fee_value="40.00", starts_interest=True,
    )  # fmt: skip
    fee_run = DunningRun.objects.create(as_of=date(2026, 11, 20), started_at=now, finished_at=now)
    first = DunningRun.objects.create(as_of=date(2026, 10, 23), started_at=now, finished_at=now)
    second = DunningRun.objects.create(as_of=date(2026, 11, 23), started_at=now, finished_at=now)

    customers = Customer.objects.bulk_create(
        [Customer(code=f"BC{n:07d}", name=f"Bench {n}") for n in range(2 * actions)], batch_size=5000
    )
    fee_customers, interest_customers = customers[:actions], customers[actions:]
    terms = [
        ContractTerms(customer=customer, fee_kind=FeeKind.PERCENTAGE, fee_value="1.5")
        for n, customer in enumerate(fee_customers)
        if n % 4 == 0
    ]
    currency_of: dict[int, str] = {}
    for n, customer in enumerate(interest_customers):
        kind = n % 10
        currency = "CNY"
        if kind <= 3:
            item = ContractTerms(
                customer=customer, interest_rule=InterestRule.CONTRACT, annual_rate="12",
                day_count="ACT/360" if kind == 1 else "ACT/365", compound_monthly=kind == 3 and n % 40 == 3,
            )  # fmt: skip
        elif kind <= 5:
            item = ContractTerms(customer=customer, interest_rule=InterestRule.CN_LPR)
        elif kind == 6:
            item = ContractTerms(customer=customer, interest_rule=InterestRule.CN_SME_DAILY, grace_days=5)
        elif kind <= 8:
            item = ContractTerms(customer=customer, interest_rule=InterestRule.UK_LATE_PAYMENT)
            currency = "GBP"
        else:
            item = ContractTerms(
                customer=customer, interest_rule=InterestRule.EU_LATE_PAYMENT, eu_country="DE"
            )
            currency = "EUR"
        currency_of[customer.id] = currency
        terms.append(item)
    ContractTerms.objects.bulk_create(terms, batch_size=5000)

    rows = [
        Invoice(
            number=f"BF{n:08d}",
            customer=customer,
            issue_date=date(2026, 9, 1),
            due_date=date(2026, 10, 1),
            currency="CNY",
            amount_minor=(amount := rng.randrange(1_000, 5_000_000)),
            open_minor=amount,
        )  # fmt: skip
        for n, customer in enumerate(fee_customers)
    ]
    for n in range(invoices):
        customer = interest_customers[n % len(interest_customers)]
        due = date(2026, 9, 30) - timedelta(days=rng.randrange(0, 400))
        amount = rng.randrange(1_000, 5_000_000)
        rows.append(
            Invoice(
                number=f"BI{n:08d}",
                customer=customer,
                issue_date=due - timedelta(days=30),
                due_date=due,
                currency=currency_of[customer.id],
                amount_minor=amount,
                open_minor=amount,
            )  # fmt: skip
        )
    created = Invoice.objects.bulk_create(rows, batch_size=5000)
    fee_invoices, interest_invoices = created[:actions], created[actions:]

    payments, allocations = [], []
    for invoice in interest_invoices[::10]:
        paid = invoice.amount_minor // 3
        day = invoice.due_date + timedelta(days=rng.randrange(-5, 40))
        payments.append(
            Payment(customer_id=invoice.customer_id, received_date=day, currency=invoice.currency,
                    amount_minor=paid, unapplied_minor=0)
        )  # fmt: skip
        allocations.append((invoice, paid, day))
    payments = Payment.objects.bulk_create(payments, batch_size=5000)
    Allocation.objects.bulk_create(
        [
            Allocation(payment=payment, invoice=invoice, amount_minor=paid, allocation_date=day)
            for payment, (invoice, paid, day) in zip(payments, allocations, strict=True)
        ],
        batch_size=5000,
    )
    paid_of = {invoice.id: paid for invoice, paid, _day in allocations}

    def write_run(run: DunningRun, stage: Stage, by_customer: dict[int, list[Invoice]]) -> None:
        made = DunningAction.objects.bulk_create(
            [
                DunningAction(
                    run=run,
                    as_of=run.as_of,
                    customer_id=customer_id,
                    currency=items[0].currency,
                    policy=policy,
                    policy_version=1,
                    stage=stage,
                    stage_position=stage.position,
                    amount_minor=sum(i.amount_minor - paid_of.get(i.id, 0) for i in items),
                    invoice_count=len(items),
                    max_days_overdue=max((run.as_of - i.due_date).days for i in items),
                )  # fmt: skip
                for customer_id, items in by_customer.items()
            ],
            batch_size=5000,
        )
        DunningActionInvoice.objects.bulk_create(
            [
                DunningActionInvoice(
                    action=action,
                    invoice=invoice,
                    open_minor=invoice.amount_minor - paid_of.get(invoice.id, 0),
                    days_overdue=(run.as_of - invoice.due_date).days,
                    level=stage.position,
                )  # fmt: skip
                for action, items in zip(made, by_customer.values(), strict=True)
                for invoice in items
            ],
            batch_size=5000,
        )

    write_run(fee_run, fee_stage, {invoice.customer_id: [invoice] for invoice in fee_invoices})
    grouped: dict[int, list[Invoice]] = {}
    for invoice in interest_invoices:
        grouped.setdefault(invoice.customer_id, []).append(invoice)
    write_run(first, interest_stage, grouped)
    write_run(second, interest_stage, grouped)
    return {"fees": fee_run.id, "interest": first.id, "interest_second": second.id}


def _digest(run_id: int) -> tuple[int, int, str]:
    """Return (charges, sum of amounts, digest of their content) for what the run booked."""
    from huikuan.dunning.models import Charge

    rows = sorted(
        (kind, customer, invoice or 0, action, amount, rule, json.dumps(detail, sort_keys=True))
        for kind, customer, invoice, action, amount, rule, detail in Charge.objects.filter(
            action__run_id=run_id
        ).values_list("kind", "customer_id", "invoice_id", "action_id", "amount_minor", "rule", "detail")
    )
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return len(rows), sum(row[4] for row in rows), digest


def _time(run_id: int, repeat: int) -> dict:  # type: ignore[type-arg]
    import time

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from huikuan.dunning.charges import charges_book_for_run
    from huikuan.dunning.models import DunningRun

    class Rollback(Exception):
        pass

    seconds = []
    counted = None
    for attempt in range(repeat + 1):
        run = DunningRun.objects.get(pk=run_id)
        try:
            with transaction.atomic():
                if attempt == repeat:  # a last pass, untimed, to count queries and digest the result
                    with CaptureQueriesContext(connection) as queries:
                        booked = charges_book_for_run(run=run)
                    counted = (len(queries), booked, *_digest(run_id))
                else:
                    started = time.perf_counter()
                    charges_book_for_run(run=run)
                    seconds.append(time.perf_counter() - started)
                raise Rollback
        except Rollback:
            pass
    assert counted is not None
    queries, booked, charges, total, digest = counted
    return {
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(statistics.median(seconds), 3),
        "queries": queries,
        "charges": booked,
        "amount_sum_minor": total,
        "digest": digest,
    }


def _analyze() -> None:
    """On PostgreSQL, bring the planner's statistics up to date, as autovacuum does in time.

    Without it the figures depend on whether autovacuum has yet looked at tables this script has
    just filled: a plan made on the statistics of an empty charge table can take many minutes.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def probe(actions: int, invoices: int, repeat: int, charges_module: str | None) -> dict:  # type: ignore[type-arg]
    """Run inside a process whose HUIKUAN_DATABASE_URL names a fresh database."""
    import importlib.util
    import time

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    if charges_module:
        spec = importlib.util.spec_from_file_location("huikuan.dunning.charges", charges_module)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["huikuan.dunning.charges"] = module
        spec.loader.exec_module(module)
    from django.core.management import call_command

    from huikuan.dunning.charges import charges_book_for_run
    from huikuan.dunning.models import DunningRun

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    runs = _seed(actions, invoices)
    seed_s = time.perf_counter() - started
    _analyze()
    result = {"seed_s": round(seed_s, 1)}
    result["fees"] = _time(runs["fees"], repeat)
    result["interest"] = _time(runs["interest"], repeat)
    charges_book_for_run(run=DunningRun.objects.get(pk=runs["interest"]))
    _analyze()
    result["interest_second"] = _time(runs["interest_second"], repeat)
    return result


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'charges.sqlite3'}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{workdir / 'charges.sqlite3'}"
    import psycopg

    with psycopg.connect(os.environ["HUIKUAN_BENCH_POSTGRES_URL"], autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")
        connection.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return urlunsplit(urlsplit(os.environ["HUIKUAN_BENCH_POSTGRES_URL"])._replace(path=f"/{BENCH_DATABASE}"))


def drop_database(kind: str) -> None:
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(os.environ["HUIKUAN_BENCH_POSTGRES_URL"], autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--actions", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--charges-module", help="a charges.py file to time instead of the current one")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.actions, args.invoices, args.repeat, args.charges_module)))
        return
    kinds = args.database or (
        ["sqlite"] + (["postgresql"] if os.environ.get("HUIKUAN_BENCH_POSTGRES_URL") else [])
    )
    workdir = Path(tempfile.mkdtemp(prefix="huikuan-charges-bench-"))
    results = []
    for kind in kinds:
        print(f"{kind}: {args.actions:,} actions, {args.invoices:,} invoices…", file=sys.stderr)
        env = {**os.environ, "HUIKUAN_DATABASE_URL": fresh_database(kind, workdir),
               "HUIKUAN_HOME": str(workdir), "PYTHONPATH": str(ROOT)}  # fmt: skip
        try:
            completed = subprocess.run(
                [sys.executable, str(Path(__file__)), "--probe", "--actions", str(args.actions),
                 "--invoices", str(args.invoices), "--repeat", str(args.repeat),
                 *(["--charges-module", str(Path(args.charges_module).resolve())] if args.charges_module else [])],
                env=env, capture_output=True, text=True, cwd=ROOT,
            )  # fmt: skip
            if completed.returncode:
                print(completed.stderr, file=sys.stderr)
                continue
            out = completed.stdout
        finally:
            drop_database(kind)
        results.append({"database": kind, **json.loads(out.strip().splitlines()[-1])})
        print(json.dumps(results[-1]), file=sys.stderr)  # each database's figures as soon as they exist
    print(
        f"{'database':<11} {'scenario':<16} {'median s':>9} {'runs s':<22} {'queries':>8} {'charges':>8} digest"
    )
    for result in results:
        for scenario in ("fees", "interest", "interest_second"):
            r = result[scenario]
            print(
                f"{result['database']:<11} {scenario:<16} {r['median_s']:>9} {str(r['seconds']):<22} "
                f"{r['queries']:>8} {r['charges']:>8} {r['digest']} (sum {r['amount_sum_minor']})"
            )
    output = {
        "benchmark": "charges",
        "actions": args.actions,
        "invoices": args.invoices,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "charges.json").write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
