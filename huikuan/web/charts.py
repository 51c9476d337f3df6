"""The aging overview as the home page draws it: per-currency bucket amounts and bar sizes.

Pure: it takes the aging report's JSON totals (decimal strings, one currency at a time) and
returns rows for the template, so that the bar arithmetic is tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from huikuan.ledger.aging import CURRENT


@dataclass(frozen=True)
class BucketBar:
    label: str
    amount: Decimal
    percent: Decimal  # of the currency's largest bucket: the bar length, 0-100
    share: Decimal  # of the currency's total, 0-100
    overdue: bool


@dataclass(frozen=True)
class CurrencyAging:
    currency: str
    bars: list[BucketBar]
    overdue: Decimal
    total: Decimal
    overdue_share: Decimal  # 0-100
    dso: Decimal | None  # days sales outstanding (count-back), when the report gives it
    customer_count: int | None


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    if whole <= 0:
        return Decimal(0)
    return (part * 100 / whole).quantize(Decimal("0.1"))


def aging_chart(*, buckets: Sequence[str], totals: Mapping[str, Mapping[str, Any]]) -> list[CurrencyAging]:
    """Return one row per currency (alphabetical) with a bar per bucket, largest bucket = 100 %."""
    rows = []
    for currency in sorted(totals):
        cells = totals[currency]
        amounts = [Decimal(cells.get(label) or 0) for label in buckets]
        total = Decimal(cells.get("total") or sum(amounts, Decimal(0)))
        overdue = Decimal(
            cells.get("overdue")
            or sum((a for a, b in zip(amounts, buckets, strict=True) if b != CURRENT), Decimal(0))
        )
        largest = max(amounts, default=Decimal(0))
        bars = [
            BucketBar(
                label=label,
                amount=value,
                percent=_percent(value, largest),
                share=_percent(value, total),
                overdue=label != CURRENT,
            )
            for label, value in zip(buckets, amounts, strict=True)
        ]
        rows.append(
            CurrencyAging(
                currency=currency,
                bars=bars,
                overdue=overdue,
                total=total,
                overdue_share=_percent(overdue, total),
                dso=Decimal(cells["dso"]) if cells.get("dso") else None,
                customer_count=cells.get("customer_count"),
            )
        )
    return rows
