"""Reads of customers that more than one interface needs."""

from __future__ import annotations

from django.db.models import QuerySet

from huikuan.customers.models import Contact, Customer
from huikuan.customers.services import ContactNotFound, CustomerNotFound


def customer_get(*, code: str) -> Customer:
    """Return the customer with this code or raise CustomerNotFound."""
    try:
        return Customer.objects.select_related("collector", "sales_rep").get(code=code)
    except Customer.DoesNotExist:
        raise CustomerNotFound(f"customer {code} does not exist")


def customer_list(
    *,
    search: str | None = None,
    grade: str | None = None,
    status: str | None = None,
    collector: str | None = None,
) -> QuerySet[Customer]:
    """Return customers matching a code/name search, grade, status and collector's username."""
    queryset = Customer.objects.select_related("collector", "sales_rep")
    if search:
        from django.db.models import Q

        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if grade:
        queryset = queryset.filter(grade=grade.upper())
    if status:
        queryset = queryset.filter(status=status.upper())
    if collector:
        queryset = queryset.filter(collector__username=collector)
    return queryset


def contact_get(*, contact_id: int) -> Contact:
    """Return the contact with this id, with its customer, or raise ContactNotFound."""
    try:
        return Contact.objects.select_related("customer").get(pk=contact_id)
    except Contact.DoesNotExist:
        raise ContactNotFound(f"contact {contact_id} does not exist")


def contact_list(*, customer: Customer) -> QuerySet[Contact]:
    """Return a customer's contacts, the primary one first."""
    return (
        Contact.objects.filter(customer=customer)
        .select_related("customer")
        .order_by("-is_primary", "name", "id")
    )
