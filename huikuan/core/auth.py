"""Per-user API tokens: created once, stored only as a SHA-256 digest, revoked by prefix.

The plaintext token is returned by :func:`api_token_create` and never stored, so a copy of
the database does not hand out API access. The prefix (its first characters) is kept so that
a user can tell their tokens apart and revoke one without knowing the whole key.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from huikuan.core.errors import HuikuanError, NotFound
from huikuan.core.models import ApiToken

PREFIX_LENGTH = 8
# Recording every request would turn each read into a write; a minute is precise enough to
# tell a token in use from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class UserNotFound(NotFound):
    code = "user_not_found"


class TokenNotFound(NotFound):
    code = "token_not_found"


class TokenPrefixAmbiguous(HuikuanError):
    code = "token_prefix_ambiguous"
    status = 409


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def user_get(*, username: str) -> User:
    """Return the user with this username or raise UserNotFound."""
    user_model = get_user_model()
    try:
        return user_model.objects.get_by_natural_key(username)
    except user_model.DoesNotExist:
        raise UserNotFound(f"there is no user {username!r}")


@transaction.atomic
def api_token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for the user and return it with its plaintext, which is shown only now."""
    key = secrets.token_urlsafe(32)
    while key.startswith("-"):  # `huikuan token revoke -abc…` would read the prefix as an option
        key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip(), key_digest=_digest(key), prefix=key[:PREFIX_LENGTH]
    )
    return token, key


def api_token_authenticate(key: str, *, now: datetime | None = None) -> User | None:
    """Return the active user a live token belongs to, or None; note when it was last used."""
    if not key:
        return None
    token = (
        # The profile comes along: every request asks for the user's role (accounts.access).
        ApiToken.objects.select_related("user", "user__profile")
        .filter(key_digest=_digest(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_RESOLUTION:
        # Conditional, so that concurrent requests write at most once per minute.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return token.user


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """Return the user's tokens, newest first, revoked ones included."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


@transaction.atomic
def api_token_revoke(*, token: ApiToken, now: datetime | None = None) -> ApiToken:
    """Revoke a token from now on; revoking twice keeps the first date."""
    if token.revoked_at is None:
        token.revoked_at = now or timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def api_token_revoke_by_prefix(*, prefix: str, now: datetime | None = None) -> ApiToken:
    """Revoke the one live token whose key starts with ``prefix``."""
    prefix = prefix.strip()
    if len(prefix) < PREFIX_LENGTH:
        raise HuikuanError(
            f"give the first {PREFIX_LENGTH} characters of the token", code="token_prefix_too_short"
        )
    live = list(
        ApiToken.objects.select_for_update()
        .select_related("user")
        .filter(prefix=prefix[:PREFIX_LENGTH], revoked_at__isnull=True)[:2]
    )
    if not live:
        raise TokenNotFound(f"no live token starts with {prefix[:PREFIX_LENGTH]!r}")
    if len(live) > 1:
        raise TokenPrefixAmbiguous(
            f"more than one live token starts with {prefix[:PREFIX_LENGTH]!r}; revoke it in the admin"
        )
    return api_token_revoke(token=live[0], now=now)
