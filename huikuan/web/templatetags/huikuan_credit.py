"""Panels of the credit area on the customer page."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils import timezone

from huikuan.accounts.access import user_role
from huikuan.customers.credit import OVERRIDE_ROLES, factor_rows, override_active
from huikuan.customers.models import CreditRating, CreditWarning, Grade
from huikuan.customers.warnings import warning_evidence_text

register = template.Library()

PANEL_RATINGS = 5


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
