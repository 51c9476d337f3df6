"""Reads of bank statements and their lines: the review queue, unapplied cash and its age.

Bank data is the company's, not one collector's: these reads are not scoped to customers; the
API lets only the roles that see every customer reach them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Min, QuerySet, Sum

from huikuan.banking.matching_service import BankLineNotFound
from huikuan.banking.models import BankStatement, BankStatementLine, LineStatus
from huikuan.core.errors import NotFound
from huikuan.core.money import format_minor


class BankStatementNotFound(NotFound):
    code = "bank_statement_not_found"


def statement_list(*, account_id: int | None = None) -> QuerySet[BankStatement]:
    """Return statements with their accounts, latest period first."""
    queryset = BankStatement.objects.select_related("account")
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    return queryset.order_by("-period_end", "-pk")


def statement_get(*, statement_id: int) -> BankStatement:
    """Return the statement or raise BankStatementNotFound."""
    try:
        return BankStatement.objects.select_related("account").get(pk=statement_id)
    except BankStatement.DoesNotExist:
        raise BankStatementNotFound(f"bank statement {statement_id} does not exist")


def _lines() -> QuerySet[BankStatementLine]:
    return BankStatementLine.objects.select_related(
        "account", "customer", "owner", "proposal", "proposal__customer", "payment"
    )


def line_list(
    *,
    status: str | None = None,
    statement_id: int | None = None,
    account_id: int | None = None,
    credits_only: bool = False,
) -> QuerySet[BankStatementLine]:
    """Return lines in booking order, optionally of one status, statement or account."""
    queryset = _lines()
    if status:
        queryset = queryset.filter(status=status.upper())
    if statement_id is not None:
        queryset = queryset.filter(statement_id=statement_id)
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    if credits_only:
        queryset = queryset.filter(amount_minor__gt=0)
    return queryset.order_by("booking_date", "pk")


def statement_lines(*, statement: BankStatement) -> QuerySet[BankStatementLine]:
    """Return a statement's lines in booking order, debits and credits alike."""
    return line_list(statement_id=statement.pk)


def line_get(*, line_id: int) -> BankStatementLine:
    """Return the line or raise BankLineNotFound."""
    try:
        return _lines().get(pk=line_id)
    except BankStatementLine.DoesNotExist:
        raise BankLineNotFound(f"bank line {line_id} does not exist")


def review_queue() -> QuerySet[BankStatementLine]:
    """Return the credits waiting for a person's decision, oldest booking first."""
    return line_list(status=LineStatus.REVIEW)


def unmatched_cash(*, owner: Any = None) -> QuerySet[BankStatementLine]:
    """Return unapplied cash (credits nobody fitted), oldest first; only one owner's if given."""
    queryset = line_list(status=LineStatus.UNMATCHED)
    if owner is not None:
        queryset = queryset.filter(owner=owner)
    return queryset


def line_age_days(line: BankStatementLine, *, as_of: date) -> int:
    """Return how many days the money has been in the bank (0 on its booking day)."""
    return max(0, (as_of - line.booking_date).days)


def unmatched_cash_totals(*, as_of: date) -> list[dict[str, Any]]:
    """Return unapplied cash per currency: amount, lines and the oldest line's age in days."""
    rows = (
        BankStatementLine.objects.filter(status=LineStatus.UNMATCHED, amount_minor__gt=0)
        .values("currency")
        .annotate(total=Sum("amount_minor"), lines=Count("pk"), oldest=Min("booking_date"))
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"],
            "amount": format_minor(row["total"], row["currency"]),
            "lines": row["lines"],
            "oldest_age_days": max(0, (as_of - row["oldest"]).days),
        }
        for row in rows
    ]
