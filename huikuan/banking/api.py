"""The bank over HTTP: statements, their lines, the review queue, unapplied cash, and matching.

Bank accounts are the company's, not one collector's: credit controllers, managers,
administrators and auditors read them; credit controllers, managers and administrators decide
lines and start matching (an auditor's token may only read, as everywhere). Collectors and sales
reps are answered 403 ``role_not_allowed`` — the endpoints are listed in the public OpenAPI
document, so hiding them behind a 404 would hide nothing; no line, amount or payer is shown.
"""

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router
from ninja.pagination import paginate

from huikuan.accounts.access import COMPANY_WIDE_ROLES, access_customer, require_role
from huikuan.accounts.models import ROLES_SEEING_ALL
from huikuan.banking.matching_service import (
    bank_match,
    line_apply,
    line_exclude,
    line_leave_on_account,
    line_reinstate,
    line_split,
    proposal_accept,
)
from huikuan.banking.models import BankStatementLine
from huikuan.banking.schemas import (
    ApplyIn,
    ExcludeIn,
    LineDetailOut,
    LineFilters,
    LineOut,
    MatchIn,
    OnAccountIn,
    SplitIn,
    StatementOut,
    UnmatchedTotalOut,
)
from huikuan.banking.selectors import (
    line_get,
    line_list,
    review_queue,
    statement_get,
    statement_lines,
    statement_list,
    unmatched_cash,
    unmatched_cash_totals,
)
from huikuan.core.api_errors import referenced
from huikuan.core.schemas import ErrorOut, Page, money_parse
from huikuan.customers.models import Customer

bank_router = Router(tags=["bank"])

ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}
# Everyone who sees every customer reads the bank; the same roles less the auditor change it.
READERS = tuple(sorted(ROLES_SEEING_ALL))
WRITERS = COMPANY_WIDE_ROLES


def _reader(request: HttpRequest) -> None:
    require_role(request.user, *READERS)


def _writer(request: HttpRequest) -> None:
    require_role(request.user, *WRITERS)


def _customer(request: HttpRequest, code: str) -> Customer:
    with referenced():
        return access_customer(user=request.user, code=code)


def _line(line_id: int) -> BankStatementLine:
    return line_get(line_id=line_id)


# --- reading ----------------------------------------------------------------------------------


@bank_router.get("/statements", response={200: list[StatementOut], **ERRORS}, summary="List bank statements")
@paginate(Page)
def statements_list(request: HttpRequest, account: int | None = None) -> Any:
    """Latest period first; `account` keeps one bank account's."""
    _reader(request)
    return statement_list(account_id=account)


@bank_router.get(
    "/statements/{int:statement_id}", response={200: StatementOut, **ERRORS}, summary="Get a bank statement"
)
def statements_get(request: HttpRequest, statement_id: int) -> Any:
    _reader(request)
    return statement_get(statement_id=statement_id)


@bank_router.get(
    "/statements/{int:statement_id}/lines",
    response={200: list[LineOut], **ERRORS},
    summary="List a statement's lines",
)
@paginate(Page)
def statements_lines(request: HttpRequest, statement_id: int) -> Any:
    """In booking order, money in and out."""
    _reader(request)
    return statement_lines(statement=statement_get(statement_id=statement_id))


@bank_router.get("/lines", response={200: list[LineOut], **ERRORS}, summary="List statement lines")
@paginate(Page)
def lines_list(request: HttpRequest, filters: Query[LineFilters]) -> Any:
    """In booking order; filter by `status`, `statement`, `account`, `credits=true`."""
    _reader(request)
    return line_list(
        status=filters.status,
        statement_id=filters.statement,
        account_id=filters.account,
        credits_only=filters.credits,
    )


@bank_router.get(
    "/lines/{int:line_id}", response={200: LineDetailOut, **ERRORS}, summary="Get a statement line"
)
def lines_get(request: HttpRequest, line_id: int) -> Any:
    """With its proposal and the payments recorded from it."""
    _reader(request)
    return _line(line_id)


@bank_router.get("/review", response={200: list[LineOut], **ERRORS}, summary="The review queue")
@paginate(Page)
def review_list(request: HttpRequest) -> Any:
    """Credits whose proposal was not sure enough to apply at once, oldest first."""
    _reader(request)
    return review_queue()


@bank_router.get("/unmatched", response={200: list[LineOut], **ERRORS}, summary="Unapplied cash")
@paginate(Page)
def unmatched_list(request: HttpRequest, mine: bool = False) -> Any:
    """Credits nobody fitted, oldest first, with their age in days; `mine=true` keeps yours."""
    _reader(request)
    return unmatched_cash(owner=request.user if mine else None)


@bank_router.get(
    "/unmatched/totals",
    response={200: list[UnmatchedTotalOut], **ERRORS},
    summary="Unapplied cash per currency",
)
def unmatched_totals(request: HttpRequest) -> Any:
    _reader(request)
    return unmatched_cash_totals(as_of=timezone.localdate())


# --- deciding ---------------------------------------------------------------------------------


@bank_router.post(
    "/lines/{int:line_id}/accept", response={200: LineDetailOut, **ERRORS}, summary="Accept a line's proposal"
)
def lines_accept(request: HttpRequest, line_id: int) -> Any:
    """Apply the line as proposed; the payer's account and name are learned for the customer.
    A line already applied or excluded answers 409."""
    _writer(request)
    line = _line(line_id)
    proposal_accept(line=line, actor=request.user, as_of=timezone.localdate())
    return _line(line_id)


@bank_router.post(
    "/lines/{int:line_id}/apply",
    response={200: LineDetailOut, **ERRORS},
    summary="Apply a line as you choose",
)
def lines_apply(request: HttpRequest, line_id: int, payload: ApplyIn) -> Any:
    """To this customer: the invoices given first, in order, then the oldest due; the rest on account."""
    _writer(request)
    line = _line(line_id)
    customer = _customer(request, payload.customer)
    line_apply(
        line=line,
        customer=customer,
        invoice_numbers=payload.invoices,
        actor=request.user,
        as_of=timezone.localdate(),
    )
    return _line(line_id)


@bank_router.post(
    "/lines/{int:line_id}/split",
    response={200: LineDetailOut, **ERRORS},
    summary="Split a line into payments",
)
def lines_split(request: HttpRequest, line_id: int, payload: SplitIn) -> Any:
    """One payment per part (customer, invoices, amount); the amounts must add up to the line."""
    _writer(request)
    line = _line(line_id)
    parts = [
        (
            _customer(request, part.customer),
            part.invoices,
            money_parse(part.amount, line.currency, field=f"parts.{position}.amount"),
        )
        for position, part in enumerate(payload.parts)
    ]
    line_split(line=line, parts=parts, actor=request.user, as_of=timezone.localdate())
    return _line(line_id)


@bank_router.post(
    "/lines/{int:line_id}/on-account",
    response={200: LineDetailOut, **ERRORS},
    summary="Leave a line on a customer's account",
)
def lines_on_account(request: HttpRequest, line_id: int, payload: OnAccountIn) -> Any:
    """A payment of the customer's applied to no invoice: it stays unapplied on account."""
    _writer(request)
    line = _line(line_id)
    line_leave_on_account(line=line, customer=_customer(request, payload.customer), actor=request.user)
    return _line(line_id)


@bank_router.post(
    "/lines/{int:line_id}/exclude", response={200: LineDetailOut, **ERRORS}, summary="Exclude a line"
)
def lines_exclude(request: HttpRequest, line_id: int, payload: ExcludeIn) -> Any:
    """Not a customer payment (interest, a refund, a transfer between own accounts): out of matching."""
    _writer(request)
    line = _line(line_id)
    line_exclude(line=line, reason=payload.reason, actor=request.user)
    return _line(line_id)


@bank_router.post(
    "/lines/{int:line_id}/reinstate",
    response={200: LineDetailOut, **ERRORS},
    summary="Put an excluded line back into review",
)
def lines_reinstate(request: HttpRequest, line_id: int) -> Any:
    """A line set aside as not a customer payment by mistake waits for review again.
    A line that was not excluded answers 409."""
    _writer(request)
    line = _line(line_id)
    line_reinstate(line=line, actor=request.user)
    return _line(line_id)


@bank_router.post("/match", response={200: dict, **ERRORS}, summary="Match the new credits")
def match_run(request: HttpRequest, payload: MatchIn) -> Any:
    """The same run as `huikuan bank match`; the answer is its summary (counts, amounts, decisions)."""
    _writer(request)
    return bank_match(
        as_of=payload.as_of or timezone.localdate(), actor=request.user, line_ids=payload.line_ids
    )
