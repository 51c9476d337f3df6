"""Reads of customers that more than one interface needs."""

from __future__ import annotations

from django.db.models import QuerySet

from huikuan.customers.models import Customer
from huikuan.customers.services import CustomerNotFound


def customer_get(*, code: str) -> Customer:
    """Return the customer with this code or raise CustomerNotFound."""
    try:
        return Customer.objects.select_related("collector", "sales_rep").get(code=code)
    except Customer.DoesNotExist:
        raise CustomerNotFound(f"customer {code} does not exist")


def customer_list(*, search: str | None = None, grade: str | None = None, status: str | None = None) -> QuerySet[Customer]:
    """Return customers matching a code/name search, grade and status."""
    queryset = Customer.objects.select_related("collector", "sales_rep")
    if search:
        from django.db.models import Q

        queryset = queryset.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if grade:
        queryset = queryset.filter(grade=grade.upper())
    if status:
        queryset = queryset.filter(status=status.upper())
    return queryset
