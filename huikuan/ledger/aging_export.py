"""The aging report (``aging_build``) as files: CSV, XLSX and PDF, for the command and the web app.

Every export is made from a report already limited to what its reader may see (the report's
``customer_scope``), so a collector's download holds only that collector's customers.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from huikuan.core.money import exponent
from huikuan.ledger.aging_report import amount_grouped

# A PDF is for reading: past this many customers per currency it lists the largest balances
# and says how many more the CSV or XLSX holds.
PDF_CUSTOMERS_PER_CURRENCY = 500


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


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def aging_xlsx(report: dict, target: Path | IO[bytes]) -> None:
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
            + [entry["customer_count"], _decimal_or_none(entry["dso"]), Decimal(entry["overdue_share"])]
        )
        cells = totals[totals.max_row]
        for cell in cells[2 : 2 + len(measures)]:
            cell.number_format = _number_format(currency)
        cells[-2].number_format = "0.0"
        cells[-1].number_format = "0.00%"
    workbook.save(target)


def aging_xlsx_bytes(report: dict) -> bytes:
    out = io.BytesIO()
    aging_xlsx(report, out)
    return out.getvalue()


def _bucket_title(label: str) -> str:
    return _("current") if label == "current" else label


def aging_pdf_html(report: dict, *, language: str, title: str = "") -> str:
    """Return the printable page: totals per currency, then the customers with the largest balances."""
    from huikuan.messaging.letters import FONT_FAMILY

    labels = report["buckets"]
    customers = report.get("customers", [])
    with translation.override(language):
        currencies = []
        for currency, entry in report["totals"].items():
            rows = sorted(
                (row for row in customers if row["currency"] == currency),
                key=lambda row: (-Decimal(row["total"]), row["code"]),
            )
            currencies.append(
                {
                    "currency": currency,
                    "totals": [amount_grouped(entry[label]) for label in labels],
                    "overdue": amount_grouped(entry["overdue"]),
                    "total": amount_grouped(entry["total"]),
                    "dso": entry["dso"],
                    "overdue_share": f"{Decimal(entry['overdue_share']) * 100:.1f}",
                    "customer_count": entry["customer_count"],
                    "customers": [
                        {
                            "code": row["code"],
                            "name": row["name"],
                            "amounts": [row[label] for label in labels],
                        }
                        | {"total": row["total"]}
                        for row in rows[:PDF_CUSTOMERS_PER_CURRENCY]
                    ],
                    "more": max(0, len(rows) - PDF_CUSTOMERS_PER_CURRENCY),
                }
            )
        return render_to_string(
            "ledger/aging.html",
            {
                "html_lang": "zh-Hans" if language == "zh-hans" else "en",
                "font_family": FONT_FAMILY,
                "title": title or _("Receivables aging"),
                "as_of": report["as_of"],
                "buckets": [_bucket_title(label) for label in labels],
                "currencies": currencies,
            },
        )


def aging_pdf(report: dict, *, language: str, title: str = "") -> bytes:
    """Return the report as a PDF (WeasyPrint, Noto CJK fonts, text extractable)."""
    from weasyprint import HTML

    return HTML(string=aging_pdf_html(report, language=language, title=title), base_url=None).write_pdf()
