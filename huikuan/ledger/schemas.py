"""Request and response shapes of the ledger API. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import BeforeValidator

from huikuan.core.money import format_minor
from huikuan.core.schemas import (
    BusinessDate,
    Currency,
    DecimalAmount,
    DecimalString,
    InputSchema,
    Text,
    omitted,
    upper,
)
from huikuan.ledger.models import Allocation, Invoice, InvoiceStatus, Payment, PaymentMethod

MethodIn = Annotated[PaymentMethod, BeforeValidator(upper)]
InvoiceStatusIn = Annotated[InvoiceStatus, BeforeValidator(upper)]
CustomerCode = Annotated[Text, Field(min_length=1, max_length=64, description="the customer's code")]
InvoiceNumber = Annotated[Text, Field(min_length=1, max_length=64)]


class InvoiceOut(Schema):
    number: str
    customer: str = Field(description="the customer's code")
    customer_name: str
    issue_date: date
    due_date: date
    currency: str
    amount: DecimalString
    open_amount: DecimalString = Field(description="still owed today: amount less payments and adjustments")
    status: str = Field(description="derived: OPEN, PARTIALLY_PAID, PAID, WRITTEN_OFF or CANCELLED")
    settled_date: date | None = Field(description="when nothing was left open, else null")
    description: str
    po_number: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_customer(obj: Invoice) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_customer_name(obj: Invoice) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_amount(obj: Invoice) -> str:
        return format_minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_open_amount(obj: Invoice) -> str:
        return format_minor(obj.open_minor, obj.currency)


class InvoicePatch(InputSchema):
    """Fields to correct. The amount can change only while nothing refers to it."""

    description: Text = omitted(max_length=500)
    po_number: Text = omitted(max_length=100)
    due_date: BusinessDate = omitted()
    amount: DecimalAmount = omitted(description="in the invoice's currency")


class InvoiceIn(InputSchema):
    number: InvoiceNumber
    customer: CustomerCode
    issue_date: BusinessDate
    due_date: BusinessDate | None = Field(None, description="default: issue date plus the customer's terms")
    currency: Currency | None = Field(None, description="default: the customer's currency")
    amount: DecimalAmount
    description: Text = Field("", max_length=500)
    po_number: Text = Field("", max_length=100)


class InvoiceFilters(Schema):
    customer: CustomerCode | None = None
    status: InvoiceStatusIn | None = None
    currency: Currency | None = None
    overdue: bool | None = Field(None, description="true: open and past due today; false: the others")
    due_after: BusinessDate | None = Field(None, description="due on or after this date")
    due_before: BusinessDate | None = Field(None, description="due on or before this date")


class AllocationOut(Schema):
    invoice: str = Field(description="the invoice number")
    amount: DecimalString = Field(description="negative for a reversal of an earlier allocation")
    allocation_date: date

    @staticmethod
    def resolve_invoice(obj: Allocation) -> str:
        return obj.invoice.number

    @staticmethod
    def resolve_amount(obj: Allocation) -> str:
        return format_minor(obj.amount_minor, obj.invoice.currency)


class PaymentOut(Schema):
    id: int
    customer: str = Field(description="the customer's code")
    customer_name: str
    received_date: date
    currency: str
    amount: DecimalString
    unapplied_amount: DecimalString = Field(description="held on account, not applied to any invoice")
    method: str
    reference: str
    payer_name: str
    payment_id: str | None = Field(description="the source system's id, if any")
    allocations: list[AllocationOut]
    created_at: datetime

    @staticmethod
    def resolve_customer(obj: Payment) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_customer_name(obj: Payment) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_amount(obj: Payment) -> str:
        return format_minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_unapplied_amount(obj: Payment) -> str:
        return format_minor(obj.unapplied_minor, obj.currency)

    @staticmethod
    def resolve_payment_id(obj: Payment) -> str | None:
        return obj.external_id

    @staticmethod
    def resolve_allocations(obj: Payment) -> list[Allocation]:
        return list(obj.allocations.all())


class PaymentPatch(InputSchema):
    reference: Text = omitted(max_length=255)
    payer_name: Text = omitted(max_length=255)
    method: MethodIn = omitted()


class PaymentIn(PaymentPatch):
    customer: CustomerCode
    received_date: BusinessDate
    currency: Currency | None = Field(None, description="default: the customer's currency")
    amount: DecimalAmount
    invoice_numbers: list[InvoiceNumber] = Field(
        default_factory=list, max_length=1000, description="settled first, in this order"
    )
    payment_id: Text | None = Field(None, max_length=100, description="the source system's id")


class PaymentFilters(Schema):
    customer: CustomerCode | None = None
    currency: Currency | None = None
    received_after: BusinessDate | None = Field(None, description="received on or after this date")
    received_before: BusinessDate | None = Field(None, description="received on or before this date")
    unapplied: bool | None = Field(None, description="true: money still held on account")


class AgingQuery(Schema):
    as_of: BusinessDate | None = Field(None, description="default: today in the company's time zone")
    by: Literal["customer", "collector", "grade", "currency"] = "customer"
    buckets: Text | None = Field(
        None, max_length=200, description="upper bounds in days past due, e.g. 30,60,90,180,365"
    )


class AgingOut(Schema):
    """The JSON of ``huikuan aging --format json``; bucket labels are keys, amounts decimal strings."""

    as_of: date
    buckets: list[str] = Field(description='labels: "current", "1-30", …, "365+"')
    totals: dict[str, dict[str, str | int]] = Field(
        description="per currency: each bucket, overdue, total (strings), customer_count, dso, overdue_share"
    )
    customers: list[dict[str, str]] = Field(description="code, name, currency, each bucket and total")
    by: str | None = Field(None, description="present when grouped by collector, grade or currency")
    groups: list[dict[str, str | int | None]] | None = Field(
        None, description="present with by: key, currency, each bucket, overdue, total, customer_count"
    )
