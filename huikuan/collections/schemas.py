"""Request and response shapes of the collections API. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import BeforeValidator

from huikuan.collections.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    InstalmentPlan,
    Interaction,
    InteractionKind,
    InteractionOutcome,
    PromiseMethod,
    PromiseToPay,
    Task,
    TaskKind,
    TaskStatus,
)
from huikuan.core.money import format_minor
from huikuan.core.schemas import (
    BusinessDate,
    Currency,
    DecimalAmount,
    DecimalString,
    InputSchema,
    Text,
    upper,
)
from huikuan.customers.warnings import task_warning_text

InteractionKindIn = Annotated[InteractionKind, BeforeValidator(upper)]
OutcomeIn = Annotated[InteractionOutcome, BeforeValidator(upper)]
MethodIn = Annotated[PromiseMethod, BeforeValidator(upper)]
ReasonIn = Annotated[DisputeReason, BeforeValidator(upper)]
DisputeStatusIn = Annotated[DisputeStatus, BeforeValidator(upper)]
TaskKindIn = Annotated[TaskKind, BeforeValidator(upper)]
TaskStatusIn = Annotated[TaskStatus, BeforeValidator(upper)]
InvoiceNumbers = list[Annotated[Text, Field(min_length=1, max_length=64)]]


def _username(user: object) -> str | None:
    return user.get_username() if user is not None else None  # type: ignore[attr-defined]


# --- calls, visits and notes ------------------------------------------------------------------


class InteractionIn(InputSchema):
    kind: InteractionKindIn = Field(description="CALL, VISIT or NOTE")
    occurred_at: datetime | None = Field(None, description="when it happened (default: now)")
    outcome: OutcomeIn | None = Field(
        None, description="for a call or visit: REACHED, NO_ANSWER, PROMISED, …"
    )
    notes: Text = Field("", max_length=10_000)
    next_action_date: BusinessDate | None = Field(None, description="makes a follow-up task for you that day")
    contact_id: int | None = Field(None, description="whom you spoke to (one of the customer's contacts)")
    task_id: int | None = Field(None, description="the task this call or visit carried out; it is completed")


class InteractionOut(Schema):
    id: int
    customer: str
    kind: str
    outcome: str
    notes: str
    next_action_date: date | None
    contact_id: int | None
    contact_name: str | None
    user: str | None
    task_id: int | None
    occurred_at: datetime

    @staticmethod
    def resolve_customer(obj: Interaction) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_contact_name(obj: Interaction) -> str | None:
        return obj.contact.name if obj.contact is not None else None

    @staticmethod
    def resolve_user(obj: Interaction) -> str | None:
        return _username(obj.user)


# --- promises to pay --------------------------------------------------------------------------


class PromiseIn(InputSchema):
    amount: DecimalAmount
    currency: Currency | None = Field(
        None, description="default: the invoices' currency, else the customer's"
    )
    promised_date: BusinessDate
    invoices: InvoiceNumbers = Field(default_factory=list, description="invoice numbers; none: on account")
    promised_by: Text = Field("", max_length=255, description="who promised, e.g. 王经理 (finance)")
    method: MethodIn = Field(PromiseMethod.PHONE, description="PHONE, WRITTEN, RECORDED, VISIT or PORTAL")
    if_broken: Text = Field("", max_length=5_000, description="what was agreed happens if it is not kept")
    grace_days: int | None = Field(None, ge=0, le=90, description="default: 3")
    notes: Text = Field("", max_length=10_000)
    made_date: BusinessDate | None = Field(None, description="the day it was promised (default: today)")
    interaction_id: int | None = Field(None, description="the call or visit it was made in")


class PromiseOut(Schema):
    id: int
    customer: str
    currency: str
    amount: DecimalString
    promised_date: date
    made_date: date | None
    grace_days: int
    paused_until: date = Field(description="dunning of its invoices is paused up to and including this day")
    status: str = Field(description="OPEN, KEPT, PARTLY_KEPT or BROKEN (set by the daily review)")
    paid: DecimalString = Field(description="paid towards it, as of the last review")
    resolved_date: date | None
    invoices: list[str]
    promised_by: str
    method: str
    if_broken: str
    notes: str
    has_evidence: bool
    created_by: str | None
    interaction_id: int | None

    @staticmethod
    def resolve_customer(obj: PromiseToPay) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_amount(obj: PromiseToPay) -> str:
        return format_minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_paid(obj: PromiseToPay) -> str:
        return format_minor(obj.paid_minor, obj.currency)

    @staticmethod
    def resolve_paused_until(obj: PromiseToPay) -> date:
        return obj.promised_date + timedelta(days=obj.grace_days)

    @staticmethod
    def resolve_invoices(obj: PromiseToPay) -> list[str]:
        return sorted(invoice.number for invoice in obj.invoices.all())

    @staticmethod
    def resolve_has_evidence(obj: PromiseToPay) -> bool:
        return bool(obj.evidence)

    @staticmethod
    def resolve_created_by(obj: PromiseToPay) -> str | None:
        return _username(obj.created_by)


# --- disputes ---------------------------------------------------------------------------------


class DisputeIn(InputSchema):
    invoice: Annotated[Text, Field(min_length=1, max_length=64, description="the invoice number")]
    reason: ReasonIn = Field(description="QUALITY, QUANTITY, PRICE, NOT_RECEIVED, DUPLICATE_BILLING or OTHER")
    notes: Text = Field("", max_length=10_000)
    opened_date: BusinessDate | None = Field(None, description="default: today")


class DisputeStatusChange(InputSchema):
    status: DisputeStatusIn = Field(description="INVESTIGATING, RESOLVED_CREDIT_NOTE or REJECTED")
    on_date: BusinessDate | None = Field(None, description="default: today")
    credit_note_amount: DecimalAmount | None = Field(
        None, description="with RESOLVED_CREDIT_NOTE: issue a credit note of this amount on the invoice"
    )
    note: Text = Field("", max_length=10_000)


class DisputeOut(Schema):
    id: int
    invoice: str
    customer: str
    reason: str
    status: str
    opened_date: date
    resolved_date: date | None
    age_days: int = Field(description="days open, up to today or to its resolution")
    owner: str | None
    raised_by: str | None
    source: str
    notes: str

    @staticmethod
    def resolve_invoice(obj: Dispute) -> str:
        return obj.invoice.number

    @staticmethod
    def resolve_customer(obj: Dispute) -> str:
        return obj.invoice.customer.code

    @staticmethod
    def resolve_age_days(obj: Dispute) -> int:
        from django.utils import timezone

        end = obj.resolved_date or timezone.localdate()
        return max((end - obj.opened_date).days, 0)

    @staticmethod
    def resolve_owner(obj: Dispute) -> str | None:
        return _username(obj.owner)

    @staticmethod
    def resolve_raised_by(obj: Dispute) -> str | None:
        return _username(obj.raised_by)


# --- instalment plans -------------------------------------------------------------------------


class PlanIn(InputSchema):
    invoices: InvoiceNumbers = Field(min_length=1, description="the invoices the plan is for (one currency)")
    start_date: BusinessDate = Field(description="the day it is agreed; payments from then on count")
    count: int | None = Field(None, ge=1, le=120, description="number of instalments (or give amounts/dates)")
    interval_months: int = Field(1, ge=1, le=12)
    amounts: list[DecimalAmount] | None = Field(None, description="custom amounts; must add up to the total")
    dates: list[BusinessDate] | None = Field(None, description="custom due dates, in order")
    fee: DecimalAmount | None = Field(
        None, description="a one-off plan fee, invoiced with the last instalment"
    )
    interest_rate: Text | None = Field(None, description='simple yearly rate as a fraction, e.g. "0.0435"')
    grace_days: int = Field(
        5, ge=0, le=90, description="days an instalment may be late before the plan breaks"
    )
    notes: Text = Field("", max_length=10_000)


class InstalmentOut(Schema):
    sequence: int
    due_date: date
    amount: DecimalString
    paid: DecimalString


class PlanOut(Schema):
    id: int
    customer: str
    status: str = Field(description="ACTIVE, COMPLETED or BROKEN (set by the daily review)")
    start_date: date
    currency: str
    principal: DecimalString
    fee: DecimalString
    interest_rate: str
    interest: DecimalString
    total: DecimalString
    grace_days: int
    broken_date: date | None
    completed_date: date | None
    invoices: list[str]
    instalments: list[InstalmentOut]
    notes: str

    @staticmethod
    def resolve_customer(obj: InstalmentPlan) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_principal(obj: InstalmentPlan) -> str:
        return format_minor(obj.principal_minor, obj.currency)

    @staticmethod
    def resolve_fee(obj: InstalmentPlan) -> str:
        return format_minor(obj.fee_minor, obj.currency)

    @staticmethod
    def resolve_interest(obj: InstalmentPlan) -> str:
        return format_minor(obj.interest_minor, obj.currency)

    @staticmethod
    def resolve_total(obj: InstalmentPlan) -> str:
        return format_minor(obj.principal_minor + obj.fee_minor + obj.interest_minor, obj.currency)

    @staticmethod
    def resolve_invoices(obj: InstalmentPlan) -> list[str]:
        return sorted(invoice.number for invoice in obj.invoices.all())

    @staticmethod
    def resolve_instalments(obj: InstalmentPlan) -> list[dict[str, object]]:
        return [
            {
                "sequence": row.sequence,
                "due_date": row.due_date,
                "amount": format_minor(row.amount_minor, obj.currency),
                "paid": format_minor(row.paid_minor, obj.currency),
            }
            for row in sorted(obj.instalments.all(), key=lambda row: row.sequence)
        ]


# --- tasks ------------------------------------------------------------------------------------


class TaskFilters(Schema):
    status: TaskStatusIn | None = Field(TaskStatus.OPEN, description="default OPEN")
    kind: TaskKindIn | None = None
    customer: Text | None = Field(None, description="a customer's code")
    mine: bool = Field(False, description="only tasks assigned to you")
    due_before: BusinessDate | None = Field(None, description="due on or before this day")


class TaskSkip(InputSchema):
    reason: Text = Field("", max_length=2_000)


class TaskOut(Schema):
    id: int
    kind: str
    status: str
    customer: str
    customer_name: str
    assignee: str | None
    due_date: date
    title: str
    script: str
    promise_id: int | None
    dispute_id: int | None
    plan_id: int | None
    short_payment_id: int | None
    statement_id: int | None
    interaction_id: int | None
    created_at: datetime
    completed_at: datetime | None
    evidence: list[dict[str, Any]] | None = Field(
        None, description='an early warning\'s cause and facts: [{"cause": …}, {"fact": …, "value": …}, …]'
    )
    evidence_text: str = Field("", description="an early warning's facts worded in the reader's language")

    @staticmethod
    def resolve_customer(obj: Task) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_evidence_text(obj: Task) -> str:
        return task_warning_text(obj.evidence)

    @staticmethod
    def resolve_customer_name(obj: Task) -> str:
        return obj.customer.name

    @staticmethod
    def resolve_assignee(obj: Task) -> str | None:
        return _username(obj.assignee)
