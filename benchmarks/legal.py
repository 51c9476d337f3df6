"""Benchmark the evidence pack for one customer with a long history.

Builds a fresh SQLite database in a work directory holding one customer with --invoices invoices (half of them paid by
payments allocated to them), --messages sent e-mails, --interactions calls and --changes audit
entries, then times ``evidence_pack_build`` and reports the time, the peak memory of the process
and the size of the ZIP, and checks that the manifest re-hashes.

Usage: python benchmarks/legal.py [--invoices 20000] [--messages 5000] [--interactions 5000]
                                  [--changes 20000] [--workdir DIR]
Prints a table and writes benchmarks/results/legal.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = date(2026, 6, 30)


def _setup(workdir: Path) -> None:
    os.environ["HUIKUAN_HOME"] = str(workdir)
    os.environ.pop("HUIKUAN_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _history(args: argparse.Namespace) -> object:
    from huikuan.collections.models import Interaction
    from huikuan.core.models import AuditEntry
    from huikuan.customers.services import customer_create
    from huikuan.ledger.models import Allocation, Invoice, Payment
    from huikuan.ledger.services import invoice_balances_refresh, payment_balances_refresh
    from huikuan.messaging.models import OutboxMessage

    customer = customer_create(code="BENCH-LEGAL", name="华东贸易有限公司", language="zh-hans")
    start = AS_OF - timedelta(days=3 * 365)
    invoices = [
        Invoice(
            number=f"BL-{n:07d}",
            customer=customer,
            issue_date=start + timedelta(days=n % 1000),
            due_date=start + timedelta(days=n % 1000 + 30),
            currency="CNY",
            amount_minor=100_000 + n,
            open_minor=100_000 + n,
        )
        for n in range(args.invoices)
    ]
    Invoice.objects.bulk_create(invoices, batch_size=2000)
    ids = list(
        Invoice.objects.filter(customer=customer).order_by("id").values_list("id", "amount_minor", "due_date")
    )
    paid = ids[: len(ids) // 2]
    payments = [
        Payment(
            customer=customer,
            received_date=due,
            currency="CNY",
            amount_minor=amount,
            unapplied_minor=0,
            reference=f"PAY-{n}",
        )
        for n, (_id, amount, due) in enumerate(paid)
    ]
    Payment.objects.bulk_create(payments, batch_size=2000)
    payment_ids = list(Payment.objects.filter(customer=customer).order_by("id").values_list("id", flat=True))
    Allocation.objects.bulk_create(
        [
            Allocation(payment_id=payment_id, invoice_id=invoice_id, amount_minor=amount, allocation_date=due)
            for payment_id, (invoice_id, amount, due) in zip(payment_ids, paid, strict=True)
        ],
        batch_size=2000,
    )
    invoice_balances_refresh(Invoice.objects.filter(customer=customer))
    payment_balances_refresh(Payment.objects.filter(customer=customer))
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                idempotency_key=f"bench:{n}",
                message_id=f"<bench.{n}@huikuan.test>",
                channel="EMAIL",
                status="SENT",
                customer=customer,
                template_key="reminder",
                not_before_at=moment,
                sender="ar@huikuan.test",
                recipient="finance@example.com",
                subject=f"逾期提醒 {n}",
                body_text="您好,贵司有发票已逾期,请尽快安排付款。" * 10,
                attempts=1,
                sent_at=moment + timedelta(hours=n),
            )
            for n in range(args.messages)
        ],
        batch_size=2000,
    )
    Interaction.objects.bulk_create(
        [
            Interaction(
                customer=customer,
                kind="CALL",
                outcome="NO_ANSWER",
                notes="无人接听",
                occurred_at=moment + timedelta(hours=n, minutes=30),
            )
            for n in range(args.interactions)
        ],
        batch_size=2000,
    )
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor_label="system",
                customer=customer,
                entity="ledger.invoice",
                entity_id=str(n),
                action="UPDATE",
                before={"due_date": "2024-01-01"},
                after={"due_date": "2024-02-01"},
            )
            for n in range(args.changes)
        ],
        batch_size=2000,
    )
    return customer


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--interactions", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument(
        "--timeline-pdf-max", type=int, help="events in the timeline PDF (the setting's default)"
    )
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="huikuan-bench-legal-"))
    workdir.mkdir(parents=True, exist_ok=True)
    _setup(workdir)
    from django.conf import settings
    from django.db import connection

    if args.timeline_pdf_max is not None:
        settings.HUIKUAN_LEGAL_TIMELINE_PDF_MAX = args.timeline_pdf_max

    from huikuan.collections.legal_pack import evidence_pack_build

    customer = _history(args)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import huikuan.collections.legal_pack as legal_pack

    steps: dict[str, float] = {}
    timed_pdf = legal_pack._write_timeline

    def write_timeline(*arguments: object, **keywords: object) -> None:
        mark = time.perf_counter()
        timed_pdf(*arguments, **keywords)  # type: ignore[arg-type]
        steps["timeline_seconds"] = round(time.perf_counter() - mark, 2)

    legal_pack._write_timeline = write_timeline  # type: ignore[assignment]
    began = time.perf_counter()
    pack = evidence_pack_build(customer=customer, as_of=AS_OF, target=workdir / "pack.zip")  # type: ignore[arg-type]
    seconds = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with zipfile.ZipFile(pack.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"], entry["path"]
    events = args.invoices + args.invoices // 2 + args.messages + args.interactions + args.changes
    result = {
        "database": connection.vendor,
        "invoices": args.invoices,
        "messages": args.messages,
        "interactions": args.interactions,
        "changes": args.changes,
        "timeline_events": events,
        "files": len(manifest["files"]),
        "timeline_pdf_max": legal_pack.timeline_pdf_max(),
        "seconds": round(seconds, 2),
        **steps,
        "zip_bytes": pack.path.stat().st_size,
        "peak_rss_mb_before": round(rss_before / 1024, 1),
        "peak_rss_mb_after": round(rss_after / 1024, 1),
        "python": platform.python_version(),
    }
    for key, value in result.items():
        print(f"{key:22} {value}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "legal.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
