"""Panels of the credit area on the customer page: the rating, and orders with the order check."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils import timezone

from huikuan.accounts.access import user_can_write, user_role
from huikuan.customers.credit import OVERRIDE_ROLES, factor_rows, override_active
from huikuan.customers.models import CreditRating, CreditWarning, Grade
from huikuan.customers.orders import orders_open_latest
from huikuan.customers.warnings import warning_evidence_text

register = template.Library()

PANEL_RATINGS = 5
PANEL_ORDERS = 10


@register.simple_tag(takes_context=True)
def credit_panel(context: template.Context, customer: Any) -> str:
    """Score, grade and why, the override (a form for managers), early warnings and why, the last ratings.

    Three queries: the latest ratings, the override in force, the warnings that stand.
    """
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    today = timezone.localdate()
    ratings = list(CreditRating.objects.filter(customer=customer).order_by("-as_of", "-id")[:PANEL_RATINGS])
    latest = ratings[0] if ratings else None
    override = override_active(customer=customer, as_of=today)
    warnings = [
        (warning, warning_evidence_text(warning.cause, warning.evidence))
        for warning in CreditWarning.objects.filter(customer=customer, cleared_on__isnull=True).order_by(
            "-raised_on", "-id"
        )
    ]
    return render_to_string(
        "web/credit_panel.html",
        {
            "customer": customer,
            "latest": latest,
            "ratings": ratings,
            "factors": factor_rows(latest.factors) if latest else [],
            "override": override,
            "grade_in_force": override.grade if override else customer.grade,
            "warnings": warnings,
            "may_override": user_role(user) in OVERRIDE_ROLES,
            "grades": Grade.choices,
            "today": today,
        },
        request=request,
    )


@register.simple_tag(takes_context=True)
def orders_panel(context: template.Context, customer: Any) -> str:
    """The order check, the latest orders not yet invoiced and a form to record one. One query."""
    from huikuan.web.forms import OrderAmountForm, OrderForm

    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    currency = customer.currency
    return render_to_string(
        "web/orders_panel.html",
        {
            "customer": customer,
            "orders": orders_open_latest(customer=customer, limit=PANEL_ORDERS),
            "orders_shown": PANEL_ORDERS,
            "can_write": user_can_write(user),
            "check_form": OrderAmountForm(currency=currency),
            "order_form": OrderForm(
                currency=currency, initial={"order_date": timezone.localdate(), "currency": currency}
            ),
        },
        request=request,
    )
