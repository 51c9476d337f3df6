"""Request and response shapes of the legal API. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from ninja import Field, Schema
from pydantic import BeforeValidator

from huikuan.collections.incentive_models import Incentive, IncentiveStatus
from huikuan.collections.legal_models import HandoverKind, HandoverStatus, LegalHandover, LegalRecovery
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

KindIn = Annotated[HandoverKind, BeforeValidator(upper)]
StatusIn = Annotated[HandoverStatus, BeforeValidator(upper)]
EndingIn = Annotated[str, BeforeValidator(upper)]


class HandoverIn(InputSchema):
    kind: KindIn = Field(description="AGENCY or LAWYER")
    agent_name: Text = Field(min_length=1, max_length=255, description="the agency or the lawyer")
    agent_reference: Text = Field("", max_length=100, description="their file number")
    commission_percent: DecimalAmount = Field(description="percent of what is recovered, 0–100, e.g. 15")
    handed_over_date: BusinessDate | None = Field(None, description="default: today")
    invoices: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="invoice numbers; none: every open invoice (in `currency`)"
    )
    currency: Currency | None = Field(
        None, description="which currency's open invoices, when there are several"
    )
    notes: Text = Field("", max_length=10_000)


class RecoveryIn(InputSchema):
    amount: DecimalAmount
    recovered_date: BusinessDate | None = Field(None, description="default: today")
    notes: Text = Field("", max_length=10_000)


class HandoverEndIn(InputSchema):
    status: EndingIn = Field(description="RETURNED (the agent gave it back) or CLOSED")
    ended_date: BusinessDate | None = Field(None, description="default: today")
    reason: Text = Field("", max_length=5_000)


class RecoveryOut(Schema):
    id: int
    recovered_date: date
    amount: DecimalString
    commission: DecimalString
    notes: str

    @staticmethod
    def resolve_amount(obj: LegalRecovery) -> str:
        return format_minor(obj.amount_minor, obj.handover.currency)

    @staticmethod
    def resolve_commission(obj: LegalRecovery) -> str:
        return format_minor(obj.commission_minor, obj.handover.currency)


class HandoverOut(Schema):
    id: int
    customer: str
    kind: str
    agent_name: str
    agent_reference: str
    handed_over_date: date
    commission_percent: DecimalString
    currency: str
    amount: DecimalString = Field(description="open on the invoices when handed over")
    recovered: DecimalString
    commission: DecimalString = Field(description="earned by the agent on what was recovered")
    outstanding: DecimalString = Field(description="handed over and not recovered yet")
    status: str = Field(description="ACTIVE, PARTLY_RECOVERED, RECOVERED, RETURNED or CLOSED")
    ended_date: date | None
    invoices: list[str]
    notes: str
    created_by: str | None

    @staticmethod
    def resolve_customer(obj: LegalHandover) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_commission_percent(obj: LegalHandover) -> str:
        return f"{obj.commission_percent:f}"

    @staticmethod
    def resolve_amount(obj: LegalHandover) -> str:
        return format_minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_recovered(obj: LegalHandover) -> str:
        return format_minor(obj.recovered_minor, obj.currency)

    @staticmethod
    def resolve_commission(obj: LegalHandover) -> str:
        return format_minor(obj.commission_minor, obj.currency)

    @staticmethod
    def resolve_outstanding(obj: LegalHandover) -> str:
        return format_minor(obj.amount_minor - obj.recovered_minor, obj.currency)

    @staticmethod
    def resolve_invoices(obj: LegalHandover) -> list[str]:
        return sorted(invoice.number for invoice in obj.invoices.all())

    @staticmethod
    def resolve_created_by(obj: LegalHandover) -> str | None:
        return obj.created_by.get_username() if obj.created_by is not None else None


class HandoverDetailOut(HandoverOut):
    recoveries: list[RecoveryOut]

    @staticmethod
    def resolve_recoveries(obj: LegalHandover) -> list[LegalRecovery]:
        return list(obj.recoveries.select_related("handover").order_by("recovered_date", "id"))


class HandoverFilters(Schema):
    status: StatusIn | None = Field(None, description="only hand-overs in this status")
    customer: Text | None = Field(None, description="only this customer's (code)")


# --- incentives -------------------------------------------------------------------------------


class IncentiveIn(InputSchema):
    kind: Annotated[str, BeforeValidator(upper)] = Field(description="DISCOUNT or SETTLEMENT")
    invoices: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, description="invoice numbers (one currency)"
    )
    pay_by_date: BusinessDate = Field(description="the offer holds for payments received up to this day")
    discount_percent: DecimalAmount | None = Field(None, description="DISCOUNT: percent off, e.g. 2")
    settle_amount: DecimalAmount | None = Field(None, description="SETTLEMENT: the sum accepted in full")
    terms: Text = Field("", max_length=100, description='shown with the offer, e.g. "2/10 net 30"')
    notes: Text = Field("", max_length=10_000)


class IncentiveCloseIn(InputSchema):
    reason: Text = Field("", max_length=500)


class IncentiveOut(Schema):
    id: int
    customer: str
    kind: str
    status: str = Field(description="AWAITING_APPROVAL, OFFERED, BOOKED, EXPIRED, WITHDRAWN or REJECTED")
    currency: str
    offered_date: date
    pay_by_date: date
    discount_percent: str | None
    open: DecimalString = Field(description="open on the invoices when offered")
    pay: DecimalString = Field(description="what the customer pays to take the offer")
    concession: DecimalString = Field(description="what is given up (credited when taken)")
    invoices: list[str]
    terms: str
    booked_date: date | None
    created_by: str | None
    approved_by: str | None

    @staticmethod
    def resolve_customer(obj: Incentive) -> str:
        return obj.customer.code

    @staticmethod
    def resolve_discount_percent(obj: Incentive) -> str | None:
        return f"{obj.discount_percent:f}" if obj.discount_percent is not None else None

    @staticmethod
    def resolve_open(obj: Incentive) -> str:
        return format_minor(obj.open_minor, obj.currency)

    @staticmethod
    def resolve_pay(obj: Incentive) -> str:
        return format_minor(obj.pay_minor, obj.currency)

    @staticmethod
    def resolve_concession(obj: Incentive) -> str:
        return format_minor(obj.concession_minor, obj.currency)

    @staticmethod
    def resolve_invoices(obj: Incentive) -> list[str]:
        return [line["number"] for line in obj.lines]

    @staticmethod
    def resolve_created_by(obj: Incentive) -> str | None:
        return obj.created_by.get_username() if obj.created_by is not None else None

    @staticmethod
    def resolve_approved_by(obj: Incentive) -> str | None:
        return obj.approved_by.get_username() if obj.approved_by is not None else None


class IncentiveFilters(Schema):
    status: Annotated[IncentiveStatus, BeforeValidator(upper)] | None = Field(None)
