"""Credit profiles, ratings, overrides, orders and the credit check over the API.

Every customer is reached through :mod:`huikuan.accounts.access`: a collector or sales rep asking
about another's customer gets the same 404 as for one that does not exist.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from huikuan.accounts.access import COMPANY_WIDE_ROLES, access_customer, require_role, scope_filter
from huikuan.accounts.models import Role
from huikuan.core.money import format_minor
from huikuan.core.schemas import (
    BusinessDate,
    DecimalAmount,
    DecimalString,
    ErrorOut,
    InputSchema,
    Page,
    Text,
    money_parse,
)
from huikuan.customers.credit import (
    OVERRIDE_ROLES,
    credit_override_end,
    credit_override_set,
    credit_rate,
    factor_rows,
    latest_ratings,
    override_active,
    run_summary,
)
from huikuan.customers.limits import amount_parse, credit_check, exposure_minor
from huikuan.customers.models import CreditRating, Customer, Order, RatingKind
from huikuan.customers.orders import order_create, order_get, order_status_set

credit_router = Router(tags=["credit"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
CustomerCode = Annotated[Text, Field(min_length=1, max_length=64, description="the customer's code")]


class CheckIn(InputSchema):
    customer: CustomerCode
    amount: DecimalAmount


class CheckOut(Schema):
    decision: str = Field(description="approve, limited or hold")
    allowed_amount: str = Field(description="what may be supplied now, in the customer's currency")
    reasons: list[str]


class FactorOut(Schema):
    """One line of "why this grade"; figures as decimal strings, like every number of the API."""

    key: str
    label: str
    value: DecimalString | None
    display: str
    effect: DecimalString

    @staticmethod
    def resolve_value(row: dict[str, Any]) -> str | None:
        return None if row["value"] is None else _decimal_text(row["value"])

    @staticmethod
    def resolve_effect(row: dict[str, Any]) -> str:
        return _decimal_text(row["effect"])


def _decimal_text(figure: float | int) -> str:
    """A stored figure (JSON keeps floats) as the shortest decimal string that reads back to it."""
    return format(Decimal(repr(figure)), "f") if isinstance(figure, float) else str(figure)


class OverrideOut(Schema):
    grade: str
    reason: str
    until: date
    by: str | None


class RatingOut(Schema):
    as_of: date
    kind: str
    score: int
    grade: str
    previous_grade: str
    suggested_limit: str | None
    factors: list[dict[str, Any]]
    inputs: dict[str, Any]


class ProfileOut(Schema):
    customer: str
    currency: str
    grade: str = Field(description="the grade in force: the override's while it lasts, else the rated one")
    rated_grade: str
    score: int | None
    as_of: date | None
    factors: list[FactorOut]
    override: OverrideOut | None
    credit_limit: str | None
    suggested_limit: str | None
    exposure: str


class OverrideIn(InputSchema):
    grade: Annotated[Text, Field(min_length=1, max_length=1)]
    reason: Annotated[Text, Field(min_length=1, max_length=500)]
    until: BusinessDate


class RateIn(InputSchema):
    as_of: BusinessDate | None = None


class OrderIn(InputSchema):
    number: Annotated[Text, Field(min_length=1, max_length=64)]
    customer: CustomerCode
    order_date: BusinessDate
    currency: Annotated[Text, Field(min_length=3, max_length=3)] | None = None
    amount: DecimalAmount
    description: Text = Field("", max_length=500)


class OrderPatch(InputSchema):
    status: Annotated[Text, Field(description="OPEN, INVOICED or CANCELLED")]


class OrderOut(Schema):
    number: str
    customer: str
    order_date: date
    currency: str
    amount: str
    status: str

    @staticmethod
    def resolve_customer(order: Order) -> str:
        return order.customer.code

    @staticmethod
    def resolve_amount(order: Order) -> str:
        return format_minor(order.amount_minor, order.currency)


class OrderFilters(Schema):
    customer: CustomerCode | None = None
    status: str | None = None


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


def profile_answer(*, customer: Customer, as_of: date) -> dict[str, Any]:
    """A customer's credit profile: grade in force, the latest score and why, override, limits."""
    latest = latest_ratings(customer=customer, limit=1)
    rating = latest[0] if latest else None
    override = override_active(customer=customer, as_of=as_of)
    return {
        "customer": customer.code,
        "currency": customer.currency,
        "grade": override.grade if override is not None else customer.grade,
        "rated_grade": customer.rated_grade,
        "score": rating.score if rating else customer.credit_score,
        "as_of": rating.as_of if rating else None,
        "factors": factor_rows(rating.factors if rating else []),
        "override": (
            {
                "grade": override.grade,
                "reason": override.reason,
                "until": override.until,
                "by": override.created_by.get_username() if override.created_by else None,
            }
            if override is not None
            else None
        ),
        "credit_limit": _money(customer.credit_limit_minor, customer.currency),
        "suggested_limit": _money(rating.suggested_limit_minor, rating.currency or customer.currency)
        if rating
        else None,
        "exposure": format_minor(exposure_minor(customer=customer), customer.currency),
    }


def _rating_out(rating: CreditRating) -> dict[str, Any]:
    return {
        "as_of": rating.as_of,
        "kind": rating.kind,
        "score": rating.score,
        "grade": rating.grade,
        "previous_grade": rating.previous_grade,
        "suggested_limit": _money(rating.suggested_limit_minor, rating.currency or "CNY"),
        "factors": rating.factors,
        "inputs": rating.inputs,
    }


@credit_router.post(
    "/check", response={200: CheckOut, **ERRORS}, summary="May this customer have this order?"
)
def credit_check_route(request: HttpRequest, payload: CheckIn) -> Any:
    """`approve` (the whole amount), `limited` (up to `allowed_amount`) or `hold`, with the reasons.

    Overdue beyond the tolerance, a hold, or no headroom under the limit means `hold`
    (前帐未清,不谈下回交易); an order over the headroom is `limited` to it.
    """
    customer = access_customer(user=request.user, code=payload.customer)
    amount = amount_parse(payload.amount, customer.currency)
    return credit_check(customer=customer, amount=amount, as_of=timezone.localdate())


@credit_router.post("/ratings", response={200: dict, **ERRORS}, summary="Rate every customer now")
def credit_rate_route(request: HttpRequest, payload: RateIn) -> Any:
    """The same run as `huikuan credit rate`; for credit controllers, managers and administrators."""
    require_role(request.user, *COMPANY_WIDE_ROLES)
    run = credit_rate(
        as_of=payload.as_of or timezone.localdate(),
        kind=RatingKind.MANUAL,
        triggered_by=f"api:{request.user}",
    )
    return run_summary(run)


@credit_router.get("/orders", response=list[OrderOut], summary="Orders not yet invoiced and past ones")
@paginate(Page)
def orders_list(request: HttpRequest, filters: Query[OrderFilters]) -> Any:
    orders = scope_filter(
        Order.objects.select_related("customer").order_by("-order_date", "number"), user=request.user
    )
    if filters.customer:
        orders = orders.filter(customer__code=filters.customer)
    if filters.status:
        orders = orders.filter(status=filters.status.upper())
    return orders


@credit_router.post("/orders", response={201: OrderOut, **ERRORS}, summary="Post an order not yet invoiced")
def orders_create(request: HttpRequest, payload: OrderIn) -> Any:
    """Its amount counts towards the customer's exposure until it is marked invoiced or cancelled."""
    customer = access_customer(user=request.user, code=payload.customer)
    amount = money_parse(payload.amount, payload.currency or customer.currency)
    order = order_create(
        customer=customer,
        number=payload.number,
        order_date=payload.order_date,
        amount=amount,
        description=payload.description,
        actor=request.user,
    )
    return Status(201, order)


@credit_router.patch(
    "/orders/{path:number}", response={200: OrderOut, **ERRORS}, summary="Mark an order invoiced or cancelled"
)
def orders_update(request: HttpRequest, number: str, payload: OrderPatch) -> Any:
    order = order_get(number=number)
    access_customer(user=request.user, code=order.customer.code)
    return order_status_set(order=order, status=payload.status, actor=request.user)


@credit_router.get(
    "/customers/{path:code}/ratings",
    response={200: list[RatingOut], **ERRORS},
    summary="A customer's ratings",
)
def ratings_list(request: HttpRequest, code: str, limit: int = 12) -> Any:
    """The latest ratings first, each with its factors and the inputs it was computed from."""
    customer = access_customer(user=request.user, code=code)
    return [
        _rating_out(rating) for rating in latest_ratings(customer=customer, limit=max(1, min(limit, 120)))
    ]


@credit_router.post(
    "/customers/{path:code}/override",
    response={200: ProfileOut, **ERRORS},
    summary="Override a customer's grade",
)
def override_create(request: HttpRequest, code: str, payload: OverrideIn) -> Any:
    """A manager's grade, with a reason, in force until `until` (inclusive); managers and administrators."""
    require_role(request.user, *(Role(role) for role in OVERRIDE_ROLES))
    customer = access_customer(user=request.user, code=code)
    credit_override_set(
        customer=customer, grade=payload.grade, reason=payload.reason, until=payload.until, actor=request.user
    )
    customer.refresh_from_db()
    return profile_answer(customer=customer, as_of=timezone.localdate())


@credit_router.post(
    "/customers/{path:code}/override/end",
    response={200: ProfileOut, **ERRORS},
    summary="End a grade override",
)
def override_delete(request: HttpRequest, code: str) -> Any:
    require_role(request.user, *(Role(role) for role in OVERRIDE_ROLES))
    customer = access_customer(user=request.user, code=code)
    credit_override_end(customer=customer, actor=request.user)
    customer.refresh_from_db()
    return profile_answer(customer=customer, as_of=timezone.localdate())


@credit_router.get(
    "/customers/{path:code}", response={200: ProfileOut, **ERRORS}, summary="A customer's credit profile"
)
def profile_get(request: HttpRequest, code: str) -> Any:
    """Grade in force, latest score and why ("why this grade"), override, limit, suggestion, exposure."""
    customer = access_customer(user=request.user, code=code)
    return profile_answer(customer=customer, as_of=timezone.localdate())
