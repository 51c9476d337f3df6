"""Template filters for amounts and due dates, formatted for the reader's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import template
from django.utils import numberformat
from django.utils.formats import get_format
from django.utils.translation import gettext_lazy

from huikuan.core.money import exponent, from_minor
from huikuan.web.priority import Priority, priority_explain

register = template.Library()


@register.filter
def money(minor: int | None, currency: str) -> str:
    """Format minor units as ``1,234,567.89`` with the currency's exact number of decimals.

    Grouping by thousands is forced in every language: it is how amounts appear on Chinese and
    English statements alike, whatever the locale's general number format says.
    """
    if minor is None or not currency:
        return ""
    return amount(from_minor(minor, currency), currency)


@register.filter
def amount(value: Decimal | str | None, currency: str) -> str:
    """Format a decimal amount (e.g. a decimal string from a report) like :func:`money`."""
    if value is None or value == "" or not currency:
        return ""
    return numberformat.format(
        Decimal(value),
        decimal_sep=get_format("DECIMAL_SEPARATOR"),
        decimal_pos=exponent(currency),
        grouping=3,
        thousand_sep=",",
        force_grouping=True,
    )


@register.filter
def days_past_due(due_date: date | None, today: date | None) -> int:
    """Return how many days past its due date an item is on ``today`` (0 when not yet due)."""
    if due_date is None or today is None:
        return 0
    return max(0, (today - due_date).days)


@register.filter
def priority_text(priority: Priority) -> str:
    """Explain a worklist priority in the reader's language."""
    return priority_explain(priority, amount_text=amount(priority.overdue, priority.currency))


@register.filter
def score(value: Decimal | int | None) -> str:
    """Format a priority score as a whole number grouped by thousands."""
    if value is None:
        return ""
    return numberformat.format(
        Decimal(value), decimal_sep=".", decimal_pos=0, grouping=3, thousand_sep=",", force_grouping=True
    )


# Compact forms of large scores, largest first: (from, divide by, text).
_COMPACT = (
    (Decimal(10) ** 9, Decimal(10) ** 9, gettext_lazy("%(value)s B")),
    (Decimal(10) ** 6, Decimal(10) ** 6, gettext_lazy("%(value)s M")),
    (Decimal(10) ** 4, Decimal(10) ** 3, gettext_lazy("%(value)s K")),
)


@register.filter
def score_compact(value: Decimal | int | None) -> str:
    """Format a priority score briefly: 1,234 · 56.8 K · 3.2 M · 1.4 B (thousand, million, billion)."""
    if value is None:
        return ""
    number = Decimal(value)
    for start, unit, text in _COMPACT:
        if number >= start:
            shown = (number / unit).quantize(Decimal("0.1") if number / unit < 100 else Decimal(1))
            return str(text) % {
                "value": numberformat.format(shown, decimal_sep=get_format("DECIMAL_SEPARATOR"))
            }
    return score(number)


@register.filter
def get_item(mapping: dict | None, key: str) -> object:
    """Return ``mapping[key]`` (None when absent), for lookups by a variable key."""
    return (mapping or {}).get(key)


@register.filter
def multiply(value: int, factor: int) -> int:
    """Multiply two whole numbers (chart coordinates)."""
    return int(value) * int(factor)


@register.filter
def bar_height(percent: Decimal | int, full: int) -> str:
    """Return the height of a bar of ``percent`` in a chart ``full`` units high (at least a hairline)."""
    height = Decimal(percent) * int(full) / 100
    return str(max(height, Decimal("0.5")).quantize(Decimal("0.1")))


@register.filter
def bar_y(percent: Decimal | int, full: int) -> str:
    """Return where a bar of ``percent`` starts in a chart ``full`` units high (bars stand on the base)."""
    return str((Decimal(full) - Decimal(bar_height(percent, full))).quantize(Decimal("0.1")))
