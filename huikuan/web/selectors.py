"""Reads the pages need, built on the customers and ledger selectors (bounded, set-based)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet, Sum

from huikuan.customers.models import Contact, Customer
from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.selectors import invoice_list, payment_list


@dataclass(frozen=True)
class OpenTotal:
    currency: str
    open_minor: int
    invoices: int
    oldest_due_date: object


def customer_contacts(*, customer: Customer) -> QuerySet[Contact]:
    """Return the customer's contacts, the primary one first."""
    return Contact.objects.filter(customer=customer).order_by("-is_primary", "name", "id")


def customer_open_invoices(*, customer: Customer, limit: int = 200) -> QuerySet[Invoice]:
    """Return up to ``limit`` of the customer's invoices with something open, oldest due first."""
    queryset = invoice_list(customer_code=customer.code).filter(open_minor__gt=0)
    return queryset.order_by("due_date", "number")[:limit]


def customer_open_totals(*, customer: Customer) -> list[OpenTotal]:
    """Return what the customer owes per currency (never summed across currencies)."""
    rows = (
        invoice_list(customer_code=customer.code)
        .filter(open_minor__gt=0)
        .order_by()
        .values("currency")
        .annotate(open_minor=Sum("open_minor"), invoices=Count("id"), oldest_due_date=Min("due_date"))
        .order_by("currency")
    )
    return [OpenTotal(**row) for row in rows]


def customer_recent_payments(*, customer: Customer, limit: int = 50) -> QuerySet[Payment]:
    """Return the customer's latest payments, newest first."""
    return payment_list(customer_code=customer.code).order_by("-received_date", "-id")[:limit]
