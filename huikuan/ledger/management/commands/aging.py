"""``huikuan aging``: receivables by days past due as of a date, as a table, JSON, CSV or XLSX."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huikuan.core.errors import HuikuanError
from huikuan.core.money import exponent
from huikuan.ledger.aging import buckets_parse
from huikuan.ledger.aging_report import GROUPINGS, aging_build, aging_table_text

FORMATS = ("table", "json", "csv", "xlsx")


def _usage_error(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _usage_error(f"--as-of: {text!r} is not a date; write it as YYYY-MM-DD, e.g. 2024-06-30")


def _row_key(report: dict) -> list[str]:
    by = report.get("by", "customer")
    if by == "customer":
        return ["code", "name", "currency"]
    return ["currency"] if by == "currency" else [by, "currency"]


def _rows(report: dict) -> list[dict[str, Any]]:
    """Return the rows to export: customers, or the groups when the report is grouped."""
    by = report.get("by", "customer")
    if by == "customer":
        return report["customers"]
    return [{by: row["key"] or "", **row} for row in report["groups"]]


def aging_csv(report: dict) -> str:
    """Return the report as CSV: a header, then one row per customer (or group)."""
    header = _row_key(report) + report["buckets"] + ["total"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in _rows(report):
        writer.writerow([row[column] for column in header])
    return out.getvalue()


def _number_format(currency: str) -> str:
    places = exponent(currency)
    return "#,##0" + ("." + "0" * places if places else "")


def aging_xlsx(report: dict, path: Path) -> None:
    """Write the report as an XLSX workbook: an aging sheet and a totals sheet, amounts numeric."""
    from openpyxl import Workbook

    labels = report["buckets"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Aging"
    keys = _row_key(report)
    sheet.append(keys + labels + ["total"])
    for row in _rows(report):
        sheet.append([row[key] for key in keys] + [Decimal(row[label]) for label in labels + ["total"]])
        number_format = _number_format(row["currency"])
        for cell in sheet[sheet.max_row][len(keys) :]:
            cell.number_format = number_format
    totals = workbook.create_sheet("Totals")
    measures = labels + ["overdue", "total"]
    totals.append(["as_of", "currency", *measures, "customer_count", "dso", "overdue_share"])
    for currency, entry in report["totals"].items():
        totals.append(
            [report["as_of"], currency, *(Decimal(entry[m]) for m in measures)]
            + [entry["customer_count"], Decimal(entry["dso"]), Decimal(entry["overdue_share"])]
        )
        cells = totals[totals.max_row]
        for cell in cells[2 : 2 + len(measures)]:
            cell.number_format = _number_format(currency)
        cells[-2].number_format = "0.0"
        cells[-1].number_format = "0.00%"
    workbook.save(path)


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
            "--output", metavar="FILE", help="write to FILE instead of the screen (needed for xlsx)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _parse_date(options["as_of"]) if options["as_of"] else timezone.localdate()
        by, output_format, output = options["by"], options["format"], options["output"]
        if by not in GROUPINGS:
            raise _usage_error(f"--by: {by!r} is not one of {', '.join(GROUPINGS)}")
        if output_format not in FORMATS:
            raise _usage_error(f"--format: {output_format!r} is not one of {', '.join(FORMATS)}")
        if output_format == "xlsx" and not output:
            raise _usage_error("--format xlsx writes a file: give it with --output FILE.xlsx")
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
            else:
                # A byte-order mark lets Excel open the CSV with Chinese names intact.
                Path(output).write_text(text, encoding="utf-8-sig" if output_format == "csv" else "utf-8")
        except OSError as error:
            raise _usage_error(f"--output: cannot write {output}: {error.strerror or error}")
