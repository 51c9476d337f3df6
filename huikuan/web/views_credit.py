"""The web pages of the credit area: a customer's rating history, the manager's override, and orders:
the order check (前帐未清,不谈下回交易) and the orders not yet invoiced that count towards exposure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huikuan.accounts.access import access_customer, user_role
from huikuan.accounts.decorators import write_required
from huikuan.core.errors import HuikuanError
from huikuan.core.money import Money
from huikuan.customers.credit import OVERRIDE_ROLES, credit_override_end, credit_override_set, factor_rows
from huikuan.customers.limits import APPROVE, credit_check
from huikuan.customers.models import CreditOverride, CreditRating, Customer, Order, OrderStatus
from huikuan.customers.orders import OrderError, OrderNumberTaken, order_create, order_status_set
from huikuan.customers.services import CustomerNotFound
from huikuan.web.forms import OrderAmountForm, OrderForm, OrderStatusForm
from huikuan.web.templatetags.huikuan_web import amount as amount_text
from huikuan.web.views_worklist import htmx_of

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


# --- orders and the order check -------------------------------------------------------------


def _back_to_orders(customer: Customer) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("web:customer_detail", args=[customer.code]) + "#orders")


def order_check_result(*, customer: Customer, amount: Money) -> dict[str, Any]:
    """The order check's answer, with the allowed amount ready to show."""
    result = credit_check(customer=customer, amount=amount, as_of=timezone.localdate())
    return {**result, "allowed": Decimal(result["allowed_amount"]), "currency": customer.currency}


@login_required
def credit_order_check(request: HttpRequest, code: str) -> HttpResponse:
    """May the customer have an order of this amount? A GET: the check changes nothing.

    htmx gets the answer alone, for the customer page; a plain request gets a page with the form.
    """
    customer = _customer(request, code)
    form = OrderAmountForm(request.GET or None, currency=customer.currency)
    result = order_check_result(customer=customer, amount=form.money()) if form.is_valid() else None
    context = {"customer": customer, "check_form": form, "result": result, "nav": "customers"}
    if htmx_of(request):
        return render(request, "web/_credit_check.html", context)
    status = 400 if form.is_bound and result is None else 200
    return render(request, "web/credit_order.html", context, status=status)


@require_POST
@write_required
def credit_order_create(request: HttpRequest, code: str) -> HttpResponse:
    """Record an order not yet invoiced; the order check's answer comes with it when it is not a yes."""
    customer = _customer(request, code)
    form = OrderForm(request.POST, currency=customer.currency)
    if form.is_valid():
        data, amount = form.cleaned_data, form.money()
        # Checked before it is recorded: afterwards the order would count against itself.
        result = (
            order_check_result(customer=customer, amount=amount)
            if amount.currency == customer.currency
            else None
        )
        try:
            order = order_create(
                customer=customer,
                number=data["number"],
                order_date=data["order_date"],
                amount=amount,
                description=data["description"],
                actor=request.user,
            )
        except OrderNumberTaken:
            form.add_error(
                "number", _("Order %(number)s is already recorded.") % {"number": data["number"].strip()}
            )
        except OrderError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _(
                    "Order %(number)s recorded: %(amount)s %(currency)s, counted in the exposure until it is invoiced."
                )
                % {
                    "number": order.number,
                    "amount": amount_text(amount.amount, amount.currency),
                    "currency": amount.currency,
                },
            )
            if result is not None and result["decision"] != APPROVE:
                messages.warning(request, " ".join([_decision_text(result), "; ".join(result["reasons"])]))
            return _back_to_orders(customer)
    context = {"customer": customer, "order_form": form, "nav": "customers"}
    return render(request, "web/credit_order.html", context, status=400)


def _decision_text(result: dict[str, Any]) -> str:
    """The order check's decision when it is not a plain yes: up to an amount, or hold."""
    if result["allowed"] > 0:
        return _("The order check says: supply up to %(amount)s %(currency)s.") % {
            "amount": amount_text(result["allowed"], result["currency"]),
            "currency": result["currency"],
        }
    return _("The order check says: hold, supply nothing now.")


@require_POST
@write_required
def credit_order_status(request: HttpRequest, code: str, order_id: int) -> HttpResponse:
    """Mark an order invoiced or cancelled: either way it leaves the exposure as an order."""
    customer = _customer(request, code)
    order = Order.objects.filter(customer=customer, pk=order_id).first()
    if order is None:
        raise Http404
    form = OrderStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Mark the order invoiced or cancelled."))
        return _back_to_orders(customer)
    order_status_set(order=order, status=form.cleaned_data["status"], actor=request.user)
    messages.success(
        request,
        _("Order %(number)s is marked %(status)s.")
        % {"number": order.number, "status": OrderStatus(order.status).label},
    )
    return _back_to_orders(customer)
