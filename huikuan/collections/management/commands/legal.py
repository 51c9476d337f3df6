"""``huikuan legal pack|letter|handover|recover|end|list``: agencies, lawyers and the evidence pack."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.collections.legal import (
    HandoverNotFound,
    handover_create,
    handover_end,
    recovery_record,
)
from huikuan.collections.legal_letter import demand_letter_filename, demand_letter_pdf, letter_language
from huikuan.collections.legal_models import HandoverStatus, LegalHandover
from huikuan.collections.legal_pack import evidence_pack_build
from huikuan.core.errors import HuikuanError
from huikuan.core.money import Money, format_minor
from huikuan.customers.selectors import customer_get
from huikuan.ledger.models import Invoice


def _date(text: str | None, option: str) -> date:
    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option}: {text!r} is not a date; write it as YYYY-MM-DD", returncode=2
        ) from None


def _handover_get(handover_id: int) -> LegalHandover:
    """The command acts for the company: it reaches every customer's hand-overs."""
    try:
        return LegalHandover.objects.select_related("customer").get(pk=handover_id)
    except LegalHandover.DoesNotExist:
        raise HandoverNotFound(f"hand-over {handover_id} does not exist") from None


def _row(handover: LegalHandover) -> dict[str, Any]:
    money = handover.currency
    return {
        "id": handover.pk,
        "customer": handover.customer.code,
        "kind": handover.kind,
        "agent": handover.agent_name,
        "handed_over_date": handover.handed_over_date.isoformat(),
        "currency": money,
        "amount": format_minor(handover.amount_minor, money),
        "commission_percent": f"{handover.commission_percent:f}",
        "recovered": format_minor(handover.recovered_minor, money),
        "commission": format_minor(handover.commission_minor, money),
        "status": handover.status,
    }


class Command(BaseCommand):
    help = "Hand debts to collection agencies or lawyers, record recoveries, and build evidence packs."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{pack,letter,handover,recover,end,list,incentives}"
        )
        pack = actions.add_parser(
            "pack", help="write a customer's evidence pack (ZIP with a SHA-256 manifest)"
        )
        pack.add_argument("code", metavar="CODE")
        pack.add_argument(
            "--out", metavar="FILE", help="where to write it (default: evidence-CODE-DATE.zip here)"
        )
        pack.add_argument(
            "--as-of", metavar="DATE", help="the day the interest is reckoned to (default: today)"
        )
        pack.add_argument(
            "--language", choices=("zh-hans", "en"), help="the demand letter's (default: the customer's)"
        )
        letter = actions.add_parser("letter", help="write a customer's demand letter (催告函) as a PDF")
        letter.add_argument("code", metavar="CODE")
        letter.add_argument("--out", metavar="FILE")
        letter.add_argument("--as-of", metavar="DATE")
        letter.add_argument("--language", choices=("zh-hans", "en"))
        handover = actions.add_parser("handover", help="hand a customer's debt to an agency or a lawyer")
        handover.add_argument("code", metavar="CODE")
        handover.add_argument("--to", required=True, choices=("agency", "lawyer"), dest="kind")
        handover.add_argument("--name", required=True, help="the agency or the lawyer")
        handover.add_argument(
            "--commission", required=True, metavar="PERCENT", help="of what is recovered, e.g. 15"
        )
        handover.add_argument(
            "--invoice", action="append", default=[], help="only these invoices (repeatable)"
        )
        handover.add_argument("--currency", help="which currency's open invoices, when there are several")
        handover.add_argument("--date", help="the day it was handed over (default: today)")
        handover.add_argument("--reference", default="", help="their file number")
        handover.add_argument("--notes", default="")
        recover = actions.add_parser("recover", help="record money an agency or lawyer recovered")
        recover.add_argument("id", type=int, metavar="HANDOVER")
        recover.add_argument("--amount", required=True)
        recover.add_argument("--date", help="default: today")
        recover.add_argument("--notes", default="")
        end = actions.add_parser("end", help="end a hand-over: returned by the agent, or closed")
        end.add_argument("id", type=int, metavar="HANDOVER")
        end.add_argument("--status", required=True, choices=("returned", "closed"))
        end.add_argument("--date", help="default: today")
        end.add_argument("--reason", default="")
        listing = actions.add_parser("list", help="list hand-overs")
        listing.add_argument("--status", choices=[value.lower() for value in HandoverStatus.values])
        listing.add_argument("--customer", metavar="CODE")
        listing.add_argument("--format", choices=("table", "json"), default="table")
        incentives = actions.add_parser(
            "incentives", help="book the discount and settlement offers taken, expire those past their day"
        )
        incentives.add_argument("--as-of", metavar="DATE", help="default: today")
        incentives.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=1) from None

    def _pack(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        as_of = _date(options["as_of"], "--as-of")
        pack = evidence_pack_build(customer=customer, as_of=as_of, language=options["language"])
        out = Path(options["out"] or pack.filename)
        shutil.move(str(pack.path), out)
        self.stdout.write(
            f"{out}: {len(pack.entries)} files and manifest.json ({out.stat().st_size:,} bytes)"
        )

    def _letter(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        as_of = _date(options["as_of"], "--as-of")
        language = letter_language(customer, options["language"])
        out = Path(options["out"] or demand_letter_filename(customer, as_of, language))
        out.write_bytes(demand_letter_pdf(customer=customer, as_of=as_of, language=language))
        self.stdout.write(f"{out} written")

    def _handover(self, options: dict[str, Any]) -> None:
        customer = customer_get(code=options["code"])
        invoices = list(Invoice.objects.filter(customer=customer, number__in=options["invoice"]))
        missing = sorted(set(options["invoice"]) - {invoice.number for invoice in invoices})
        if missing:
            raise CommandError(
                f"--invoice: {customer.code} has no invoice {', '.join(missing)}", returncode=2
            )
        handover = handover_create(
            customer=customer,
            user=None,
            kind=options["kind"],
            agent_name=options["name"],
            commission_percent=options["commission"],
            handed_over_date=_date(options["date"], "--date"),
            invoices=invoices or None,
            currency=options["currency"],
            agent_reference=options["reference"],
            notes=options["notes"],
        )
        row = _row(handover)
        self.stdout.write(
            f"Hand-over {row['id']}: {row['currency']} {row['amount']} of {customer.code} to {row['agent']}; "
            f"the customer is now with legal."
        )

    def _recover(self, options: dict[str, Any]) -> None:
        handover = _handover_get(options["id"])
        try:
            amount = Money.of(options["amount"], handover.currency)
        except ValueError:
            raise CommandError(f"--amount: {options['amount']!r} is not an amount", returncode=2) from None
        recovery = recovery_record(
            handover=handover,
            user=None,
            amount=amount,
            recovered_date=_date(options["date"], "--date"),
            notes=options["notes"],
        )
        handover.refresh_from_db()
        self.stdout.write(
            f"Recovered {handover.currency} {format_minor(recovery.amount_minor, handover.currency)}, "
            f"commission {format_minor(recovery.commission_minor, handover.currency)}; "
            f"hand-over {handover.pk} is {handover.status.lower()}."
        )

    def _end(self, options: dict[str, Any]) -> None:
        handover = _handover_get(options["id"])
        handover = handover_end(
            handover=handover,
            user=None,
            status=options["status"],
            ended_date=_date(options["date"], "--date"),
            reason=options["reason"],
        )
        self.stdout.write(f"Hand-over {handover.pk} is {handover.status.lower()}.")

    def _incentives(self, options: dict[str, Any]) -> None:
        from huikuan.collections.incentives import incentives_review

        result = incentives_review(as_of=_date(options["as_of"], "--as-of"))
        if options["format"] == "json":
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Offers taken and booked: {result['booked']}; expired: {result['expired']}.")

    def _list(self, options: dict[str, Any]) -> None:
        handovers = LegalHandover.objects.select_related("customer").order_by("-handed_over_date", "-id")
        if options["status"]:
            handovers = handovers.filter(status=options["status"].upper())
        if options["customer"]:
            handovers = handovers.filter(customer__code=options["customer"])
        rows = [_row(handover) for handover in handovers.iterator(1000)]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        columns = ("id", "customer", "kind", "agent", "handed_over_date", "currency", "amount", "recovered",
                   "commission", "status")  # fmt: skip
        widths = {column: max([len(column), *(len(str(row[column])) for row in rows)]) for column in columns}
        self.stdout.write("  ".join(column.ljust(widths[column]) for column in columns))
        for row in rows:
            self.stdout.write("  ".join(str(row[column]).ljust(widths[column]) for column in columns))
