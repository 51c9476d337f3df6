"""Benchmark the foundation: import of N customers and M invoices, and aging over them.

For each database (SQLite file; PostgreSQL when HUIKUAN_BENCH_POSTGRES_URL names a server whose
user may create databases) it builds a fresh database, imports through the public ``huikuan
import`` command, and times ``aging_build`` as of the generator's date. Every figure is the
median of --repeat runs; peak memory is the child process's maximum resident set size. On
PostgreSQL it vacuums and analyzes after the import, as autovacuum does shortly after a load.

Usage: python benchmarks/foundation.py [--customers N] [--invoices M] [--repeat 3] [--only sqlite]
Writes benchmarks/results/foundation.json and prints a table.

With --workdir DIR the generated files and databases stay in DIR; a later run with --aging-only
and the same DIR skips generating and importing, applies any new migrations to the databases
left there and times aging alone, which takes seconds instead of minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
HUIKUAN = [sys.executable, "-m", "huikuan.cli"]
AS_OF = "2026-06-30"

AGING_PROBE = """
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
from datetime import date
import django
django.setup()
from huikuan.ledger.aging_report import aging_build
times, cpu = [], []
for _ in range(int(sys.argv[1])):
    started, started_cpu = time.perf_counter(), time.process_time()
    report = aging_build(as_of=date.fromisoformat(sys.argv[2]), by="customer")
    times.append(time.perf_counter() - started)
    cpu.append(time.process_time() - started_cpu)
print(json.dumps({"times": times, "cpu": cpu, "customers": len(report["customers"]),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return wall seconds, its own peak RSS in MB (through wait4), and its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    stdout = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(args)} failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024, stdout


def database_url(kind: str, workdir: Path, postgres_url: str | None) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    assert postgres_url
    return urlunsplit(urlsplit(postgres_url)._replace(path="/huikuan_bench"))


def fresh_database(kind: str, workdir: Path, postgres_url: str | None) -> str:
    """Return the URL of an empty benchmark database, dropping the one of an earlier attempt."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'bench.sqlite3'}{suffix}").unlink(missing_ok=True)
        return database_url(kind, workdir, postgres_url)
    import psycopg

    assert postgres_url
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS huikuan_bench")
        connection.execute("CREATE DATABASE huikuan_bench")
    return database_url(kind, workdir, postgres_url)


def settle_after_load(url: str) -> None:
    """Vacuum and analyze, as autovacuum does within a minute or two after a large load.

    Timed straight after the import, PostgreSQL would plan without statistics and its
    index-only scans would still visit the table for every row: a state that lasts only until
    autovacuum's next round, not what a report meets in use.
    """
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")


def time_aging(kind: str, repeat: int, env: dict[str, str]) -> dict:
    """Time aging_build in a process of its own; peak memory is that process's maximum resident set."""
    _s, peak, out = run_measured([sys.executable, "-c", AGING_PROBE, str(repeat), AS_OF], env)
    probe = json.loads(out)
    print(
        f"  {kind} aging: "
        + ", ".join(f"{t:.2f} s ({c:.2f} s CPU)" for t, c in zip(probe["times"], probe["cpu"], strict=True)),
        file=sys.stderr,
    )
    return {
        "aging_s": round(statistics.median(probe["times"]), 3),
        "aging_runs_s": [round(t, 3) for t in probe["times"]],
        "aging_cpu_s": [round(t, 3) for t in probe["cpu"]],
        "aging_peak_mb": round(peak),
        "aging_customers": probe["customers"],
    }


def bench_aging_only(kind: str, args: argparse.Namespace, workdir: Path) -> dict:
    """Time aging on the database an earlier run left in the work directory, after migrating it."""
    url = database_url(kind, workdir, os.environ.get("HUIKUAN_BENCH_POSTGRES_URL"))
    if kind == "sqlite" and not (workdir / "bench.sqlite3").exists():
        raise SystemExit(f"--aging-only: no database in {workdir}; run once with --workdir {workdir} first")
    env = {**os.environ, "HUIKUAN_DATABASE_URL": url, "HUIKUAN_HOME": str(workdir)}
    run_measured([*HUIKUAN, "migrate", "-v0"], env)
    return {"database": kind, **time_aging(kind, args.repeat, env)}


def bench_database(kind: str, args: argparse.Namespace, data: Path, workdir: Path) -> dict:
    postgres_url = os.environ.get("HUIKUAN_BENCH_POSTGRES_URL")
    imports: list[float] = []
    import_peaks: list[float] = []
    customer_imports: list[float] = []
    env: dict[str, str] = {}
    for attempt in range(args.repeat):
        url = fresh_database(kind, workdir, postgres_url)
        env = {**os.environ, "HUIKUAN_DATABASE_URL": url, "HUIKUAN_HOME": str(workdir)}
        run_measured([*HUIKUAN, "migrate", "-v0"], env)
        seconds, _peak, _out = run_measured(
            [*HUIKUAN, "import", "customers", str(data / "customers.csv")], env
        )
        customer_imports.append(seconds)
        seconds, peak, _out = run_measured([*HUIKUAN, "import", "invoices", str(data / "invoices.csv")], env)
        imports.append(seconds)
        import_peaks.append(peak)
        print(f"  {kind} import {attempt + 1}/{args.repeat}: {seconds:.1f} s", file=sys.stderr)
    if kind == "postgres":
        settle_after_load(env["HUIKUAN_DATABASE_URL"])
    return {
        "database": kind,
        "import_customers_s": round(statistics.median(customer_imports), 2),
        "import_invoices_s": round(statistics.median(imports), 2),
        "import_invoices_peak_mb": round(max(import_peaks)),
        **time_aging(kind, args.repeat, env),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "foundation.json")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep generated files and databases here (default: a temporary directory)",
    )
    parser.add_argument(
        "--aging-only",
        action="store_true",
        help="reuse the databases an earlier run left in --workdir: migrate them and time aging only",
    )
    args = parser.parse_args()
    if args.aging_only and not args.workdir:
        parser.error("--aging-only needs the --workdir of an earlier run")
    kinds = [args.only] if args.only else ["sqlite", "postgres"]
    if "postgres" in kinds and not os.environ.get("HUIKUAN_BENCH_POSTGRES_URL"):
        print("HUIKUAN_BENCH_POSTGRES_URL is not set: skipping PostgreSQL", file=sys.stderr)
        kinds.remove("postgres")
    with tempfile.TemporaryDirectory(prefix="huikuan-bench-") as tmp:
        workdir = args.workdir.resolve() if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.aging_only:
            rows = [bench_aging_only(kind, args, workdir) for kind in kinds]
        else:
            data = workdir / "data"
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), str(data), "--customers", str(args.customers),
                 "--invoices", str(args.invoices)],
                check=True,
            )  # fmt: skip
            rows = [bench_database(kind, args, data, workdir) for kind in kinds]
    result = {
        "benchmark": "foundation",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "customers": args.customers,
        "invoices": args.invoices,
        "repeat": args.repeat,
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    header = f"{'database':<10} {'import cust. s':>14} {'import inv. s':>14} {'import MB':>10} {'aging s':>8} {'aging MB':>9}"
    print(
        f"foundation benchmark: {args.customers:,} customers, {args.invoices:,} invoices, median of {args.repeat}"
    )
    print(header)
    for row in rows:
        imported = [
            row.get(key, "-")
            for key in ("import_customers_s", "import_invoices_s", "import_invoices_peak_mb")
        ]
        print(
            f"{row['database']:<10} {imported[0]:>14} {imported[1]:>14} "
            f"{imported[2]:>10} {row['aging_s']:>8} {row['aging_peak_mb']:>9}"
        )
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
