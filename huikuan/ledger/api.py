"""Invoices, payments and aging over HTTP: parse the request, call a service or selector, render.

Every invoice, payment and customer is reached through :mod:`huikuan.accounts.access`: a
collector or sales rep asking for another's gets the same 404 as for one that does not exist,
and lists and the aging hold only their customers.
"""

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from huikuan.accounts.access import (
    access_customer,
    access_invoice,
    access_payment,
    customer_scope_or_none,
    scope_filter,
)
from huikuan.core.api_errors import referenced
from huikuan.core.schemas import ErrorOut, Page, Text, field_errors, money_parse
from huikuan.ledger.aging import DEFAULT_BUCKETS, BucketsInvalid, buckets_parse
from huikuan.ledger.aging_report import aging_build
from huikuan.ledger.models import Invoice, Payment
from huikuan.ledger.schemas import (
    AgingOut,
    AgingQuery,
    InvoiceFilters,
    InvoiceIn,
    InvoiceOut,
    InvoicePatch,
    PaymentFilters,
    PaymentIn,
    PaymentOut,
    PaymentPatch,
)
from huikuan.ledger.selectors import invoice_list_filtered, payment_get, payment_list_filtered
from huikuan.ledger.services import invoice_issue, invoice_update, payment_record, payment_update

invoices_router = Router(tags=["invoices"])
payments_router = Router(tags=["payments"])
aging_router = Router(tags=["aging"])

# Beyond a century past due or twenty columns a bucket answers no collections question, and
# the bounds become date arithmetic and SQL parameters.
MAX_BUCKET_DAYS = 36_500
MAX_BUCKETS = 20

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@invoices_router.get("", response=list[InvoiceOut], summary="List invoices")
@paginate(Page)
def invoices_list(request: HttpRequest, filters: Query[InvoiceFilters]) -> Any:
    """Invoices ordered by due date, filtered by customer, status, currency, due date and overdue."""
    data = filters.dict()
    overdue = data.pop("overdue")
    today = timezone.localdate()  # the business day in the company's time zone
    invoices = invoice_list_filtered(
        customer_code=data["customer"],
        status=data["status"],
        currency=data["currency"],
        due_after=data["due_after"],
        due_before=data["due_before"],
        overdue_on=today if overdue is True else None,
        not_overdue_on=today if overdue is False else None,
    )
    return scope_filter(invoices, user=request.user)


@invoices_router.post("", response={201: InvoiceOut, **ERRORS}, summary="Issue an invoice")
def invoices_create(request: HttpRequest, payload: InvoiceIn) -> Any:
    """Record an invoice; currency and due date default to the customer's currency and terms."""
    with referenced():
        customer = access_customer(user=request.user, code=payload.customer)
    currency = payload.currency or customer.currency
    due_date = payload.due_date
    if due_date is None:
        with field_errors("due_date"):
            due_date = payload.issue_date + timedelta(days=customer.payment_terms_days)
    invoice = invoice_issue(
        customer=customer,
        number=payload.number,
        issue_date=payload.issue_date,
        due_date=due_date,
        amount=money_parse(payload.amount, currency),
        description=payload.description,
        po_number=payload.po_number,
        actor=request.user,
    )
    return Status(201, invoice)


@invoices_router.get("/{path:number}", response={200: InvoiceOut, **ERRORS}, summary="Get an invoice")
def invoices_get(request: HttpRequest, number: Text) -> Invoice:
    return access_invoice(user=request.user, number=number)


@invoices_router.patch("/{path:number}", response={200: InvoiceOut, **ERRORS}, summary="Correct an invoice")
def invoices_update(request: HttpRequest, number: Text, payload: InvoicePatch) -> Invoice:
    """Change description, PO number or due date; the amount only while nothing refers to it (else 409)."""
    invoice = access_invoice(user=request.user, number=number)
    fields = payload.dict(exclude_unset=True)
    if "amount" in fields:
        fields["amount"] = money_parse(fields["amount"], invoice.currency)
    return invoice_update(invoice=invoice, actor=request.user, **fields)


@payments_router.get("", response=list[PaymentOut], summary="List payments")
@paginate(Page)
def payments_list(request: HttpRequest, filters: Query[PaymentFilters]) -> Any:
    """Payments newest first, with their allocations, filtered by customer, currency and date."""
    data = filters.dict()
    payments = payment_list_filtered(
        customer_code=data["customer"],
        currency=data["currency"],
        received_after=data["received_after"],
        received_before=data["received_before"],
        unapplied=data["unapplied"],
    )
    return scope_filter(payments, user=request.user)


@payments_router.post("", response={201: PaymentOut, **ERRORS}, summary="Record a payment")
def payments_create(request: HttpRequest, payload: PaymentIn) -> Any:
    """Record money received and apply it: named invoices first, then oldest due first."""
    with referenced():
        customer = access_customer(user=request.user, code=payload.customer)
    currency = payload.currency or customer.currency
    options = payload.dict(include={"method", "reference", "payer_name"}, exclude_unset=True)
    with referenced():
        payment = payment_record(
            customer=customer,
            received_date=payload.received_date,
            amount=money_parse(payload.amount, currency),
            invoice_numbers=payload.invoice_numbers,
            external_id=payload.payment_id or None,
            actor=request.user,
            **options,
        )
    return Status(201, payment_get(payment_id=payment.pk))


@payments_router.get("/{int:payment_id}", response={200: PaymentOut, **ERRORS}, summary="Get a payment")
def payments_get(request: HttpRequest, payment_id: int) -> Payment:
    access_payment(user=request.user, payment_id=payment_id)
    return payment_get(payment_id=payment_id)


@payments_router.patch("/{int:payment_id}", response={200: PaymentOut, **ERRORS}, summary="Correct a payment")
def payments_update(request: HttpRequest, payment_id: int, payload: PaymentPatch) -> Payment:
    """Change reference, payer name or method; amounts and dates stay as received."""
    payment = access_payment(user=request.user, payment_id=payment_id)
    payment_update(payment=payment, actor=request.user, **payload.dict(exclude_unset=True))
    return payment_get(payment_id=payment_id)


@aging_router.get(
    "",
    response={200: AgingOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    exclude_unset=True,
    summary="Aging",
)
def aging_get(request: HttpRequest, query: Query[AgingQuery]) -> Any:
    """The point-in-time aging, the same JSON as ``huikuan aging --format json``.

    Collectors and sales reps get the aging of their own customers (totals and DSO included).
    """
    bounds = DEFAULT_BUCKETS if query.buckets is None else buckets_parse(query.buckets)
    if len(bounds) > MAX_BUCKETS or max(bounds) > MAX_BUCKET_DAYS:
        raise BucketsInvalid(f"at most {MAX_BUCKETS} buckets of at most {MAX_BUCKET_DAYS} days each")
    as_of = query.as_of or timezone.localdate()  # the business day in the company's time zone
    return aging_build(
        as_of=as_of, by=query.by, buckets=bounds, customer_scope=customer_scope_or_none(request.user)
    )
