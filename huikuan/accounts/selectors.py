"""Reads of users and their roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import QuerySet

from huikuan.core.auth import UserNotFound


def user_list(*, active: bool | None = None) -> QuerySet[User]:
    """Return users by username, with their profiles (one query however many)."""
    users = get_user_model().objects.select_related("profile").order_by("username")
    if active is not None:
        users = users.filter(is_active=active)
    return users


def user_get_by_id(*, user_id: int) -> User:
    """Return the user with this id, with their profile, or raise UserNotFound."""
    try:
        return user_list().get(pk=user_id)
    except get_user_model().DoesNotExist:
        raise UserNotFound(f"there is no user {user_id}")
