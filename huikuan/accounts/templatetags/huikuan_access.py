"""Template filters about the signed-in user's role: ``{% load huikuan_access %}``.

``{% if user|is_admin %}`` shows what only administrators may use; ``{% if user|can_write %}``
hides buttons an auditor may not press; ``{{ user|role_label }}`` names the role.
"""

from __future__ import annotations

from typing import Any

from django import template

from huikuan.accounts import access

register = template.Library()


@register.filter
def is_admin(user: Any) -> bool:
    return access.user_is_admin(user)


@register.filter
def can_write(user: Any) -> bool:
    return access.user_can_write(user)


@register.filter
def sees_all(user: Any) -> bool:
    return access.user_sees_all(user)


@register.filter
def role_label(user: Any) -> str:
    role = access.user_role(user)
    return "" if role is None else str(role.label)
