"""Template filters that decide which navigation entries a user is shown."""

from __future__ import annotations

from typing import Any

from django import template

from huikuan.accounts.access import user_role
from huikuan.accounts.models import ROLES_SEEING_ALL
from huikuan.insights.scripts import SCRIPT_EDITORS

register = template.Library()


@register.filter
def script_keeper(user: Any) -> bool:
    """Return whether the user may open the script library."""
    return user_role(user) in SCRIPT_EDITORS


@register.filter
def sees_every_customer(user: Any) -> bool:
    """Return whether the user's role reaches every customer (the legal and bank pages)."""
    return user_role(user) in ROLES_SEEING_ALL
