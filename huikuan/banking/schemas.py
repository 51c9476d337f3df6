"""Request and response shapes of the bank API. Money is a decimal string, never a float."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import BeforeValidator

from huikuan.banking.matching_service import line_payments
from huikuan.banking.models import BankStatement, BankStatementLine, LineStatus
from huikuan.core.money import format_minor
from huikuan.core.schemas import BusinessDate, DecimalAmount, DecimalString, InputSchema, Text, upper
from huikuan.ledger.models import Payment
from huikuan.ledger.schemas import PaymentOut

LineStatusIn = Annotated[LineStatus, BeforeValidator(upper)]
InvoiceNumbers = list[Annotated[Text, Field(min_length=1, max_length=64)]]
CustomerCode = Annotated[Text, Field(min_length=1, max_length=64, description="the customer's code")]


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


class StatementOut(Schema):
    id: int
    account_id: int
    account: str = Field(description="the bank account's name")
    account_number: str
    format: str
    identification: str
    file_name: str
    currency: str
    period_start: date | None
    period_end: date | None
    opening_balance: DecimalString | None
    closing_balance: DecimalString | None
    line_count: int
    new_line_count: int
    warnings: list[str]
    imported_at: datetime

    @staticmethod
    def resolve_account(obj: BankStatement) -> str:
        return obj.account.name

    @staticmethod
    def resolve_account_number(obj: BankStatement) -> str:
        return obj.account.account_number

    @staticmethod
    def resolve_opening_balance(obj: BankStatement) -> str | None:
        return _money(obj.opening_minor, obj.currency)

    @staticmethod
    def resolve_closing_balance(obj: BankStatement) -> str | None:
        return _money(obj.closing_minor, obj.currency)

    @staticmethod
    def resolve_warnings(obj: BankStatement) -> list[str]:
        return [str(warning) for warning in obj.warnings or []]


class ProposedInvoiceOut(Schema):
    number: str
    amount: DecimalString = Field(description="what the credit would pay on it")


class ProposalOut(Schema):
    customer: str = Field(description="the proposed customer's code")
    customer_name: str
    invoices: list[ProposedInvoiceOut] = Field(description="in the order the money goes to them")
    confidence: int = Field(description="0-100; from the auto-apply threshold on it is applied at once")
    reasons: list[str]


class LineOut(Schema):
    id: int
    statement_id: int
    account: str = Field(description="the bank account's name")
    booking_date: date
    value_date: date | None
    amount: DecimalString = Field(description="signed: money in is positive, money out negative")
    currency: str
    counterparty_name: str
    counterparty_account: str
    remittance: str
    structured_reference: str
    bank_reference: str
    end_to_end_id: str
    status: str = Field(description="NEW, REVIEW, APPLIED, UNMATCHED or EXCLUDED")
    customer: str | None = Field(description="who paid, once known (the customer's code)")
    payment_id: int | None
    owner: str | None = Field(description="who looks after it while it is unapplied cash")
    age_days: int = Field(description="days since the booking date")
    matched_at: datetime | None
    proposal: ProposalOut | None

    @staticmethod
    def resolve_account(obj: BankStatementLine) -> str:
        return obj.account.name

    @staticmethod
    def resolve_amount(obj: BankStatementLine) -> str:
        return format_minor(obj.amount_minor, obj.currency)

    @staticmethod
    def resolve_customer(obj: BankStatementLine) -> str | None:
        return obj.customer.code if obj.customer is not None else None

    @staticmethod
    def resolve_owner(obj: BankStatementLine) -> str | None:
        return obj.owner.get_username() if obj.owner is not None else None

    @staticmethod
    def resolve_age_days(obj: BankStatementLine) -> int:
        return max(0, (timezone.localdate() - obj.booking_date).days)

    @staticmethod
    def resolve_proposal(obj: BankStatementLine) -> dict[str, Any] | None:
        proposal = getattr(obj, "proposal", None)
        if proposal is None:
            return None
        return {
            "customer": proposal.customer.code,
            "customer_name": proposal.customer.name,
            "invoices": proposal.invoices,
            "confidence": proposal.confidence,
            "reasons": proposal.reasons,
        }


class LineDetailOut(LineOut):
    payments: list[PaymentOut] = Field(
        description="the payments recorded from this line (payment_id bank-line:<line id>, #2 … for "
        "the other parts of a split), with their allocations"
    )

    @staticmethod
    def resolve_payments(obj: BankStatementLine) -> list[Payment]:
        return line_payments(obj)


class LineFilters(Schema):
    status: LineStatusIn | None = Field(None, description="NEW, REVIEW, APPLIED, UNMATCHED or EXCLUDED")
    statement: int | None = Field(None, description="a statement's id")
    account: int | None = Field(None, description="a bank account's id")
    credits: bool = Field(False, description="only money in")


class ApplyIn(InputSchema):
    customer: CustomerCode
    invoices: InvoiceNumbers = Field(
        default_factory=list, max_length=200, description="settled first, in this order; then the oldest due"
    )


class SplitPartIn(InputSchema):
    customer: CustomerCode
    invoices: InvoiceNumbers = Field(default_factory=list, max_length=200)
    amount: DecimalAmount = Field(description="in the line's currency")


class SplitIn(InputSchema):
    parts: list[SplitPartIn] = Field(min_length=1, max_length=50, description="amounts add up to the line")


class OnAccountIn(InputSchema):
    customer: CustomerCode


class ExcludeIn(InputSchema):
    reason: Text = Field(min_length=1, max_length=500, description="why it is not a customer payment")


class MatchIn(InputSchema):
    as_of: BusinessDate | None = Field(None, description="dates the short-payment tasks (default: today)")
    line_ids: list[int] | None = Field(
        None, max_length=10_000, description="only these lines; REVIEW and UNMATCHED ones are weighed again"
    )


class UnmatchedTotalOut(Schema):
    currency: str
    amount: DecimalString
    lines: int
    oldest_age_days: int
