"""The IBM accounts-receivable sample, brought in through the public ``huikuan import`` commands.

The file (``ibm_accounts_receivable.csv``: countryCode, customerID, PaperlessDate, invoiceNumber,
InvoiceDate, DueDate, InvoiceAmount, Disputed, SettledDate, PaperlessBill, DaysToSettle,
DaysLate) has M/D/YYYY dates and amounts in US dollars. It is turned into our three import
formats and imported with ``--date-format %m/%d/%Y``: every invoice is paid on its SettledDate
by a payment naming it.
"""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

from django.core.management import call_command

IBM_FILE = "ibm_accounts_receivable.csv"
CURRENCY = "USD"


def ibm_rows(shared_data: Path) -> list[dict[str, str]]:
    """Return the sample's rows as the file has them."""
    with (shared_data / IBM_FILE).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ibm_files(shared_data: Path, tmp_path: Path) -> dict[str, Path]:
    """Write the sample as customers, invoices and payments files in Huikuan's import formats."""
    rows = ibm_rows(shared_data)
    customers = sorted({row["customerID"] for row in rows})
    return {
        "customers": _write(
            tmp_path / "ibm_customers.csv",
            ["code", "name", "currency", "payment_terms_days"],
            [[code, f"IBM sample customer {code}", CURRENCY, "30"] for code in customers],
        ),
        "invoices": _write(
            tmp_path / "ibm_invoices.csv",
            ["invoice_number", "customer_code", "issue_date", "due_date", "currency", "amount"],
            [
                [
                    r["invoiceNumber"],
                    r["customerID"],
                    r["InvoiceDate"],
                    r["DueDate"],
                    CURRENCY,
                    r["InvoiceAmount"],
                ]
                for r in rows
            ],
        ),
        "payments": _write(
            tmp_path / "ibm_payments.csv",
            ["payment_date", "customer_code", "currency", "amount", "invoice_number", "payment_id"],
            [
                [
                    r["SettledDate"],
                    r["customerID"],
                    CURRENCY,
                    r["InvoiceAmount"],
                    r["invoiceNumber"],
                    f"IBM-{r['invoiceNumber']}",
                ]
                for r in rows
            ],  # fmt: skip
        ),
    }


def import_ibm_sample(shared_data: Path, tmp_path: Path) -> None:
    """Import the IBM sample's customers, invoices and payments with ``huikuan import``."""
    files = ibm_files(shared_data, tmp_path)
    for kind in ("customers", "invoices", "payments"):
        call_command(
            "import", kind, str(files[kind]), "--date-format", "%m/%d/%Y", "--no-progress", stdout=StringIO()
        )
