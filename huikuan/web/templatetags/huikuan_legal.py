"""Panels of the legal area on the customer page."""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string

from huikuan.accounts.access import user_can_write, user_role, user_sees_all
from huikuan.collections.incentive_models import Incentive
from huikuan.collections.legal import LEGAL_ROLES
from huikuan.collections.legal_models import LegalHandover

register = template.Library()

PANEL_HANDOVERS = 5
PANEL_INCENTIVES = 5


@register.simple_tag(takes_context=True)
def legal_panel(context: template.Context, customer: Any) -> str:
    """The customer's latest offers and hand-overs (two queries), the evidence pack and the demand letter."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    handovers = list(
        LegalHandover.objects.filter(customer=customer).order_by("-handed_over_date", "-id")[:PANEL_HANDOVERS]
    )
    incentives = list(
        Incentive.objects.filter(customer=customer).order_by("-offered_date", "-id")[:PANEL_INCENTIVES]
    )
    return render_to_string(
        "web/_legal_panel.html",
        {
            "customer": customer,
            "handovers": handovers,
            "incentives": incentives,
            "can_write": user_can_write(user),
            "reader": user_sees_all(user),
            "may_hand_over": user_can_write(user) and user_role(user) in LEGAL_ROLES,
        },
        request=request,
    )
