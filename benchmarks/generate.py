"""Write a synthetic portfolio as import files: N customers and M invoices (CSV).

The data are deterministic for a seed, so that runs on different days measure the same work.
Usage: python benchmarks/generate.py OUT_DIR [--customers N] [--invoices M] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 6, 30)
CURRENCIES = ["CNY"] * 8 + ["USD", "EUR"]


def write_customers(path: Path, count: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "country", "currency", "payment_terms_days", "grade"])
        for n in range(count):
            writer.writerow(
                [f"B{n:07d}", f"Benchmark Customer {n}", "CN", rng.choice(CURRENCIES), rng.choice([30, 45, 60]),
                 rng.choice("ABCD")]
            )  # fmt: skip


def write_invoices(path: Path, count: int, customers: int, rng: random.Random) -> None:
    """Invoices spread over the 18 months before AS_OF, so every aging bucket gets some."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"])
        for n in range(count):
            issued = AS_OF - timedelta(days=rng.randrange(0, 540))
            due = issued + timedelta(days=rng.choice((30, 45, 60)))
            cents = rng.randrange(1_000, 50_000_000)
            writer.writerow(
                [f"BI{n:08d}", f"B{rng.randrange(customers):07d}", issued.isoformat(), due.isoformat(), "CNY",
                 f"{cents // 100}.{cents % 100:02d}"]
            )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    write_customers(args.out_dir / "customers.csv", args.customers, rng)
    write_invoices(args.out_dir / "invoices.csv", args.invoices, args.customers, rng)
    print(f"wrote {args.customers} customers and {args.invoices} invoices to {args.out_dir}")


if __name__ == "__main__":
    main()
