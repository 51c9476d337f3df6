"""The web pages of the credit area: a customer's rating history and the manager's override."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.accounts.access import access_customer, user_role
from huikuan.core.errors import HuikuanError
from huikuan.customers.credit import OVERRIDE_ROLES, credit_override_end, credit_override_set, factor_rows
from huikuan.customers.models import CreditOverride, CreditRating, Customer
from huikuan.customers.services import CustomerNotFound

HISTORY_PAGE = 24


def _customer(request: HttpRequest, code: str) -> Customer:
    try:
        return access_customer(user=request.user, code=code)
    except CustomerNotFound:
        raise Http404(code)


def _back(customer: Customer) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:customer_detail", args=[customer.code]) + "#credit-rating")


@login_required
def credit_history(request: HttpRequest, code: str) -> HttpResponse:
    """Every rating of the customer, latest first, with why; and the overrides people set."""
    customer = _customer(request, code)
    page = Paginator(
        CreditRating.objects.filter(customer=customer).order_by("-as_of", "-id"), HISTORY_PAGE
    ).get_page(request.GET.get("page"))
    ratings = [(rating, factor_rows(rating.factors)) for rating in page.object_list]
    overrides = (
        CreditOverride.objects.filter(customer=customer)
        .select_related("created_by")
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "web/credit_history.html",
        {"customer": customer, "page": page, "ratings": ratings, "overrides": list(overrides)},
    )


def _may_override(request: HttpRequest) -> bool:
    return user_role(request.user) in OVERRIDE_ROLES


@require_POST
@login_required
def credit_override(request: HttpRequest, code: str) -> HttpResponse:
    customer = _customer(request, code)
    if not _may_override(request):
        messages.error(request, _("Only a manager may override a credit grade."))
        return _back(customer)
    try:
        until = date.fromisoformat(request.POST.get("until", "").strip())
    except ValueError:
        messages.error(request, _("Give the last day the grade is in force."))
        return _back(customer)
    try:
        override = credit_override_set(
            customer=customer,
            grade=request.POST.get("grade", ""),
            reason=request.POST.get("reason", ""),
            until=until,
            actor=request.user,
        )
    except HuikuanError as error:
        messages.error(request, error.message)
        return _back(customer)
    messages.success(
        request,
        _("Grade %(grade)s is in force until %(until)s.")
        % {"grade": override.grade, "until": override.until},
    )
    return _back(customer)


@require_POST
@login_required
def credit_override_end_view(request: HttpRequest, code: str) -> HttpResponse:
    customer = _customer(request, code)
    if not _may_override(request):
        messages.error(request, _("Only a manager may override a credit grade."))
        return _back(customer)
    credit_override_end(customer=customer, actor=request.user)
    messages.success(request, _("The override has ended; the rated grade is in force."))
    return _back(customer)
