"""Template filters for the bank pages and the navigation entry that leads to them."""

from __future__ import annotations

from typing import Any

from django import template

from huikuan.accounts.access import user_role
from huikuan.accounts.models import ROLES_SEEING_ALL

register = template.Library()


@register.filter
def bank_reader(user: Any) -> bool:
    """Return whether the user may see the bank pages (the roles that see every customer)."""
    return user_role(user) in ROLES_SEEING_ALL


@register.filter
def confidence_level(confidence: int | None) -> str:
    """Return how sure a proposal is, as a word for its style: high, medium or low."""
    if confidence is None:
        return "low"
    if confidence >= 80:
        return "high"
    if confidence >= 50:
        return "medium"
    return "low"
