"""Reads of the ledger that more than one interface needs."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from huikuan.ledger.models import Allocation, Invoice, Payment
from huikuan.ledger.services import InvoiceNotFound, PaymentNotFound


def invoice_get(*, number: str) -> Invoice:
    """Return the invoice with this number or raise InvoiceNotFound."""
    try:
        return Invoice.objects.select_related("customer").get(number=number)
    except Invoice.DoesNotExist:
        raise InvoiceNotFound(f"invoice {number} does not exist")


def invoice_list(*, customer_code: str | None = None, status: str | None = None) -> QuerySet[Invoice]:
    """Return invoices with their customers, optionally for one customer or status."""
    queryset = Invoice.objects.select_related("customer")
    if customer_code:
        queryset = queryset.filter(customer__code=customer_code)
    if status:
        queryset = queryset.filter(status=status.upper())
    return queryset


def payment_list(*, customer_code: str | None = None) -> QuerySet[Payment]:
    """Return payments with their customers, newest first."""
    queryset = Payment.objects.select_related("customer")
    if customer_code:
        queryset = queryset.filter(customer__code=customer_code)
    return queryset


def invoice_list_filtered(
    *,
    customer_code: str | None = None,
    status: str | None = None,
    currency: str | None = None,
    overdue_on: date | None = None,
    not_overdue_on: date | None = None,
    due_after: date | None = None,
    due_before: date | None = None,
) -> QuerySet[Invoice]:
    """Return invoices by customer, status, currency and due date (both bounds inclusive).

    ``overdue_on`` keeps invoices still open and due before that day; ``not_overdue_on`` the rest.
    """
    queryset = invoice_list(customer_code=customer_code, status=status)
    if currency:
        queryset = queryset.filter(currency=currency.upper())
    if overdue_on:
        queryset = queryset.filter(open_minor__gt=0, due_date__lt=overdue_on)
    if not_overdue_on:
        queryset = queryset.exclude(open_minor__gt=0, due_date__lt=not_overdue_on)
    if due_after:
        queryset = queryset.filter(due_date__gte=due_after)
    if due_before:
        queryset = queryset.filter(due_date__lte=due_before)
    return queryset.order_by("due_date", "number")


def payment_get(*, payment_id: int) -> Payment:
    """Return the payment with its customer and allocations, or raise PaymentNotFound."""
    try:
        return payments_with_allocations().get(pk=payment_id)
    except Payment.DoesNotExist:
        raise PaymentNotFound(f"payment {payment_id} does not exist")


def payment_list_filtered(
    *,
    customer_code: str | None = None,
    currency: str | None = None,
    received_after: date | None = None,
    received_before: date | None = None,
    unapplied: bool | None = None,
) -> QuerySet[Payment]:
    """Return payments with customers and allocations, newest first (date bounds inclusive)."""
    queryset = payments_with_allocations()
    if customer_code:
        queryset = queryset.filter(customer__code=customer_code)
    if currency:
        queryset = queryset.filter(currency=currency.upper())
    if received_after:
        queryset = queryset.filter(received_date__gte=received_after)
    if received_before:
        queryset = queryset.filter(received_date__lte=received_before)
    if unapplied is True:
        queryset = queryset.filter(unapplied_minor__gt=0)
    elif unapplied is False:
        queryset = queryset.filter(unapplied_minor__lte=0)
    return queryset.order_by("-received_date", "-id")


def payments_with_allocations() -> QuerySet[Payment]:
    """Payments with their customers and allocations (and the allocations' invoices), as the
    payment output shows them."""
    allocations = Allocation.objects.select_related("invoice").order_by("id")
    return Payment.objects.select_related("customer").prefetch_related(
        Prefetch("allocations", queryset=allocations)
    )
