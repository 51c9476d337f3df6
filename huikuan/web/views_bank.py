"""The bank pages: credits waiting for review, unapplied cash, imported statements, and matching.

Bank data is the company's, not one collector's: only the roles that see every customer reach
these pages (the others get 404, as for any page outside their role), and auditors may only read
them (a change answers 403). Views parse the request and call the banking selectors and services;
what a credit pays is decided there. A decision taken on a row answers htmx with that row alone,
and a plain form post with a redirect back to the list.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from huikuan.accounts.access import access_customer, user_can_write
from huikuan.accounts.decorators import role_required, write_required
from huikuan.accounts.models import ROLES_SEEING_ALL
from huikuan.banking.matching_service import (
    EXTERNAL_ID,
    BankLineNotFound,
    bank_match,
    line_apply,
    line_exclude,
    line_leave_on_account,
    line_payments,
    line_reinstate,
    line_split,
    proposal_accept,
)
from huikuan.banking.models import BankStatementLine, LineStatus
from huikuan.banking.selectors import (
    BankStatementNotFound,
    line_age_days,
    line_get,
    review_queue,
    statement_get,
    statement_lines,
    statement_list,
    unmatched_cash,
    unmatched_cash_totals,
)
from huikuan.core.errors import HuikuanError
from huikuan.customers.models import Customer
from huikuan.customers.services import CustomerNotFound
from huikuan.ledger.models import Payment
from huikuan.web.forms import (
    BankApplyForm,
    BankExcludeForm,
    BankLineForm,
    BankOnAccountForm,
    BankSplitForm,
    BankUnmatchedForm,
    money_from_form,
)
from huikuan.web.templatetags.huikuan_web import amount as amount_text
from huikuan.web.templatetags.huikuan_web import money as money_text
from huikuan.web.views_worklist import htmx_of

# Everyone who sees every customer reads the bank; write_required keeps the auditor to reading.
READERS = tuple(sorted(ROLES_SEEING_ALL))
LINES_PER_PAGE = 50
STATEMENTS_PER_PAGE = 50
STATEMENT_LINES_PER_PAGE = 100
# The lists a decision is taken from, and what of their address survives the decision.
LIST_PAGES = {"review": "web:bank_review", "unmatched": "web:bank_unmatched"}
LIST_QUERY_KEYS = ("page", "mine")
# Lines a person may still decide (applied and excluded lines are final).
OPEN_STATUSES = frozenset({LineStatus.NEW, LineStatus.REVIEW, LineStatus.UNMATCHED})


class _Refused(Exception):
    """A decision refused before any service ran (a customer code nobody has, an amount too fine)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(slots=True)
class _Outcome:
    """What became of a decision on one line: done (what to say), or refused (the form, and why)."""

    line_id: int
    action: str
    form: BankLineForm | None = None
    error: str = ""
    done: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.form is not None and bool(self.form.errors))


@dataclass(slots=True)
class _Row:
    """One line as a list shows it, with the forms that decide it."""

    line: BankStatementLine
    age_days: int
    decidable: bool
    forms: dict[str, BankLineForm] = field(default_factory=dict)
    error: str = ""
    done: str = ""
    open_form: str = ""
    payments: list[Payment] = field(default_factory=list)


# --- rows -----------------------------------------------------------------------------------


def _line_forms(line: BankStatementLine, outcome: _Outcome | None) -> dict[str, BankLineForm]:
    """The forms of a line, filled in with the proposal; the one just refused keeps what was typed."""
    proposal = getattr(line, "proposal", None)
    customer_code = (
        proposal.customer.code if proposal is not None else (line.customer.code if line.customer else "")
    )
    numbers = " ".join(item["number"] for item in proposal.invoices) if proposal is not None else ""
    forms: dict[str, BankLineForm] = {
        "apply": BankApplyForm(line_id=line.pk, initial={"customer": customer_code, "invoices": numbers}),
        "split": BankSplitForm(line_id=line.pk),
        "on-account": BankOnAccountForm(line_id=line.pk, initial={"customer": customer_code}),
        "exclude": BankExcludeForm(line_id=line.pk),
    }
    if outcome is not None and outcome.form is not None:
        forms[outcome.action] = outcome.form
    return forms


def _row(line: BankStatementLine, *, as_of: date, can_write: bool, outcome: _Outcome | None = None) -> _Row:
    decidable = can_write and line.status in OPEN_STATUSES and line.amount_minor > 0
    return _Row(
        line=line,
        age_days=line_age_days(line, as_of=as_of),
        decidable=decidable,
        forms=_line_forms(line, outcome) if decidable else {},
        error=outcome.error if outcome else "",
        done=outcome.done if outcome else "",
        open_form=outcome.action if outcome and outcome.failed and outcome.action in DECISION_FORMS else "",
    )


def _split_payments(rows: Iterable[_Row]) -> None:
    """Give each split line all its payments, read in one query for the whole page."""
    split = {
        row.line.pk: row for row in rows if row.line.status == LineStatus.APPLIED and not row.line.customer_id
    }
    if not split:
        return
    for row in split.values():
        if row.line.payment is not None:
            row.payments = [row.line.payment]
    others = functools.reduce(
        operator.or_, (Q(external_id__startswith=EXTERNAL_ID.format(line=pk) + "#") for pk in split)
    )
    for payment in Payment.objects.filter(others).select_related("customer").order_by("pk"):
        line_id = int((payment.external_id or "").split(":", 1)[1].split("#", 1)[0])
        if line_id in split:
            split[line_id].payments.append(payment)


def _list_query(data: QueryDict) -> str:
    """The list's own address parameters (its page, its filter) found in ``data``."""
    query = QueryDict(mutable=True)
    for key in LIST_QUERY_KEYS:
        value = data.get(key)
        if value:
            query[key] = value
    return query.urlencode()


# --- the lists ------------------------------------------------------------------------------


def _list_context(request: HttpRequest, which: str, *, outcome: _Outcome | None = None) -> dict[str, Any]:
    """The review queue or the unapplied cash, a page at a time, ``outcome`` shown on its line."""
    as_of = timezone.localdate()
    can_write = user_can_write(request.user)
    # After a refused plain post the list comes back as it was shown: its address is in the form.
    data = QueryDict(request.POST.get("query", "")) if request.method == "POST" else request.GET
    context: dict[str, Any] = {"nav": "bank", "subnav": which, "can_write": can_write, "as_of": as_of}
    if which == "review":
        queryset = review_queue()
    else:
        filter_form = BankUnmatchedForm(data or None)
        mine = bool(filter_form.is_valid() and filter_form.cleaned_data["mine"])
        queryset = unmatched_cash(owner=request.user if mine else None)
        context["totals"] = unmatched_cash_totals(as_of=as_of)
        context["filter_form"] = filter_form
        context["mine"] = mine
    page = Paginator(queryset, LINES_PER_PAGE).get_page(data.get("page"))
    rows = [
        _row(
            line,
            as_of=as_of,
            can_write=can_write,
            outcome=outcome if outcome is not None and outcome.line_id == line.pk else None,
        )
        for line in page
    ]
    if outcome is not None and outcome.error and not any(row.line.pk == outcome.line_id for row in rows):
        messages.error(request, outcome.error)
    query = _list_query(data)
    pager_query = data.copy()
    pager_query.pop("page", None)
    context.update(
        {
            "page": page,
            "rows": rows,
            "page_name": which,
            "list_query": query,
            "pager_query": _list_query(pager_query),
        }
    )
    return context


@role_required(*READERS)
def bank_review(request: HttpRequest) -> HttpResponse:
    """Credits whose match was not sure enough to apply at once: accept, change, split, set aside."""
    return render(request, "web/bank_review.html", _list_context(request, "review"))


@role_required(*READERS)
def bank_unmatched(request: HttpRequest) -> HttpResponse:
    """Unapplied cash: credits nobody matched, oldest first, with their age and owner."""
    return render(request, "web/bank_unmatched.html", _list_context(request, "unmatched"))


@role_required(*READERS)
def bank_statements(request: HttpRequest) -> HttpResponse:
    """The statements imported, latest period first."""
    page = Paginator(statement_list(), STATEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "nav": "bank", "subnav": "statements", "can_write": user_can_write(request.user)}
    return render(request, "web/bank_statements.html", context)


@role_required(*READERS)
def bank_statement(request: HttpRequest, statement_id: int) -> HttpResponse:
    """One statement and its lines, money in and out, each with what became of it."""
    try:
        statement = statement_get(statement_id=statement_id)
    except BankStatementNotFound:
        raise Http404
    lines = statement_lines(statement=statement).select_related("payment__customer")
    page = Paginator(lines, STATEMENT_LINES_PER_PAGE).get_page(request.GET.get("page"))
    as_of = timezone.localdate()
    rows = [_row(line, as_of=as_of, can_write=False) for line in page]
    _split_payments(rows)
    context = {
        "statement": statement,
        "page": page,
        "rows": rows,
        "nav": "bank",
        "subnav": "statements",
        "can_write": user_can_write(request.user),
    }
    return render(request, "web/bank_statement.html", context)


# --- deciding a line ------------------------------------------------------------------------


def _customer(request: HttpRequest, code: str) -> Customer:
    try:
        return access_customer(user=request.user, code=code)
    except CustomerNotFound:
        raise _Refused("customer", _("No customer has the code %(code)s.") % {"code": code})


def _paid_text(payment: Payment) -> str:
    text = _("Applied to %(customer)s: %(amount)s %(currency)s.") % {
        "customer": payment.customer.code,
        "amount": money_text(payment.amount_minor - payment.unapplied_minor, payment.currency),
        "currency": payment.currency,
    }
    if payment.unapplied_minor:
        text += " " + _("%(amount)s %(currency)s stays on account.") % {
            "amount": money_text(payment.unapplied_minor, payment.currency),
            "currency": payment.currency,
        }
    return text


def _accept(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    payment = proposal_accept(line=line, actor=request.user, as_of=timezone.localdate())
    return _Outcome(line.pk, "accept", done=_paid_text(payment))


def _apply(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    form = BankApplyForm(request.POST, line_id=line.pk)
    outcome = _Outcome(line.pk, "apply", form=form)
    if form.is_valid():
        customer = _customer(request, form.cleaned_data["customer"].strip())
        payment = line_apply(
            line=line,
            customer=customer,
            invoice_numbers=form.cleaned_data["invoices"],
            actor=request.user,
            as_of=timezone.localdate(),
        )
        outcome.done = _paid_text(payment)
    return outcome


def _split(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    form = BankSplitForm(request.POST, line_id=line.pk)
    outcome = _Outcome(line.pk, "split", form=form)
    if form.is_valid():
        parts = []
        for code, numbers, value in form.cleaned_data["parts"]:
            try:
                money = money_from_form(value, line.currency)
            except ValidationError as error:  # more decimals than the currency has
                raise _Refused("parts", " ".join(error.messages))
            parts.append((_customer_of_part(request, code), numbers, money))
        payments = line_split(line=line, parts=parts, actor=request.user, as_of=timezone.localdate())
        outcome.done = ngettext(
            "Split into %(count)s payment: %(customers)s.",
            "Split into %(count)s payments: %(customers)s.",
            len(payments),
        ) % {"count": len(payments), "customers": ", ".join(payment.customer.code for payment in payments)}
    return outcome


def _customer_of_part(request: HttpRequest, code: str) -> Customer:
    try:
        return _customer(request, code)
    except _Refused as refused:
        raise _Refused("parts", refused.message)


def _on_account(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    form = BankOnAccountForm(request.POST, line_id=line.pk)
    outcome = _Outcome(line.pk, "on-account", form=form)
    if form.is_valid():
        customer = _customer(request, form.cleaned_data["customer"].strip())
        payment = line_leave_on_account(line=line, customer=customer, actor=request.user)
        outcome.done = _("Left on %(customer)s's account: %(amount)s %(currency)s.") % {
            "customer": customer.code,
            "amount": money_text(payment.amount_minor, payment.currency),
            "currency": payment.currency,
        }
    return outcome


def _exclude(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    form = BankExcludeForm(request.POST, line_id=line.pk)
    outcome = _Outcome(line.pk, "exclude", form=form)
    if form.is_valid():
        line_exclude(line=line, reason=form.cleaned_data["reason"], actor=request.user)
        outcome.done = _("Set aside: not a customer payment.")
    return outcome


def _reinstate(request: HttpRequest, line: BankStatementLine) -> _Outcome:
    line_reinstate(line=line, actor=request.user)
    return _Outcome(line.pk, "reinstate", done=_("Back in review."))


DECISIONS: dict[str, Callable[[HttpRequest, BankStatementLine], _Outcome]] = {
    "accept": _accept,
    "apply": _apply,
    "split": _split,
    "on-account": _on_account,
    "exclude": _exclude,
    "reinstate": _reinstate,
}
# The decisions taken through a form (the others are one button).
DECISION_FORMS: dict[str, type[BankLineForm]] = {
    "apply": BankApplyForm,
    "split": BankSplitForm,
    "on-account": BankOnAccountForm,
    "exclude": BankExcludeForm,
}


def _decide(request: HttpRequest, line: BankStatementLine, action: str) -> _Outcome:
    """Run the decision; a refusal (by the form or a service) leaves the line as it was."""
    form: BankLineForm | None = None
    try:
        return DECISIONS[action](request, line)
    except _Refused as refused:
        form = _bound_form(request, line, action)
        form.is_valid()
        form.add_error(refused.field, refused.message)
        return _Outcome(line.pk, action, form=form)
    except HuikuanError as error:
        if action in DECISION_FORMS:
            form = _bound_form(request, line, action)
        return _Outcome(line.pk, action, form=form, error=error.message)


def _bound_form(request: HttpRequest, line: BankStatementLine, action: str) -> BankLineForm:
    return DECISION_FORMS[action](request.POST, line_id=line.pk)


@role_required(*READERS)
@require_POST
@write_required
def bank_line_decide(request: HttpRequest, line_id: int, action: str) -> HttpResponse:
    """Accept, apply, split, leave on account, exclude or put back one line; the row shows what
    became of it."""
    if action not in DECISIONS:
        raise Http404(action)
    which = request.POST.get("page", "")
    which = which if which in LIST_PAGES else "review"
    try:
        line = line_get(line_id=line_id)
    except BankLineNotFound:
        raise Http404
    outcome = _decide(request, line, action)
    if htmx_of(request):
        # The row alone, read again: done, it shows the payment; refused, the form and why.
        line = line_get(line_id=line_id)
        row = _row(line, as_of=timezone.localdate(), can_write=True, outcome=outcome)
        if line.status == LineStatus.APPLIED and not line.customer_id:
            row.payments = line_payments(line)
        context = {
            "row": row,
            "page_name": which,
            "can_write": True,
            "list_query": _list_query(QueryDict(request.POST.get("query", ""))),
        }
        return render(request, "web/_bank_line.html", context)
    if outcome.failed:
        context = _list_context(request, which, outcome=outcome)
        return render(request, f"web/bank_{which}.html", context, status=400)
    messages.success(request, outcome.done)
    query = _list_query(QueryDict(request.POST.get("query", "")))
    response = HttpResponseRedirect(reverse(LIST_PAGES[which]) + (f"?{query}" if query else ""))
    response.status_code = 303
    return response


# --- matching -------------------------------------------------------------------------------


def _amounts_text(amounts: dict[str, str]) -> str:
    return ", ".join(f"{amount_text(value, currency)} {currency}" for currency, value in amounts.items())


@role_required(*READERS)
@require_POST
@write_required
def bank_match_run(request: HttpRequest) -> HttpResponse:
    """Match the credits not matched yet, as ``huikuan bank match`` does, and say what became of them."""
    summary = bank_match(as_of=timezone.localdate(), actor=request.user)
    lines = summary["lines"]
    if not lines:
        messages.info(request, _("There were no new credits to match."))
    else:
        text = ngettext(
            "%(lines)s credit matched: %(applied)s applied, %(review)s to review, %(unmatched)s unapplied cash.",
            "%(lines)s credits matched: %(applied)s applied, %(review)s to review, %(unmatched)s unapplied cash.",
            lines,
        ) % {
            "lines": lines,
            "applied": summary["applied"],
            "review": summary["review"],
            "unmatched": summary["unmatched"],
        }
        applied = summary["amounts"].get("applied") or {}
        if applied:
            text += " " + _("Applied: %(amounts)s.") % {"amounts": _amounts_text(applied)}
        tasks = summary.get("short_payment_tasks") or 0
        if tasks:
            text += " " + ngettext(
                "%(count)s short payment is now a collector's task.",
                "%(count)s short payments are now collectors' tasks.",
                tasks,
            ) % {"count": tasks}
        messages.success(request, text)
    for warning in summary.get("warnings") or []:
        messages.warning(request, str(warning))
    response = HttpResponseRedirect(reverse("web:bank_review"))
    response.status_code = 303
    return response
