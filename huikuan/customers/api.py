"""Customers and contacts over HTTP: parse the request, call a service or selector, render."""

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import paginate

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
from huikuan.customers.selectors import contact_get, contact_list, customer_get, customer_list
from huikuan.customers.services import contact_create, contact_update, customer_create, customer_update
from huikuan.dunning.api import CreditStatusOut, credit_status_answer

customers_router = Router(tags=["customers"])
contacts_router = Router(tags=["contacts"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut}


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
    """Customers ordered by code, filtered by search text, grade, status and collector."""
    return customer_list(**filters.dict())


@customers_router.post("", response={201: CustomerOut, **ERRORS}, summary="Create a customer")
def customers_create(request: HttpRequest, payload: CustomerIn) -> Any:
    data = payload.dict(exclude_unset=True)
    code, name = data.pop("code"), data.pop("name")
    default_currency = Customer._meta.get_field("currency").get_default()
    customer = customer_create(code=code, name=name, **_customer_fields(data, currency=default_currency))
    return Status(201, customer)


@customers_router.get(
    "/{path:code}/contacts", response=list[ContactOut], summary="List a customer's contacts"
)
@paginate(Page)
def contacts_list(request: HttpRequest, code: Text) -> Any:
    """The customer's contacts, the primary one first."""
    return contact_list(customer=customer_get(code=code))


@customers_router.post(
    "/{path:code}/contacts", response={201: ContactOut, **ERRORS}, summary="Add a contact to a customer"
)
def contacts_create(request: HttpRequest, code: Text, payload: ContactIn) -> Any:
    customer = customer_get(code=code)
    data = payload.dict(exclude_unset=True)
    contact = contact_create(customer=customer, **data)
    return Status(201, contact)


@customers_router.get(
    "/{path:code}/credit-status",
    response={200: CreditStatusOut, **ERRORS},
    summary="May this customer be supplied?",
    tags=["credit"],
)
def customers_credit_status(request: HttpRequest, code: str) -> Any:
    """One call for an order system: `ok`, `limited` (with the cap) or `hold`, and why."""
    return credit_status_answer(code=code)


@customers_router.get("/{path:code}", response={200: CustomerOut, **ERRORS}, summary="Get a customer")
def customers_get(request: HttpRequest, code: Text) -> Customer:
    return customer_get(code=code)


@customers_router.patch("/{path:code}", response={200: CustomerOut, **ERRORS}, summary="Update a customer")
def customers_update(request: HttpRequest, code: Text, payload: CustomerPatch) -> Customer:
    """Change the fields sent; the code cannot change, other systems key on it."""
    customer = customer_get(code=code)
    fields = _customer_fields(payload.dict(exclude_unset=True), currency=customer.currency)
    return customer_update(customer=customer, **fields)


@contacts_router.get("/{int:contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def contacts_get(request: HttpRequest, contact_id: int) -> Contact:
    return contact_get(contact_id=contact_id)


@contacts_router.patch("/{int:contact_id}", response={200: ContactOut, **ERRORS}, summary="Update a contact")
def contacts_update(request: HttpRequest, contact_id: int, payload: ContactPatch) -> Contact:
    contact = contact_get(contact_id=contact_id)
    return contact_update(contact=contact, **payload.dict(exclude_unset=True))
