"""The portal's pages under /portal/<key>/. Views only parse the request and call services.

Every page goes through :func:`portal_page`: the rate limit (per key and per client address),
then the link (an unknown, expired or revoked key gets the same 404 page), then the language
(the visitor's choice from the switch, else the customer's). Responses are never cached and
send no Referer, since the key is in the address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from huikuan.core.errors import HuikuanError
from huikuan.core.money import from_minor
from huikuan.core.throttle import throttle_hit
from huikuan.customers.models import Customer
from huikuan.ledger.models import StatementStatus
from huikuan.messaging.context import amount_text, date_text, money_text
from huikuan.messaging.rendering import normalise_language
from huikuan.portal.forms import DisputeForm, PromiseForm, StatementConfirmForm, StatementDisputeForm
from huikuan.portal.models import PortalLink
from huikuan.portal.selectors import portal_open_invoices, portal_statements, portal_totals
from huikuan.portal.services import (
    PortalLinkNotFound,
    PortalNotFound,
    portal_dispute_open,
    portal_invoice_get,
    portal_link_resolve,
    portal_promise_create,
    portal_statement_confirm,
    portal_statement_dispute,
    portal_statement_get,
)

WINDOW_SECONDS = 60
LANGUAGES = ("en", "zh-hans")

PortalView = Callable[..., HttpResponse]


def _client_address(request: HttpRequest) -> str:
    # Only the connection's address: a forwarded header could be set by anyone guessing keys.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _secure(response: HttpResponse) -> HttpResponse:
    # "same-origin": the key in the URL never leaves for another site, while the portal's own
    # forms still carry an Origin that Django's CSRF check accepts ("no-referrer" makes the
    # browser send "Origin: null" and every form would be refused).
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    """The one answer for a key that does not work and for anything the customer does not have."""
    return _secure(render(request, "portal/not_found.html", {}, status=404))


def _throttled(request: HttpRequest) -> HttpResponse:
    response = render(request, "portal/throttled.html", {"seconds": WINDOW_SECONDS}, status=429)
    response["Retry-After"] = str(WINDOW_SECONDS)
    return _secure(response)


def _language(request: HttpRequest, customer: Customer) -> str:
    """The visitor's choice from the language switch, else the customer's language."""
    chosen = normalise_language(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
    if chosen not in LANGUAGES:
        chosen = normalise_language(customer.language or settings.LANGUAGE_CODE)
    return chosen if chosen in LANGUAGES else "en"


def portal_page(view: PortalView) -> PortalView:
    """Rate-limit, resolve the link and choose the language before the page; 404 the same for all."""

    @wraps(view)
    def wrapper(request: HttpRequest, key: str, *args: Any, **kwargs: Any) -> HttpResponse:
        rate = settings.HUIKUAN_PORTAL_RATE_PER_MINUTE
        key_hash = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        within_address = throttle_hit(
            key=f"portal:address:{_client_address(request)}", limit=rate, window_seconds=WINDOW_SECONDS
        )
        within_key = throttle_hit(key=f"portal:key:{key_hash}", limit=rate, window_seconds=WINDOW_SECONDS)
        if not (within_address and within_key):
            return _throttled(request)
        try:
            link = portal_link_resolve(key=key, now=timezone.now())
        except PortalLinkNotFound:
            return _not_found(request)
        language = _language(request, link.customer)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = view(request, link, key, *args, **kwargs)
        except PortalNotFound:
            return _not_found(request)
        return _secure(response)

    return wrapper


def _context(request: HttpRequest, link: PortalLink, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "link": link,
        "key": key,
        "customer": link.customer,
        "company_name": settings.HUIKUAN_COMPANY_NAME,
        "language": request.LANGUAGE_CODE,  # type: ignore[attr-defined]
        **extra,
    }


def _home(key: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("portal:home", args=[key]))


def _invoice_rows(invoices: list[Any], language: str) -> list[dict[str, Any]]:
    return [
        {
            "invoice": invoice,
            "amount": money_text(invoice.amount_minor, invoice.currency, language),
            "open": money_text(invoice.open_minor, invoice.currency, language),
        }
        for invoice in invoices
    ]


def _statement_rows(statements: list[Any], language: str) -> list[dict[str, Any]]:
    return [
        {
            "statement": statement,
            "month": f"{statement.period_end_date:%Y-%m}",
            "closing": money_text(statement.closing_minor, statement.currency, language),
            "status": StatementStatus(statement.status).label,
            "answerable": statement.status in (StatementStatus.SENT, StatementStatus.NO_REPLY),
        }
        for statement in statements
    ]


@portal_page
def home(request: HttpRequest, link: PortalLink, key: str) -> HttpResponse:
    """What the customer owes, its statements, and what it can do about them."""
    language = request.LANGUAGE_CODE  # type: ignore[attr-defined]
    invoices = portal_open_invoices(link=link, today=timezone.localdate())
    totals = [
        {
            "currency": row["currency"],
            "open": money_text(row["open_minor"], row["currency"], language),
            "overdue": money_text(row["overdue_minor"], row["currency"], language),
            "has_overdue": row["overdue_minor"] > 0,
        }
        for row in portal_totals(invoices)
    ]
    context = _context(
        request,
        link,
        key,
        invoices=_invoice_rows(invoices, language),
        totals=totals,
        statements=_statement_rows(portal_statements(link=link), language),
        expires_on=date_text(timezone.localdate(link.expires_at), language),
        instructions=settings.HUIKUAN_PAYMENT_INSTRUCTIONS,
        offers=_offer_rows(link, language),
        page="home",
    )
    return render(request, "portal/home.html", context)


def _offer_rows(link: PortalLink, language: str) -> list[dict[str, str]]:
    """The discounts and settlements the customer can still take, worded as their e-mail is."""
    from huikuan.collections.incentives import incentive_text, portal_offers

    offers = portal_offers(customer=link.customer, as_of=timezone.localdate()).select_related("customer")
    rows = []
    for offer in offers.order_by("pay_by_date", "pk"):
        subject, text = incentive_text(incentive=offer, language=language)
        rows.append({"subject": subject, "text": text})
    return rows


def _statement_page(
    request: HttpRequest,
    link: PortalLink,
    key: str,
    statement_id: int,
    *,
    confirm_form: StatementConfirmForm | None = None,
    dispute_form: StatementDisputeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    from huikuan.ledger.statements import statement_aging, statement_lines, statement_reference

    language = request.LANGUAGE_CODE  # type: ignore[attr-defined]
    statement = portal_statement_get(link=link, statement_id=statement_id)
    currency = statement.currency
    lines = statement_lines(statement=statement)
    aging = statement_aging(statement=statement)
    context = _context(
        request,
        link,
        key,
        statement=statement,
        reference=statement_reference(statement),
        period_start=date_text(statement.period_start_date, language),
        period_end=date_text(statement.period_end_date, language),
        opening=money_text(statement.opening_minor, currency, language),
        closing=money_text(statement.closing_minor, currency, language),
        status_label=StatementStatus(statement.status).label,
        answerable=statement.status in (StatementStatus.SENT, StatementStatus.NO_REPLY),
        responded_on=date_text(timezone.localdate(statement.responded_at), language)
        if statement.responded_at
        else "",
        lines=[
            {
                "line": line,
                "debit": amount_text(line.debit_minor, currency) if line.debit_minor else "",
                "credit": amount_text(line.credit_minor, currency) if line.credit_minor else "",
                "balance": amount_text(line.balance_minor, currency),
            }
            for line in lines
        ],
        open_items=[{"item": item, "open": amount_text(item.open_minor, currency)} for item in aging.items],
        unapplied=money_text(aging.unapplied_minor, currency, language) if aging.unapplied_minor else "",
        confirm_form=confirm_form or StatementConfirmForm(),
        dispute_form=dispute_form or StatementDisputeForm(),
        page="statement",
    )
    return render(request, "portal/statement.html", context, status=status)


@portal_page
@require_http_methods(["GET"])
def statement(request: HttpRequest, link: PortalLink, key: str, statement_id: int) -> HttpResponse:
    """One statement: its lines, what was open at the month end, and the answer forms."""
    return _statement_page(request, link, key, statement_id)


@portal_page
@require_http_methods(["POST"])
def statement_confirm(request: HttpRequest, link: PortalLink, key: str, statement_id: int) -> HttpResponse:
    form = StatementConfirmForm(request.POST)
    if form.is_valid():
        try:
            portal_statement_confirm(
                link=link,
                statement_id=statement_id,
                responder_name=form.cleaned_data["name"],
                note=form.cleaned_data["note"],
                now=timezone.now(),
            )
        except PortalNotFound:
            raise
        except HuikuanError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Thank you: the statement is confirmed."))
            return _home(key)
    return _statement_page(request, link, key, statement_id, confirm_form=form, status=400)


@portal_page
@require_http_methods(["POST"])
def statement_dispute(request: HttpRequest, link: PortalLink, key: str, statement_id: int) -> HttpResponse:
    form = StatementDisputeForm(request.POST)
    if form.is_valid():
        try:
            portal_statement_dispute(
                link=link,
                statement_id=statement_id,
                responder_name=form.cleaned_data["name"],
                note=form.cleaned_data["note"],
                now=timezone.now(),
            )
        except PortalNotFound:
            raise
        except HuikuanError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Thank you: we will look into the difference and come back to you."))
            return _home(key)
    return _statement_page(request, link, key, statement_id, dispute_form=form, status=400)


@portal_page
@require_http_methods(["GET"])
def statement_pdf(request: HttpRequest, link: PortalLink, key: str, statement_id: int) -> HttpResponse:
    """The statement as a PDF, in the page's language."""
    from huikuan.ledger.statements import statement_pdf as make_pdf
    from huikuan.ledger.statements import statement_pdf_filename

    found = portal_statement_get(link=link, statement_id=statement_id)
    response = HttpResponse(
        make_pdf(statement=found, language=request.LANGUAGE_CODE),  # type: ignore[attr-defined]
        content_type="application/pdf",
    )
    response["Content-Disposition"] = f'attachment; filename="{statement_pdf_filename(found)}"'
    return response


@portal_page
@require_http_methods(["GET", "POST"])
def dispute(request: HttpRequest, link: PortalLink, key: str, number: str) -> HttpResponse:
    """Raise a question about one invoice: it is not chased while we look into it."""
    invoice = portal_invoice_get(link=link, number=number)
    language = request.LANGUAGE_CODE  # type: ignore[attr-defined]
    form = DisputeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                portal_dispute_open(
                    link=link,
                    invoice_number=invoice.number,
                    reason=form.cleaned_data["reason"],
                    name=form.cleaned_data["name"],
                    notes=form.cleaned_data["notes"],
                    today=timezone.localdate(),
                )
            except PortalNotFound:
                raise
            except HuikuanError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _(
                        "Thank you: your question about invoice %(number)s is with us; we will come back to you."
                    )
                    % {"number": invoice.number},
                )
                return _home(key)
    context = _context(
        request,
        link,
        key,
        invoice=invoice,
        open=money_text(invoice.open_minor, invoice.currency, language),
        form=form,
        page="dispute",
    )
    return render(request, "portal/dispute.html", context, status=status)


@portal_page
@require_http_methods(["GET", "POST"])
def promise(request: HttpRequest, link: PortalLink, key: str) -> HttpResponse:
    """Tell us when you will pay: reminders for the invoices named stop until then."""
    today = timezone.localdate()
    language = request.LANGUAGE_CODE  # type: ignore[attr-defined]
    invoices = [invoice for invoice in portal_open_invoices(link=link, today=today) if not invoice.disputed]
    currencies = sorted({invoice.currency for invoice in invoices}) or [link.customer.currency]
    choices = [
        (
            invoice.number,
            invoice.currency,
            f"{invoice.number} · {money_text(invoice.open_minor, invoice.currency, language)}",
        )
        for invoice in invoices
    ]
    chosen = [invoice for invoice in invoices if invoice.number in request.GET.getlist("invoice")]
    initial: dict[str, Any] = {"invoices": [invoice.number for invoice in chosen]}
    if chosen and len({invoice.currency for invoice in chosen}) == 1:
        # Offer what the chosen invoices have open; the customer may promise less.
        initial["currency"] = chosen[0].currency
        initial["amount"] = from_minor(sum(invoice.open_minor for invoice in chosen), chosen[0].currency)
    form = PromiseForm(
        request.POST or None, initial=initial, today=today, currencies=currencies, invoices=choices
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                made = portal_promise_create(
                    link=link,
                    amount=form.cleaned_data["money"],
                    promised_date=form.cleaned_data["promised_date"],
                    invoice_numbers=form.cleaned_data["invoices"],
                    name=form.cleaned_data["name"],
                    notes=form.cleaned_data["notes"],
                    today=today,
                )
            except PortalNotFound:
                raise
            except HuikuanError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("Thank you: we have noted that you will pay %(amount)s on %(date)s.")
                    % {
                        "amount": money_text(made.amount_minor, made.currency, language),
                        "date": date_text(made.promised_date, language),
                    },
                )
                return _home(key)
    context = _context(request, link, key, form=form, page="promise")
    return render(request, "portal/promise.html", context, status=status)


@portal_page
@require_http_methods(["GET"])
def pay(request: HttpRequest, link: PortalLink, key: str) -> HttpResponse:
    """How to pay: the bank details and the reference to quote."""
    language = request.LANGUAGE_CODE  # type: ignore[attr-defined]
    invoices = portal_open_invoices(link=link, today=timezone.localdate())
    context = _context(
        request,
        link,
        key,
        instructions=settings.HUIKUAN_PAYMENT_INSTRUCTIONS,
        invoices=_invoice_rows(invoices, language),
        page="pay",
    )
    return render(request, "portal/pay.html", context)
