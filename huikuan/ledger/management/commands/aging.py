"""``huikuan aging``: receivables by days past due as of a date, as a table, JSON, CSV, XLSX or PDF."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.ledger.aging import buckets_parse
from huikuan.ledger.aging_export import aging_csv, aging_pdf, aging_xlsx
from huikuan.ledger.aging_report import GROUPINGS, aging_build, aging_table_text

FORMATS = ("table", "json", "csv", "xlsx", "pdf")


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _usage_error(f"--as-of: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-30")


class Command(BaseCommand):
    help = "Show receivables by days past due as of a date (point-in-time aging)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            metavar="DATE",
            help="age as of this date, YYYY-MM-DD (default: today in the company time zone)",
        )
        parser.add_argument(
            "--by",
            metavar="|".join(GROUPINGS),
            default="customer",
            help="one row per customer (default) or per collector, grade or currency",
        )
        parser.add_argument(
            "--buckets",
            metavar="30,60,90,180,365",
            default="30,60,90,180,365",
            help="bucket bounds in days past due",
        )
        parser.add_argument(
            "--format", metavar="|".join(FORMATS), default="table", help="output format (default table)"
        )
        parser.add_argument(
            "--output", metavar="FILE", help="write to FILE instead of the screen (needed for xlsx and pdf)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _parse_date(options["as_of"]) if options["as_of"] else timezone.localdate()
        by, output_format, output = options["by"], options["format"], options["output"]
        if by not in GROUPINGS:
            raise _usage_error(f"--by: {by!r} is not one of {', '.join(GROUPINGS)}")
        if output_format not in FORMATS:
            raise _usage_error(f"--format: {output_format!r} is not one of {', '.join(FORMATS)}")
        if output_format in ("xlsx", "pdf") and not output:
            raise _usage_error(
                f"--format {output_format} writes a file: give it with --output FILE.{output_format}"
            )
        try:
            buckets = buckets_parse(options["buckets"])
        except HuikuanError as error:
            raise _usage_error(f"--buckets: {error.message}")

        report = aging_build(as_of=as_of, by=by, buckets=buckets)

        text = ""
        if output_format == "json":
            # Compact: the C encoder is many times faster than the indenting one on big portfolios.
            text = json.dumps(report, ensure_ascii=False) + "\n"
        elif output_format == "csv":
            text = aging_csv(report)
        elif output_format == "table":
            text = aging_table_text(report)
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            if output_format == "xlsx":
                aging_xlsx(report, Path(output))
            elif output_format == "pdf":
                Path(output).write_bytes(aging_pdf(report, language=settings.LANGUAGE_CODE))
            else:
                # A byte-order mark lets Excel open the CSV with Chinese names intact.
                Path(output).write_text(text, encoding="utf-8-sig" if output_format == "csv" else "utf-8")
        except OSError as error:
            raise _usage_error(f"--output: cannot write {output}: {error.strerror or error}")
