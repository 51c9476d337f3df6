"""Customer 360: everything about one customer on one page, and the actions taken from it.

Every view reaches the customer through huikuan.accounts.access (another collector's customer
answers 404, as a missing one does) and every change is refused to read-only roles. Views parse
the request and call the collections, ledger and portal services; nothing is decided here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from huikuan.accounts.access import access_customer, user_can_write
from huikuan.accounts.decorators import write_required
from huikuan.collections.models import PromiseToPay, Task
from huikuan.core.errors import HuikuanError
from huikuan.core.money import from_minor
from huikuan.customers.models import Customer
from huikuan.customers.orders import orders_open_minor
from huikuan.customers.services import CustomerNotFound
from huikuan.web.charts import aging_chart
from huikuan.web.forms import (
    AgingForm,
    DisputeForm,
    InteractionForm,
    PlanForm,
    PortalLinkForm,
    PromiseForm,
    StatementSendForm,
    money_from_form,
)
from huikuan.web.selectors import (
    customer_contacts,
    customer_open_invoices_flagged,
    customer_open_tasks,
    customer_position,
    customer_timeline,
)
from huikuan.web.timeline_html import timeline_events_html
from huikuan.web.views_worklist import htmx_of, page_as_of

OPEN_INVOICES_SHOWN = 200
TIMELINE_SHOWN = 25  # the first page: the latest events; more come on request
TIMELINE_STEP = 100


def _customer(request: HttpRequest, code: str) -> Customer:
    try:
        return access_customer(user=request.user, code=code)
    except CustomerNotFound:
        raise Http404(code)


def _url(customer: Customer, anchor: str = "") -> str:
    return reverse("web:customer_detail", args=[customer.code]) + (f"#{anchor}" if anchor else "")


def _back(request: HttpRequest, customer: Customer, anchor: str = "timeline") -> HttpResponse:
    """Show the customer page again after a change (htmx: a client-side reload or redirect).

    From the customer page itself the browser must reload: a redirect that only changes the
    ``#fragment`` of the address it shows would not fetch the page again.
    """
    url = _url(customer, anchor)
    htmx = htmx_of(request)
    if htmx:
        current_path = urlsplit(htmx.current_url or "").path
        if current_path == _url(customer):
            return HttpResponseClientRefresh()
        return HttpResponseClientRedirect(url)
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _currencies(customer: Customer, invoices: list[Any]) -> list[str]:
    """Currencies a promise may be in: the open invoices', the customer's own first."""
    found = sorted({invoice.currency for invoice in invoices} - {customer.currency})
    return [customer.currency, *found]


def _now_local() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


def _open_task(tasks: list[Task], request: HttpRequest) -> Task | None:
    """The task a call carries out: the one named in ?task=, else the customer's first call or visit."""
    wanted = request.GET.get("task") or request.POST.get("task")
    if wanted and str(wanted).isdigit():
        for task in tasks:
            if task.pk == int(wanted):
                return task
    return next((task for task in tasks if task.kind in ("CALL", "VISIT") and task.script), None)


def _forms(
    request: HttpRequest,
    customer: Customer,
    *,
    invoices: list[Any],
    contacts: list[Any],
    task: Task | None,
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The page's forms, unbound, with the invoices chosen in the query string ticked.

    Only the forms the page shows: the promise, dispute and plan forms open in their own
    request (into the page's action panel).
    """
    bound = bound or {}
    currencies = _currencies(customer, invoices)
    chosen = request.GET.getlist("invoice")
    common = {"invoices": invoices, "currencies": currencies}
    today = timezone.localdate()
    return {
        "log_form": bound.get("log")
        or InteractionForm(
            contacts=contacts,
            initial={
                "occurred_at": _now_local(),
                "task": task.pk if task else None,
                "kind": "VISIT" if task and task.kind == "VISIT" else "CALL",
                "currency": customer.currency,
                "invoice": chosen,
            },
            **common,
        ),
        "statement_form": bound.get("statement")
        or StatementSendForm(initial={"month": today.replace(day=1)}),
        "portal_form": bound.get("portal") or PortalLinkForm(),
    }


def _context(
    request: HttpRequest,
    customer: Customer,
    *,
    bound: dict[str, Any] | None = None,
    limit: int = TIMELINE_SHOWN,
) -> dict[str, Any]:
    from huikuan.collections.selectors import customer_promise_record
    from huikuan.dunning.selectors import customer_credit_status

    as_of_form = AgingForm(request.GET or None)
    as_of = page_as_of(request, as_of_form.cleaned_data.get("as_of") if as_of_form.is_valid() else None)
    positions = customer_position(customer=customer, as_of=as_of)
    labels = list(positions[0].buckets) if positions else []
    charts = aging_chart(
        buckets=labels,
        totals={
            position.currency: {
                **{
                    label: str(from_minor(minor, position.currency))
                    for label, minor in position.buckets.items()
                },
                "total": str(from_minor(position.open_minor, position.currency)),
                "overdue": str(from_minor(position.overdue_minor, position.currency)),
            }
            for position in positions
        },
    )
    own = next((p for p in positions if p.currency == customer.currency), None)
    orders_minor = orders_open_minor(customer=customer)
    exposure = (own.open_minor if own else 0) + orders_minor  # as the order check counts it
    invoices = list(customer_open_invoices_flagged(customer=customer, limit=OPEN_INVOICES_SHOWN))
    contacts = list(customer_contacts(customer=customer))
    tasks = customer_open_tasks(customer=customer)
    task = _open_task(tasks, request)
    return {
        "customer": customer,
        "as_of": as_of,
        "today": as_of,
        "can_write": user_can_write(request.user),
        "credit": customer_credit_status(customer=customer, as_of=as_of),
        "positions": positions,
        "charts": {chart.currency: chart for chart in charts},
        "exposure_minor": exposure,
        "orders_open_minor": orders_minor,
        "limit_percent": (
            min(100, round(exposure * 100 / customer.credit_limit_minor))
            if customer.credit_limit_minor
            else None
        ),
        "over_limit": bool(
            customer.credit_limit_minor is not None and exposure > customer.credit_limit_minor
        ),
        "promise_record": customer_promise_record(customer=customer),
        "contacts": contacts,
        "open_invoices": invoices,
        "open_invoices_limit": OPEN_INVOICES_SHOWN,
        "tasks": tasks,
        "task": task,
        **_timeline(customer, limit),
        "documents": _documents(customer),
        "nav": "customers",
        **_forms(request, customer, invoices=invoices, contacts=contacts, task=task, bound=bound),
    }


def _timeline(customer: Customer, limit: int) -> dict[str, Any]:
    """The timeline's latest ``limit`` events, and their HTML."""
    events = customer_timeline(customer=customer, limit=limit)
    return {
        "timeline": events,
        "timeline_html": timeline_events_html(events),
        "timeline_limit": limit,
        "timeline_more": limit + TIMELINE_STEP,
    }


def _documents(customer: Customer) -> dict[str, Any]:
    """Statements (PDF), promise evidence and plan agreements: two queries, each bounded."""
    from huikuan.collections.models import InstalmentPlan
    from huikuan.ledger.models import Statement

    return {
        "statements": list(
            Statement.objects.filter(customer=customer).order_by("-period_end_date", "currency")[:24]
        ),
        "evidence": list(
            PromiseToPay.objects.filter(customer=customer).exclude(evidence="").order_by("-created_at")[:24]
        ),
        "plans": list(InstalmentPlan.objects.filter(customer=customer).order_by("-created_at")[:12]),
    }


@login_required
def customer_detail(request: HttpRequest, code: str) -> HttpResponse:
    """Customer 360: credit, balances and aging, open invoices, the timeline, contacts, documents."""
    customer = _customer(request, code)
    return render(request, "web/customer_detail.html", _context(request, customer))


@login_required
def customer_timeline_more(request: HttpRequest, code: str) -> HttpResponse:
    """The timeline with more events (htmx swaps it in place)."""
    customer = _customer(request, code)
    try:
        limit = max(TIMELINE_SHOWN, min(int(request.GET.get("limit", TIMELINE_SHOWN)), 500))
    except ValueError:
        limit = TIMELINE_SHOWN
    context = {"customer": customer, **_timeline(customer, limit)}
    return render(request, "web/_customer_timeline.html", context)


def _form_page(
    request: HttpRequest, customer: Customer, *, name: str, form: Any, status: int = 200
) -> HttpResponse:
    """Show one action form: alone for htmx (into the page's panel), else on its own page."""
    context = {"customer": customer, "form": form, "action": name, "nav": "customers"}
    template = f"web/_customer_{name}.html" if htmx_of(request) else "web/customer_action.html"
    return render(request, template, {**context, "partial": f"web/_customer_{name}.html"}, status=status)


def _action_forms_context(request: HttpRequest, customer: Customer) -> tuple[list[Any], list[Any]]:
    invoices = list(customer_open_invoices_flagged(customer=customer, limit=OPEN_INVOICES_SHOWN))
    contacts = list(customer_contacts(customer=customer))
    return invoices, contacts


@login_required
def customer_log(request: HttpRequest, code: str) -> HttpResponse:
    """Log a call, visit or note (GET shows the form; POST records it, and a promise given on it)."""
    from huikuan.collections.services import interaction_log, promise_create

    customer = _customer(request, code)
    invoices, contacts = _action_forms_context(request, customer)
    common = {"invoices": invoices, "currencies": _currencies(customer, invoices), "contacts": contacts}
    if request.method != "POST":
        tasks = customer_open_tasks(customer=customer)
        task = _open_task(tasks, request)
        form = InteractionForm(
            initial={
                "occurred_at": _now_local(),
                "task": task.pk if task else None,
                "currency": customer.currency,
            },
            **common,
        )
        return _log_page(request, customer, form=form, task=task)
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    form = InteractionForm(request.POST, request.FILES, **common)
    tasks = customer_open_tasks(customer=customer)
    task = _open_task(tasks, request) if request.POST.get("task") else None
    if not form.is_valid():
        return _log_page(request, customer, form=form, task=task)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            interaction = interaction_log(
                customer=customer,
                user=request.user,
                kind=data["kind"],
                occurred_at=data["occurred_at"],
                outcome=data["outcome"] or "",
                notes=data["notes"],
                next_action_date=data["next_action_date"],
                contact=form.contacts.get(data["contact"]) if data["contact"] else None,
                task=task,
            )
            if data.get("money") is not None:
                promise_create(
                    customer=customer,
                    user=request.user,
                    amount=data["money"],
                    promised_date=data["promised_date"],
                    invoices=form.chosen_invoices(),
                    promised_by=data["promised_by"],
                    method=data["method"] or "PHONE",
                    if_broken=data["if_broken"],
                    evidence=data.get("evidence"),
                    interaction=interaction,
                )
    except HuikuanError as error:
        form.add_error(None, error.message)
        return _log_page(request, customer, form=form, task=task)
    if data.get("money") is not None:
        messages.success(request, _("The call and the promise are recorded."))
    else:
        messages.success(request, _("Recorded."))
    return _back(request, customer)


def _log_page(
    request: HttpRequest, customer: Customer, *, form: InteractionForm, task: Task | None
) -> HttpResponse:
    context = {"customer": customer, "form": form, "task": task, "action": "log", "nav": "customers"}
    template = "web/_customer_log.html" if htmx_of(request) else "web/customer_action.html"
    return render(request, template, {**context, "log_form": form, "partial": "web/_customer_log.html"})


@login_required
def customer_promise(request: HttpRequest, code: str) -> HttpResponse:
    """Record a promise to pay (with evidence) for some of the open invoices, or on account."""
    from huikuan.collections.services import promise_create

    customer = _customer(request, code)
    invoices, _contacts = _action_forms_context(request, customer)
    common = {"invoices": invoices, "currencies": _currencies(customer, invoices)}
    if request.method != "POST":
        form = PromiseForm(
            initial={"currency": customer.currency, "invoice": request.GET.getlist("invoice")}, **common
        )
        return _form_page(request, customer, name="promise", form=form)
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    form = PromiseForm(request.POST, request.FILES, **common)
    if not form.is_valid():
        return _form_page(request, customer, name="promise", form=form)
    data = form.cleaned_data
    try:
        promise_create(
            customer=customer,
            user=request.user,
            amount=data["money"],
            promised_date=data["promised_date"],
            invoices=form.chosen_invoices(),
            promised_by=data["promised_by"],
            method=data["method"],
            if_broken=data["if_broken"],
            grace_days=data["grace_days"],
            evidence=data.get("evidence"),
            notes=data["notes"],
        )
    except HuikuanError as error:
        form.add_error(None, error.message)
        return _form_page(request, customer, name="promise", form=form)
    messages.success(request, _("The promise is recorded."))
    return _back(request, customer)


@login_required
def customer_dispute(request: HttpRequest, code: str) -> HttpResponse:
    """Open a dispute on each chosen invoice: they leave dunning while it is open."""
    from huikuan.collections.services import dispute_open

    customer = _customer(request, code)
    invoices, _contacts = _action_forms_context(request, customer)
    common = {"invoices": invoices, "currencies": _currencies(customer, invoices)}
    if request.method != "POST":
        form = DisputeForm(initial={"invoice": request.GET.getlist("invoice")}, **common)
        return _form_page(request, customer, name="dispute", form=form)
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    form = DisputeForm(request.POST, **common)
    if not form.is_valid():
        return _form_page(request, customer, name="dispute", form=form)
    data = form.cleaned_data
    chosen = form.chosen_invoices()
    try:
        with transaction.atomic():
            for invoice in chosen:
                dispute_open(
                    invoice=invoice,
                    reason=data["reason"],
                    opened_date=timezone.localdate(),
                    user=request.user,
                    notes=data["notes"],
                )
    except HuikuanError as error:
        form.add_error(None, error.message)
        return _form_page(request, customer, name="dispute", form=form)
    messages.success(
        request,
        ngettext("%(count)s dispute opened.", "%(count)s disputes opened.", len(chosen))
        % {"count": len(chosen)},
    )
    return _back(request, customer)


@login_required
def customer_plan(request: HttpRequest, code: str) -> HttpResponse:
    """Agree an instalment plan for the chosen invoices (equal instalments or a custom schedule)."""
    from huikuan.collections.services import plan_create

    customer = _customer(request, code)
    invoices, _contacts = _action_forms_context(request, customer)
    common = {"invoices": invoices, "currencies": _currencies(customer, invoices)}
    if request.method != "POST":
        form = PlanForm(
            initial={"invoice": request.GET.getlist("invoice"), "start_date": timezone.localdate()}, **common
        )
        return _form_page(request, customer, name="plan", form=form)
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    form = PlanForm(request.POST, **common)
    if not form.is_valid():
        return _form_page(request, customer, name="plan", form=form)
    data = form.cleaned_data
    chosen = form.chosen_invoices()
    currency = chosen[0].currency
    try:
        schedule = data["schedule"]
        plan_create(
            customer=customer,
            invoices=chosen,
            start_date=schedule[0][0] if schedule else data["start_date"],
            user=request.user,
            count=None if schedule else data["count"],
            interval_months=data["interval_months"] or 1,
            amounts=[money_from_form(value, currency) for _day, value in schedule] if schedule else None,
            dates=[day for day, _value in schedule] if schedule else None,
            fee=money_from_form(data["fee"], currency) if data["fee"] else None,
            interest_rate=(data["interest_rate"] / 100) if data["interest_rate"] else None,
            grace_days=data["grace_days"],
            notes=data["notes"],
        )
    except HuikuanError as error:
        form.add_error(None, error.message)
        return _form_page(request, customer, name="plan", form=form)
    except ValidationError as error:  # an amount with more decimals than the currency has
        form.add_error(None, error)
        return _form_page(request, customer, name="plan", form=form)
    messages.success(request, _("The instalment plan is agreed."))
    return _back(request, customer)


@require_POST
@write_required
def customer_statement_send(request: HttpRequest, code: str) -> HttpResponse:
    """Make the month's statements (one per currency) and e-mail them, with a portal link when asked."""
    from huikuan.ledger.statements import month_end, statement_send, statements_for_customer

    customer = _customer(request, code)
    form = StatementSendForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("month", []):
            messages.error(request, str(error))
        return _back(request, customer, "documents")
    month = form.cleaned_data["month"]
    portal_url = ""
    if request.POST.get("with_portal_link"):
        from huikuan.portal.services import portal_link_create, portal_url_for

        _link, key = portal_link_create(customer=customer, user=request.user)
        portal_url = portal_url_for(key=key)
    try:
        statements = statements_for_customer(
            customer=customer, period_end_date=month_end(month.year, month.month), user=request.user
        )
        for statement in statements:
            statement_send(statement=statement, user=request.user, now=timezone.now(), portal_url=portal_url)
    except HuikuanError as error:
        messages.error(request, error.message)
        return _back(request, customer, "documents")
    messages.success(
        request,
        ngettext(
            "%(count)s statement queued for e-mail.",
            "%(count)s statements queued for e-mail.",
            len(statements),
        )
        % {"count": len(statements)},
    )
    return _back(request, customer, "documents")


@require_POST
@write_required
def customer_portal_link(request: HttpRequest, code: str) -> HttpResponse:
    """Create a portal link for the customer and show it once (only its digest is kept)."""
    from huikuan.portal.services import portal_link_create, portal_url_for

    customer = _customer(request, code)
    form = PortalLinkForm(request.POST)
    days = form.cleaned_data.get("days") if form.is_valid() else None
    try:
        link, key = portal_link_create(customer=customer, user=request.user, days=days)
    except HuikuanError as error:
        messages.error(request, error.message)
        return _back(request, customer, "documents")
    context = {"customer": customer, "link": link, "url": portal_url_for(key=key), "nav": "customers"}
    template = "web/_customer_portal_link.html" if htmx_of(request) else "web/customer_portal_link.html"
    return render(request, template, context)


@login_required
def customer_statement_pdf(request: HttpRequest, code: str, statement_id: int) -> HttpResponseBase:
    """Download a statement's PDF: the copy that was sent when one was kept, else made now."""
    from huikuan.ledger.statements import (
        StatementNotFound,
        statement_archived_pdf,
        statement_get,
        statement_pdf,
        statement_pdf_filename,
    )

    customer = _customer(request, code)
    try:
        statement = statement_get(statement_id=statement_id, customer=customer)
    except StatementNotFound:
        raise Http404
    archived = statement_archived_pdf(statement=statement)
    name = statement_pdf_filename(statement)
    if archived is not None:
        return FileResponse(
            archived.open("rb"), as_attachment=True, filename=name, content_type="application/pdf"
        )
    pdf = statement_pdf(statement=statement, language=request.GET.get("language") or get_language())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def customer_promise_evidence(request: HttpRequest, code: str, promise_id: int) -> HttpResponseBase:
    """Download the evidence attached to one of the customer's promises."""
    customer = _customer(request, code)
    promise = PromiseToPay.objects.filter(customer=customer, pk=promise_id).exclude(evidence="").first()
    if promise is None:
        raise Http404
    try:
        handle = promise.evidence.open("rb")
    except FileNotFoundError:
        raise Http404
    return FileResponse(
        handle, as_attachment=True, filename=(promise.evidence.name or "evidence").rsplit("/", 1)[-1]
    )


@login_required
def customer_plan_agreement(request: HttpRequest, code: str, plan_id: int) -> HttpResponse:
    """Download an instalment plan's agreement as a PDF in the reader's language."""
    from huikuan.collections.models import InstalmentPlan

    customer = _customer(request, code)
    plan = InstalmentPlan.objects.filter(customer=customer, pk=plan_id).first()
    if plan is None:
        raise Http404
    from huikuan.collections.documents import plan_agreement_pdf

    pdf = plan_agreement_pdf(plan=plan, language=request.GET.get("language") or get_language())
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="plan-{customer.code}-{plan.pk}.pdf"'
    return response
