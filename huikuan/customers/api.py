"""Customers and contacts over HTTP: parse the request, call a service or selector, render.

Every customer and contact is reached through :mod:`huikuan.accounts.access`: a collector or
sales rep asking for another's customer gets the same 404 as for one that does not exist.
"""

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from huikuan.accounts.access import access_contact, access_customer, scope_filter, user_role
from huikuan.accounts.models import Role
from huikuan.core.api_errors import referenced
from huikuan.core.auth import user_get
from huikuan.core.schemas import ErrorOut, Page, Text, money_parse
from huikuan.customers.models import Contact, Customer
from huikuan.customers.schemas import (
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerFilters,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
)
from huikuan.customers.selectors import contact_list, customer_list
from huikuan.customers.services import contact_create, contact_update, customer_create, customer_update
from huikuan.dunning.api import CreditStatusOut, DunningPreviewOut, credit_status_answer
from huikuan.dunning.preview import dunning_preview

customers_router = Router(tags=["customers"])
contacts_router = Router(tags=["contacts"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def _customer_fields(data: dict[str, Any], *, currency: str) -> dict[str, Any]:
    """Turn API fields into service arguments: amounts into minor units, usernames into users."""
    fields = dict(data)
    if "credit_limit" in fields:
        limit = fields.pop("credit_limit")
        fields["credit_limit_minor"] = (
            None
            if limit is None
            else money_parse(limit, fields.get("currency") or currency, field="credit_limit").minor
        )
    for role in ("collector", "sales_rep"):
        if fields.get(role) is not None:
            with referenced():
                fields[role] = user_get(username=fields[role])
    return fields


@customers_router.get("", response=list[CustomerOut], summary="List customers")
@paginate(Page)
def customers_list(request: HttpRequest, filters: Query[CustomerFilters]) -> Any:
    """Customers ordered by code, filtered by search text, grade, status and collector.

    Collectors and sales reps see only the customers assigned to them.
    """
    return scope_filter(customer_list(**filters.dict()), user=request.user, via="")


@customers_router.post("", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def customers_create(request: HttpRequest, payload: CustomerIn) -> Any:
    """A collector or sales rep who names no one for their own role becomes it, so that the
    customer they create stays within their reach."""
    data = payload.dict(exclude_unset=True)
    code, name = data.pop("code"), data.pop("name")
    default_currency = Customer._meta.get_field("currency").get_default()
    fields = _customer_fields(data, currency=default_currency)
    role = user_role(request.user)
    own = "collector" if role == Role.COLLECTOR else "sales_rep" if role == Role.SALES_REP else None
    if own and fields.get(own) is None:
        fields[own] = request.user
    customer = customer_create(code=code, name=name, actor=request.user, **fields)
    return Status(201, customer)


@customers_router.get(
    "/{path:code}/contacts", response=list[ContactOut], summary="List a customer's contacts"
)
@paginate(Page)
def contacts_list(request: HttpRequest, code: Text) -> Any:
    """The customer's contacts, the primary one first."""
    return contact_list(customer=access_customer(user=request.user, code=code))


@customers_router.post(
    "/{path:code}/contacts", response={201: ContactOut, **ERRORS}, summary="Add a contact to a customer"
)
def contacts_create(request: HttpRequest, code: Text, payload: ContactIn) -> Any:
    customer = access_customer(user=request.user, code=code)
    data = payload.dict(exclude_unset=True)
    contact = contact_create(customer=customer, actor=request.user, **data)
    return Status(201, contact)


@customers_router.get(
    "/{path:code}/credit-status",
    response={200: CreditStatusOut, **ERRORS},
    summary="May this customer be supplied?",
    tags=["credit"],
)
def customers_credit_status(request: HttpRequest, code: str) -> Any:
    """One call for an order system: `ok`, `limited` (with the cap) or `hold`, and why."""
    return credit_status_answer(customer=access_customer(user=request.user, code=code))


@customers_router.get(
    "/{path:code}/dunning-preview",
    response={200: list[DunningPreviewOut], **ERRORS},
    summary="What the dunning run of a date gives this customer",
    tags=["dunning"],
)
def customers_dunning_preview(request: HttpRequest, code: str, as_of: date | None = None) -> Any:
    """Every message (rendered as it would be sent), task and hold; nothing is written or sent."""
    customer = access_customer(user=request.user, code=code)
    previews = dunning_preview(customer_code=customer.code, as_of=as_of or timezone.localdate())
    return [preview.as_dict() for preview in previews]


@customers_router.get("/{path:code}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def customers_get(request: HttpRequest, code: Text) -> Customer:
    return access_customer(user=request.user, code=code)


@customers_router.patch("/{path:code}", response={200: CustomerOut, **ERRORS}, summary="Update a customer")
def customers_update(request: HttpRequest, code: Text, payload: CustomerPatch) -> Customer:
    """Change the fields sent; the code cannot change, other systems key on it."""
    customer = access_customer(user=request.user, code=code)
    fields = _customer_fields(payload.dict(exclude_unset=True), currency=customer.currency)
    return customer_update(customer=customer, actor=request.user, **fields)


@contacts_router.get("/{int:contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def contacts_get(request: HttpRequest, contact_id: int) -> Contact:
    return access_contact(user=request.user, contact_id=contact_id)


@contacts_router.patch("/{int:contact_id}", response={200: ContactOut, **ERRORS}, summary="Update a contact")
def contacts_update(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Contact:
    contact = access_contact(user=request.user, contact_id=contact_id)
    return contact_update(contact=contact, actor=request.user, **payload.dict(exclude_unset=True))
