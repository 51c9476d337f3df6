"""Reads of the ledger that more than one interface needs."""

from __future__ import annotations

from django.db.models import QuerySet

from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.services import InvoiceNotFound


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
