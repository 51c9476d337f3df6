"""``huikuan import customers|invoices|payments FILE``: bring a company's own data in, all or nothing."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huikuan.core.tabular import ImportRejected, ImportResult, date_format_normalise
from huikuan.customers.imports import customers_import
from huikuan.ledger.imports import invoices_import, payments_import

IMPORTERS = {"customers": customers_import, "invoices": invoices_import, "payments": payments_import}
#: Problems printed before "… and N more problems".
PROBLEMS_SHOWN = 100
#: The exit code of a file that was refused (argparse uses 2 for bad arguments too).
EXIT_REJECTED = 2

_DETAILS = {
    "customers_created": "customers created",
    "contacts_created": "contacts created",
    "contacts_updated": "contacts updated",
    "allocations": "allocations",
    "invoices_paid": "invoices paid in full",
    "short_payments": "short payments",
}


class Command(BaseCommand):
    help = (
        "Import customers, invoices or payments from a CSV or XLSX file. Every row is checked first; "
        "one bad row and nothing is written (exit code 2), with each problem as FILE:ROW:COLUMN: message. "
        "Columns and rules: docs/import-formats.md."
    )
    # Only the database matters here; the URL and admin checks would only slow a large import.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(IMPORTERS), help="what the file holds")
        parser.add_argument("file", help="a .csv or .xlsx file")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, write nothing")
        parser.add_argument(
            "--encoding",
            help="the CSV's text encoding (default: UTF-8 with or without BOM, else GB18030/GBK)",
        )
        parser.add_argument(
            "--date-format",
            help="strftime pattern for day/month dates such as 1/31/2024, e.g. %%m/%%d/%%Y or %%d/%%m/%%Y",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        date_format = options["date_format"]
        if date_format:
            try:
                date_format = date_format_normalise(date_format)
            except ValueError as error:
                raise CommandError(str(error), returncode=EXIT_REJECTED)
        importer = IMPORTERS[options["kind"]]
        try:
            result = importer(
                options["file"],
                dry_run=options["dry_run"],
                encoding=options["encoding"],
                date_format=date_format,
                progress=not options["no_progress"] and sys.stderr.isatty(),
            )
        except ImportRejected as rejected:
            for line in rejected.result.problem_lines(PROBLEMS_SHOWN):
                self.stderr.write(line)
            raise CommandError(rejected.message, returncode=EXIT_REJECTED)
        self.stdout.write(summary(result))


def summary(result: ImportResult) -> str:
    """Return the one-paragraph report of an import (or of what a dry run would do)."""
    verb = "would be " if result.dry_run else ""
    counts = f"{result.created} {verb}created, {result.updated} {verb}updated, {result.unchanged} unchanged"
    rows = f"{result.rows} row{'' if result.rows == 1 else 's'} of {result.kind}"
    lines = [f"{result.path}: {rows}: {counts}"]
    details = [
        f"{_DETAILS.get(name, name.replace('_', ' '))}: {n}" for name, n in result.details.items() if n
    ]
    if details:
        lines.append("  " + "; ".join(details))
    if result.dry_run:
        lines.append("dry run: nothing was written")
    return "\n".join(lines)
