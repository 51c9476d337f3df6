"""Reference rates as dated data: reading, setting and importing them, and the table interest uses.

A reference rate (Bank of England base rate, ECB main refinancing rate, China's one-year LPR) is
in force from its ``effective_date`` until the next row of its series. Huikuan ships the
published history in ``dunning/data/reference_rates.csv`` (loaded by migration 0002); the user
adds later changes with ``huikuan rates set`` or ``huikuan rates import``. Rates are decimal
text in percent, never floats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.db.models import QuerySet

from huikuan.core.errors import HuikuanError
from huikuan.dunning.interest import RateTable
from huikuan.dunning.models import RateSeries, ReferenceRate

SHIPPED_RATES_PATH = Path(__file__).resolve().parent / "data" / "reference_rates.csv"
# The last date the shipped table was checked against the central banks' publications.
SHIPPED_RATES_UNTIL = date(2025, 12, 31)

SERIES_ALIASES = {
    "BOE": RateSeries.BOE_BASE,
    "BOE_BASE": RateSeries.BOE_BASE,
    "UK": RateSeries.BOE_BASE,
    "ECB": RateSeries.ECB_MRO,
    "ECB_MRO": RateSeries.ECB_MRO,
    "EU": RateSeries.ECB_MRO,
    "LPR": RateSeries.CN_LPR_1Y,
    "CN_LPR": RateSeries.CN_LPR_1Y,
    "CN_LPR_1Y": RateSeries.CN_LPR_1Y,
}
COLUMNS = ("series", "effective_date", "rate_percent", "source")


class RateInvalid(HuikuanError):
    code = "reference_rate_invalid"


class RateFileInvalid(HuikuanError):
    code = "reference_rate_file_invalid"


@dataclass(frozen=True, slots=True)
class RateRow:
    series: str
    effective_date: date
    rate_percent: Decimal
    source: str = ""


def series_parse(text: str) -> str:
    """Return the series code for "BOE_BASE", "boe", "ecb", "lpr" ..., or raise RateInvalid."""
    key = (text or "").strip().upper().replace("-", "_")
    if key not in SERIES_ALIASES:
        raise RateInvalid(f"unknown rate series {text!r}; choose one of {', '.join(RateSeries.values)}")
    return str(SERIES_ALIASES[key])


def rate_parse(text: str | Decimal) -> Decimal:
    """Return a rate in percent from text such as "5.25", or raise RateInvalid."""
    try:
        value = text if isinstance(text, Decimal) else Decimal(str(text).strip().rstrip("%"))
    except InvalidOperation:
        raise RateInvalid(f"{text!r} is not a rate; write it in percent, e.g. 5.25")
    if not value.is_finite() or not Decimal(-100) < value < Decimal(100):
        raise RateInvalid(f"{text!r} is not a rate; write it in percent, e.g. 5.25")
    return value


def date_parse(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise RateInvalid(f"{text!r} is not a date; write it as YYYY-MM-DD")


def rate_text(value: Decimal) -> str:
    """Return the stored text of a rate: plain decimal, no exponent ("0.10", "5.25")."""
    return f"{value:f}"


def rate_rows_read(text: str) -> list[RateRow]:
    """Return the rows of a rate CSV (series, effective_date, rate_percent[, source]).

    Raises RateFileInvalid naming the first bad line, so that nothing of a bad file is loaded.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [column for column in COLUMNS[:3] if column not in (reader.fieldnames or [])]
    if missing:
        raise RateFileInvalid(
            f"the file needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}"
        )
    rows: list[RateRow] = []
    seen: set[tuple[str, date]] = set()
    for line, record in enumerate(reader, start=2):
        try:
            row = RateRow(
                series=series_parse(record["series"] or ""),
                effective_date=date_parse(record["effective_date"] or ""),
                rate_percent=rate_parse(record["rate_percent"] or ""),
                source=(record.get("source") or "").strip()[:200],
            )
        except RateInvalid as error:
            raise RateFileInvalid(f"line {line}: {error.message}")
        key = (row.series, row.effective_date)
        if key in seen:
            raise RateFileInvalid(f"line {line}: {row.series} {row.effective_date} appears twice")
        seen.add(key)
        rows.append(row)
    return rows


def shipped_rate_rows() -> list[RateRow]:
    """Return the published rates Huikuan ships (see docs/interest.md for how far they reach)."""
    return rate_rows_read(SHIPPED_RATES_PATH.read_text(encoding="utf-8"))


# --- selectors ---------------------------------------------------------------------------


def reference_rate_list(*, series: str | None = None) -> QuerySet[ReferenceRate]:
    rates = ReferenceRate.objects.order_by("series", "effective_date")
    return rates.filter(series=series_parse(series)) if series else rates


def rate_table_load() -> RateTable:
    """Return every series as a date-sorted list of (effective_date, percent), in one query."""
    table: dict[str, list[tuple[date, Decimal]]] = {}
    for series, effective, text in ReferenceRate.objects.order_by("series", "effective_date").values_list(
        "series", "effective_date", "rate_percent"
    ):
        try:
            table.setdefault(series, []).append((effective, Decimal(text)))
        except InvalidOperation:
            raise RateInvalid(
                f"the stored {series} rate of {effective} ({text!r}) is not a number; correct it"
            )
    return table


# --- services ----------------------------------------------------------------------------


@transaction.atomic
def reference_rate_set(
    *, series: str, effective_date: date, rate_percent: Decimal | str, source: str = ""
) -> tuple[ReferenceRate, bool]:
    """Record the rate of a series from a date, replacing that date's rate; return it and whether it is new."""
    code = series_parse(series)
    value = rate_parse(rate_percent)
    rate, created = ReferenceRate.objects.update_or_create(
        series=code,
        effective_date=effective_date,
        defaults={"rate_percent": rate_text(value), "source": (source or "entered by hand")[:200]},
    )
    return rate, created


@transaction.atomic
def reference_rates_import(*, rows: Iterable[RateRow], overwrite: bool = True) -> dict[str, int]:
    """Load rate rows set-based: new dates are added, a changed rate replaces the stored one.

    With ``overwrite=False`` stored rows are left as they are (the shipped table never replaces
    what a user entered). Returns counts of created, updated and unchanged rows.
    """
    rows = list(rows)
    stored = {
        (rate.series, rate.effective_date): rate
        for rate in ReferenceRate.objects.filter(series__in={row.series for row in rows})
    }
    created: list[ReferenceRate] = []
    updated: list[ReferenceRate] = []
    unchanged = 0
    for row in rows:
        existing = stored.get((row.series, row.effective_date))
        if existing is None:
            created.append(
                ReferenceRate(
                    series=row.series,
                    effective_date=row.effective_date,
                    rate_percent=rate_text(row.rate_percent),
                    source=row.source,
                )
            )
        elif overwrite and _differs(existing.rate_percent, row.rate_percent):
            existing.rate_percent = rate_text(row.rate_percent)
            existing.source = row.source or existing.source
            updated.append(existing)
        else:
            unchanged += 1
    ReferenceRate.objects.bulk_create(created, batch_size=500)
    ReferenceRate.objects.bulk_update(updated, ["rate_percent", "source"], batch_size=500)
    return {"created": len(created), "updated": len(updated), "unchanged": unchanged}


def _differs(stored: str, value: Decimal) -> bool:
    try:
        return Decimal(stored) != value
    except InvalidOperation:
        return True
