"""Building blocks every API schema shares: money as decimal strings, bounded text, pages.

Money never passes through ``float``: the request parser reads JSON numbers as ``Decimal``,
amounts are declared as strings in the OpenAPI document, and responses render minor units
with :func:`huikuan.core.money.format_minor`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from pydantic import AfterValidator, BeforeValidator, ConfigDict, WithJsonSchema

from huikuan.core.api_errors import InvalidInput
from huikuan.core.money import Money, TooManyDecimals, UnknownCurrency, normalise_currency, to_minor

# Far below the 64-bit column limit even in currencies with four decimals, and far above any
# real invoice; checked before conversion so that "1e999999" cannot exhaust memory.
MAX_AMOUNT = Decimal("1e14")
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"


class DecimalJsonParser(Parser):
    """Read request bodies with JSON numbers as exact Decimals and refuse NaN and Infinity."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_float=Decimal, parse_constant=_refuse_constant)


class Utf8JSONRenderer(JSONRenderer):
    """Write Chinese names as themselves ("上海") rather than as \\u escapes; the body is UTF-8."""

    json_dumps_params = {"ensure_ascii": False}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refuse it here rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _currency(value: str) -> str:
    try:
        return normalise_currency(value)
    except UnknownCurrency:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")


def _business_date(value: date) -> date:
    # A typo such as 20244-01-31 or 0024-01-31 is refused instead of aging for centuries.
    if not 1900 <= value.year <= 2999:
        raise ValueError("must be between 1900-01-01 and 2999-12-31")
    return value


Text = Annotated[str, BeforeValidator(_strip), AfterValidator(_no_nul)]
Currency = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{3}$", "examples": ["CNY"]}),
]
BusinessDate = Annotated[date, AfterValidator(_business_date)]
# Accepts a decimal string ("1234.50") or a JSON number, read exactly; documented as a string.
DecimalAmount = Annotated[
    Decimal,
    WithJsonSchema(
        {"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["1234.50"], "format": "decimal"}
    ),
]
# How every amount is rendered: the currency's exact number of decimals, as a string.
DecimalString = Annotated[
    str, WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "examples": ["1234.50"]})
]


def upper(value: Any) -> Any:
    """Return an upper-cased choice, so that clients may send "finance" for FINANCE."""
    return _upper(value)


def omitted(**constraints: Any) -> Any:
    """Declare a field that may be left out of a PATCH but, when sent, must not be null.

    Pydantic does not validate defaults, so a ``None`` default on a non-optional type means
    "not sent" while an explicit ``null`` is refused with the field's name.
    """
    return Field(None, **constraints)


class InputSchema(Schema):
    """A request body: unknown fields are refused so that a misspelt field is not ignored."""

    model_config = ConfigDict(extra="forbid")


def money_parse(amount: Decimal, currency: str, *, field: str = "amount") -> Money:
    """Return exact Money for a request amount, or raise InvalidInput naming the field."""
    # adjusted() is the exponent of the leading digit: checking it needs no arithmetic, which
    # could itself overflow on "1e999999999".
    if not amount.is_finite() or (amount and amount.adjusted() >= MAX_AMOUNT.adjusted()):
        raise InvalidInput(f"{field}: must be less than {MAX_AMOUNT:f} in absolute value")
    if amount and amount.adjusted() < -MAX_AMOUNT.adjusted():
        raise InvalidInput(f"{field}: {amount} has more decimal places than {currency} allows")
    try:
        return Money(to_minor(amount, currency, exact=True), currency)
    except TooManyDecimals:
        raise InvalidInput(f"{field}: {amount} has more decimal places than {currency} allows")
    except UnknownCurrency as error:
        raise InvalidInput(f"currency: {error}")


@contextmanager
def field_errors(field: str) -> Iterator[None]:
    """Turn a ValueError from parsing one request field into InvalidInput naming it."""
    try:
        yield
    except (ValueError, OverflowError) as error:
        raise InvalidInput(f"{field}: {error}")


class Page(PaginationBase):
    """Page-number pagination with the total count, bounded so that no page is unbounded."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000, description="1-based page number")
        page_size: int = Field(50, ge=1, le=500, description="items per page (at most 500)")

    class Output(Schema):
        items: list[Any]
        count: int = Field(description="items matching the filters, on all pages")
        page: int
        page_size: int

    items_attribute = "items"

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        offset = (pagination.page - 1) * pagination.page_size
        return {
            "items": list(queryset[offset : offset + pagination.page_size]),
            "count": queryset.count(),
            "page": pagination.page,
            "page_size": pagination.page_size,
        }


class ErrorOut(Schema):
    code: str = Field(description="stable, machine-readable error code")
    message: str = Field(description="what went wrong, for a person")
