"""The legal pages: hand-overs to agencies and lawyers, recoveries, the evidence pack and the letter.

The list and a hand-over's page are for the roles that see every customer (credit controllers,
managers, administrators; auditors read); others get 404 as for a missing page. Handing a debt
over, recording a recovery and ending a hand-over need a credit controller, manager or
administrator (others 403). The evidence pack and the demand letter are there for anyone who
reaches the customer, like every other document about it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.accounts.access import access_customer, user_can_write, user_role
from huikuan.accounts.decorators import role_required
from huikuan.accounts.models import Role
from huikuan.collections.incentive_models import IncentiveKind, IncentiveStatus
from huikuan.collections.incentives import (
    ApprovalLimitExceeded,
    IncentiveNotFound,
    access_incentive,
    approval_limit,
    concession_percent,
    incentive_approve,
    incentive_close,
    incentive_offer,
    incentive_send,
)
from huikuan.collections.legal import (
    LEGAL_ROLES,
    HandoverNotFound,
    access_handover,
    handover_create,
    handover_end,
    handover_scope,
    open_invoices_of,
    recovery_record,
)
from huikuan.collections.legal_letter import demand_letter_filename, demand_letter_pdf, letter_language
from huikuan.collections.legal_models import HANDOVER_OPEN_STATUSES, HandoverStatus, LegalHandover
from huikuan.collections.legal_pack import evidence_pack_build, evidence_pack_open
from huikuan.core.errors import HuikuanError
from huikuan.core.money import Money
from huikuan.customers.models import Customer
from huikuan.customers.services import CustomerNotFound
from huikuan.web.forms_legal import HandoverEndForm, HandoverForm, IncentiveForm, RecoveryForm

READERS = (Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN, Role.AUDITOR)
PAGE_SIZE = 50


def user_may_hand_over(user: Any) -> bool:
    """Return whether the user may hand debts over and record recoveries."""
    return user_can_write(user) and user_role(user) in LEGAL_ROLES


def _customer(request: HttpRequest, code: str) -> Customer:
    try:
        return access_customer(user=request.user, code=code)
    except CustomerNotFound:
        raise Http404(code)


def _handover(request: HttpRequest, handover_id: int) -> LegalHandover:
    try:
        return access_handover(user=request.user, handover_id=handover_id)
    except HandoverNotFound:
        raise Http404


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "web/legal_forbidden.html", status=403)


def _see_other(url: str) -> HttpResponse:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


@role_required(*READERS)
def legal_list(request: HttpRequest) -> HttpResponse:
    """Every hand-over, open ones first, newest first; filter by status."""
    status = request.GET.get("status", "")
    handovers = handover_scope(request.user).select_related("customer")
    if status == "open":
        handovers = handovers.filter(status__in=HANDOVER_OPEN_STATUSES)
    elif status in HandoverStatus.values:
        handovers = handovers.filter(status=status)
    page = Paginator(handovers.order_by("-handed_over_date", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "web/legal_list.html",
        {"page": page, "status": status, "statuses": HandoverStatus.choices, "nav": "legal"},
    )


@role_required(*READERS)
def legal_handover(request: HttpRequest, handover_id: int) -> HttpResponse:
    handover = _handover(request, handover_id)
    today = timezone.localdate()
    return render(
        request,
        "web/legal_handover.html",
        {
            "handover": handover,
            "invoices": handover.invoices.order_by("due_date", "number"),
            "recoveries": handover.recoveries.order_by("recovered_date", "id"),
            "is_open": handover.status in HANDOVER_OPEN_STATUSES,
            "may_change": user_may_hand_over(request.user),
            "recovery_form": RecoveryForm(initial={"recovered_date": today}),
            "end_form": HandoverEndForm(initial={"ended_date": today}),
            "nav": "legal",
        },
    )


@require_POST
@role_required(*READERS)
def legal_recover(request: HttpRequest, handover_id: int) -> HttpResponse:
    handover = _handover(request, handover_id)
    if not user_may_hand_over(request.user):
        return _forbidden(request)
    form = RecoveryForm(request.POST)
    if form.is_valid():
        try:
            recovery_record(
                handover=handover,
                user=request.user,
                amount=Money.of(form.cleaned_data["amount"], handover.currency),
                recovered_date=form.cleaned_data["recovered_date"],
                notes=form.cleaned_data["notes"],
            )
        except (HuikuanError, ValueError) as error:
            messages.error(request, getattr(error, "message", str(error)))
        else:
            messages.success(request, _("The recovery is recorded."))
    else:
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
    return _see_other(reverse("web:legal_handover", args=[handover.pk]))


@require_POST
@role_required(*READERS)
def legal_end(request: HttpRequest, handover_id: int) -> HttpResponse:
    handover = _handover(request, handover_id)
    if not user_may_hand_over(request.user):
        return _forbidden(request)
    form = HandoverEndForm(request.POST)
    if form.is_valid():
        try:
            handover_end(
                handover=handover,
                user=request.user,
                status=form.cleaned_data["status"],
                ended_date=form.cleaned_data["ended_date"],
                reason=form.cleaned_data["reason"],
            )
        except HuikuanError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The hand-over has ended."))
    else:
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
    return _see_other(reverse("web:legal_handover", args=[handover.pk]))


@login_required
def legal_customer_handover(request: HttpRequest, code: str) -> HttpResponse:
    """Hand the customer's open invoices (all in a currency, or the ones ticked) to an agency or lawyer."""
    customer = _customer(request, code)
    if not user_may_hand_over(request.user):
        return _forbidden(request)
    invoices = list(open_invoices_of(customer).order_by("due_date", "number")[:500])
    if request.method != "POST":
        form = HandoverForm(
            invoices=invoices,
            initial={"handed_over_date": timezone.localdate(), "invoice": request.GET.getlist("invoice")},
        )
    else:
        form = HandoverForm(request.POST, invoices=invoices)
        if form.is_valid():
            data = form.cleaned_data
            chosen = [invoice for invoice in invoices if invoice.number in set(data["invoice"])]
            try:
                handover = handover_create(
                    customer=customer,
                    user=request.user,
                    kind=data["kind"],
                    agent_name=data["agent_name"],
                    agent_reference=data["agent_reference"],
                    commission_percent=data["commission_percent"],
                    handed_over_date=data["handed_over_date"],
                    invoices=chosen or None,
                    currency=data["currency"] or None,
                    notes=data["notes"],
                )
            except HuikuanError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("The debt is handed over; the customer is now with legal."))
                return _see_other(
                    reverse("web:customer_detail", args=[customer.code]) + f"#legal-{handover.pk}"
                )
    return render(
        request, "web/legal_customer_handover.html", {"customer": customer, "form": form, "nav": "customers"}
    )


@login_required
def legal_evidence_pack(request: HttpRequest, code: str) -> FileResponse:
    """Download the customer's evidence pack, built now into a temporary file and streamed."""
    customer = _customer(request, code)
    language = request.GET.get("language") or None
    pack = evidence_pack_build(customer=customer, as_of=timezone.localdate(), language=language)
    return FileResponse(
        evidence_pack_open(pack), as_attachment=True, filename=pack.filename, content_type="application/zip"
    )


@login_required
def legal_demand_letter(request: HttpRequest, code: str) -> HttpResponse:
    """The demand letter as a PDF, in the customer's language unless another is asked for."""
    customer = _customer(request, code)
    today = timezone.localdate()
    language = letter_language(customer, request.GET.get("language") or None)
    response = HttpResponse(
        demand_letter_pdf(customer=customer, as_of=today, language=language), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{demand_letter_filename(customer, today, language)}"'
    )
    return response


# --- incentives -------------------------------------------------------------------------------


@login_required
def legal_customer_offer(request: HttpRequest, code: str) -> HttpResponse:
    """Offer an early-payment discount or a settlement on some of the customer's open invoices."""
    customer = _customer(request, code)
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    invoices = list(open_invoices_of(customer).order_by("due_date", "number")[:500])
    if request.method != "POST":
        form = IncentiveForm(invoices=invoices, initial={"invoice": request.GET.getlist("invoice")})
    else:
        form = IncentiveForm(request.POST, invoices=invoices)
        if form.is_valid():
            data = form.cleaned_data
            chosen = [invoice for invoice in invoices if invoice.number in set(data["invoice"])]
            try:
                settle = None
                if data["kind"] == IncentiveKind.SETTLEMENT and chosen:
                    settle = Money.of(data["settle_amount"] or 0, chosen[0].currency)
                incentive = incentive_offer(
                    customer=customer,
                    user=request.user,
                    kind=data["kind"],
                    invoices=chosen,
                    pay_by_date=data["pay_by_date"],
                    discount_percent=data["discount_percent"],
                    settle_amount=settle,
                    terms=data["terms"],
                    notes=data["notes"],
                )
            except HuikuanError as error:
                form.add_error(None, error.message)
            else:
                if incentive.status == IncentiveStatus.AWAITING_APPROVAL:
                    messages.info(
                        request, _("The offer is beyond your approval limit; it waits for approval.")
                    )
                else:
                    messages.success(request, _("The offer is ready to send."))
                return _see_other(reverse("web:customer_detail", args=[customer.code]) + "#legal")
    return render(
        request, "web/legal_customer_offer.html", {"customer": customer, "form": form, "nav": "customers"}
    )


@require_POST
@login_required
def legal_incentive_action(request: HttpRequest, incentive_id: int, action: str) -> HttpResponse:
    """Approve, refuse, withdraw or e-mail an offer, then return to the customer's page."""
    try:
        incentive = access_incentive(user=request.user, incentive_id=incentive_id)
    except IncentiveNotFound:
        raise Http404
    if action not in ("approve", "reject", "withdraw", "send"):
        raise Http404
    if not user_can_write(request.user):
        return render(request, "accounts/read_only.html", status=403)
    try:
        if action == "approve":
            incentive_approve(incentive=incentive, user=request.user)
        elif action == "send":
            incentive_send(incentive=incentive, user=request.user)
        else:
            if action == "reject" and concession_percent(
                concession_minor=incentive.concession_minor, open_minor=incentive.open_minor
            ) > approval_limit(request.user):
                raise ApprovalLimitExceeded(_("The offer is beyond your approval limit."))
            incentive_close(
                incentive=incentive,
                user=request.user,
                status="REJECTED" if action == "reject" else "WITHDRAWN",
                reason=request.POST.get("reason", ""),
            )
    except ApprovalLimitExceeded as error:
        messages.error(request, error.message)
        return _see_other(reverse("web:customer_detail", args=[incentive.customer.code]) + "#legal")
    except HuikuanError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Done."))
    return _see_other(reverse("web:customer_detail", args=[incentive.customer.code]) + "#legal")
