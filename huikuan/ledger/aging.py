"""The pure core of aging: bucket bounds and labels, bucket assignment, DSO by count-back.

No database here: ``aging_report.py`` feeds these functions with what its queries return.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from huikuan.core.errors import HuikuanError

DEFAULT_BUCKETS: tuple[int, ...] = (30, 60, 90, 180, 365)
CURRENT = "current"


class BucketsInvalid(HuikuanError):
    """The bucket bounds are not positive whole days in increasing order."""

    code = "aging_buckets_invalid"


def buckets_parse(text: str) -> tuple[int, ...]:
    """Turn ``"30,60,90"`` into validated bounds, or raise BucketsInvalid with a clear message."""
    parts = [part.strip() for part in (text or "").split(",")]
    if not any(parts):
        raise BucketsInvalid("buckets must be a list of days such as 30,60,90,180,365")
    bounds: list[int] = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            raise BucketsInvalid(f"bucket {part!r} is not a whole number of days (e.g. 30,60,90,180,365)")
        bounds.append(int(part))
    return buckets_validate(bounds)


def buckets_validate(bounds: Iterable[int]) -> tuple[int, ...]:
    """Return the bounds as a tuple when they are positive and strictly increasing."""
    result = tuple(bounds)
    if not result:
        raise BucketsInvalid("at least one bucket bound is needed, such as 30")
    for bound in result:
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise BucketsInvalid(f"bucket bound {bound!r} must be a whole number of days of at least 1")
    for lower, upper in zip(result, result[1:], strict=False):
        if upper <= lower:
            raise BucketsInvalid(f"buckets must increase: {upper} comes after {lower}")
    return result


def bucket_labels(bounds: Sequence[int]) -> list[str]:
    """Name the buckets: ``current``, ``1-30``, ``31-60``, …, and ``365+`` after the last bound."""
    labels = [CURRENT]
    lower = 1
    for bound in bounds:
        labels.append(f"{lower}-{bound}")
        lower = bound + 1
    labels.append(f"{bounds[-1]}+")
    return labels


def bucket_index(days_past_due: int, bounds: Sequence[int]) -> int:
    """Return the position in ``bucket_labels(bounds)`` of an amount this many days past due."""
    if days_past_due <= 0:
        return 0
    for position, bound in enumerate(bounds, start=1):
        if days_past_due <= bound:
            return position
    return len(bounds) + 1


def bucket_due_dates(as_of: date, bounds: Sequence[int]) -> list[date]:
    """Return the earliest due date of each bucket but the last, so SQL can compare dates only.

    An amount is in bucket ``k`` when its due date is on or after the k-th date and before the
    (k-1)-th: ``due_date >= as_of`` is current, ``due_date >= as_of - 30`` is 1-30, and so on.
    Comparing dates instead of subtracting them keeps the SQL the same on every database.
    """
    return [as_of] + [as_of - timedelta(days=bound) for bound in bounds]


# --- DSO ---------------------------------------------------------------------------------

Month = tuple[int, int]  # (year, month)


def month_key(day: date) -> Month:
    """Return the (year, month) a day belongs to: how sales are summed for the count-back."""
    return (day.year, day.month)


def month_shift(month: Month, months: int) -> Month:
    """Return the month ``months`` later (earlier when negative)."""
    index = month[0] * 12 + month[1] - 1 + months
    return (index // 12, index % 12 + 1)


def dso_count_back(
    *, as_of: date, receivable_minor: int, monthly_sales: Mapping[Month, int], earliest: Month | None = None
) -> Decimal | None:
    """Return days sales outstanding by the count-back method, to one decimal place.

    Walk back month by month from ``as_of`` (its own month counts only up to ``as_of``): while
    the receivable left is more than the month's invoiced sales, count the whole month's days
    and take its sales off; in the month whose sales cover what is left, count the matching
    fraction of its days. A month without sales counts its days and covers nothing.

    The walk stops at ``earliest`` (default: the oldest month with sales); if the receivable is
    not covered by then, the answer is None — the caller may fetch older months and ask again.
    """
    if receivable_minor <= 0:
        return Decimal("0.0")
    month = month_key(as_of)
    if earliest is None:
        earliest = min(monthly_sales, default=month)
    remaining = Decimal(receivable_minor)
    days = Decimal(0)
    while month >= earliest:
        length = as_of.day if month == month_key(as_of) else calendar.monthrange(*month)[1]
        sales = monthly_sales.get(month, 0)
        if sales > 0 and remaining <= sales:
            days += Decimal(length) * remaining / Decimal(sales)
            return days.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        days += length
        remaining -= max(sales, 0)
        month = month_shift(month, -1)
    return None


def share(part_minor: int, whole_minor: int) -> Decimal:
    """Return part / whole to four places (``0.4231``), 0 when the whole is nothing."""
    if whole_minor <= 0:
        return Decimal("0.0000")
    return (Decimal(part_minor) / Decimal(whole_minor)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
