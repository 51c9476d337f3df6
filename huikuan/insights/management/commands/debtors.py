"""``huikuan debtors classify``: why each overdue customer does not pay (PLAYBOOK §5)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.calendars import company_date
from huikuan.core.errors import HuikuanError
from huikuan.insights.models import DebtorType


def _as_of(text: str | None) -> date:
    if not text:
        return company_date(timezone.now())
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"--as-of: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-23", returncode=2
        )


def _total_setter(bar: Any) -> Any:
    def set_total(total: int) -> None:
        bar.total = total
        bar.refresh()

    return set_total


class Command(BaseCommand):
    help = "Classify every overdue customer as a malicious, technical, competitive or reason-based debtor."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{classify}")
        classify = actions.add_parser(
            "classify", help="classify every overdue customer from its record; keeps collectors' judgements"
        )
        classify.add_argument("--as-of", help="the business date (default: today)")
        classify.add_argument("--format", choices=("table", "json"), default="table")
        classify.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except HuikuanError as error:
            raise CommandError(error.message, returncode=2)

    def _classify(self, options: dict[str, Any]) -> None:
        from huikuan.insights.services import debtors_classify

        as_of = _as_of(options["as_of"])
        bar = None
        if options["format"] == "table" and not options["no_progress"] and sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(unit="customer", file=sys.stderr, leave=False, desc="classifying")
        try:
            result = debtors_classify(
                as_of=as_of,
                progress=bar.update if bar is not None else None,
                on_total=_total_setter(bar) if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(f"Classified {result.customers} overdue customers as of {as_of.isoformat()}.")
        for value, label in DebtorType.choices:
            self.stdout.write(f"  {str(label):<28} {result.counts.get(value, 0):>8}")
        self.stdout.write(
            f"Written: {result.written}; collectors' judgements kept: {result.kept_judgements}; "
            f"no longer overdue: {result.retired}."
        )
