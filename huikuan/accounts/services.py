"""Every change to users and their roles: create, change role, deactivate, reset a password.

Each change is kept in the audit trail (who, when, before, after) without the password hash.
The last active administrator can be neither demoted nor deactivated, so that somebody can
always manage users.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from huikuan.accounts.access import user_assigned_role, user_role
from huikuan.accounts.models import Profile, Role
from huikuan.core.audit import audit_record
from huikuan.core.errors import HuikuanError
from huikuan.core.models import AuditAction

# Letters and digits without look-alikes (0/O, 1/l/I), so a password read aloud or copied
# from a terminal arrives intact.
PASSWORD_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "0O1lI")
PASSWORD_LENGTH = 16

# Who made a change: the signed-in user, or nobody (the command line, a script).
Actor = User | AnonymousUser | None


class AccountError(HuikuanError):
    code = "account_invalid"


class UsernameTaken(AccountError):
    code = "username_taken"
    status = 409


class UsernameInvalid(AccountError):
    code = "username_invalid"


class RoleInvalid(AccountError):
    code = "role_invalid"


class PasswordInvalid(AccountError):
    code = "password_invalid"


class LastAdmin(AccountError):
    code = "last_admin"
    status = 409


def role_parse(value: str | Role) -> Role:
    """Return the role named by ``value`` (any case, hyphens or spaces for underscores)."""
    text = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(role.value.lower() for role in Role)
        raise RoleInvalid(
            _("%(role)s is not a role; choose one of %(choices)s") % {"role": value, "choices": choices}
        )


def password_generate() -> str:
    """Return a new random password, long enough to need no other rule."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(PASSWORD_LENGTH))


def _password_check(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        raise PasswordInvalid(" ".join(error.messages))


def _snapshot(user: User, role: Role | None) -> dict[str, Any]:
    # Never the password hash: the audit trail is read by more people than the user table.
    return {
        "username": user.get_username(),
        "email": user.email,
        "name": user.get_full_name(),
        "is_active": user.is_active,
        "role": role.value if role else None,
    }


def _active_admin_count() -> int:
    """Return how many active users are administrators (by profile, or superusers without one)."""
    user_model = get_user_model()
    by_profile = user_model.objects.filter(is_active=True, profile__role=Role.ADMIN)
    by_default = user_model.objects.filter(is_active=True, is_superuser=True, profile__isnull=True)
    return by_profile.count() + by_default.count()


def _keep_an_admin(user: User, *, new_role: Role | None = None, deactivating: bool = False) -> None:
    if user_role(user) != Role.ADMIN:
        return
    loses_admin = deactivating or (new_role is not None and new_role != Role.ADMIN)
    if loses_admin and _active_admin_count() <= 1:
        raise LastAdmin(
            _("%(user)s is the last active administrator; make another user an administrator first")
            % {"user": user.get_username()}
        )


def _name_split(name: str) -> tuple[str, str]:
    """Keep a full name whole in first_name: Chinese names have no space to split on."""
    return name.strip()[:150], ""


@transaction.atomic
def user_create(
    *,
    username: str,
    role: Role | str,
    password: str,
    email: str = "",
    name: str = "",
    actor: Actor = None,
) -> User:
    """Create an active user with this role and password (checked against the password rules)."""
    user_model = get_user_model()
    role = role_parse(role)
    username = username.strip()
    if not username:
        raise UsernameInvalid(_("give a username"))
    if user_model.objects.filter(username__iexact=username).exists():
        raise UsernameTaken(_("there is already a user %(username)s") % {"username": username})
    first_name, last_name = _name_split(name)
    user = user_model(username=username, email=email.strip(), first_name=first_name, last_name=last_name)
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        raise UsernameInvalid(" ".join(error.messages))
    _password_check(password, user)
    user.set_password(password)
    user.save()
    Profile.objects.create(user=user, role=role)
    audit_record(instance=user, action=AuditAction.CREATE, actor=actor, after=_snapshot(user, role))
    return user


@transaction.atomic
def user_set_role(*, user: User, role: Role | str, actor: Actor = None) -> Profile:
    """Give the user this role (creating their profile if they had none)."""
    role = role_parse(role)
    before_role = user_assigned_role(user)
    _keep_an_admin(user, new_role=role)
    before = _snapshot(user, before_role)
    profile, created = Profile.objects.get_or_create(user=user, defaults={"role": role})
    if not created and profile.role != role:
        profile.role = role
        profile.save(update_fields=["role"])
    user.profile = profile  # the cached profile (or its absence) must not outlive the change
    audit_record(
        instance=user, action=AuditAction.UPDATE, actor=actor, before=before, after=_snapshot(user, role)
    )
    return profile


@transaction.atomic
def user_update(
    *,
    user: User,
    actor: Actor = None,
    role: Role | str | None = None,
    email: str | None = None,
    name: str | None = None,
    is_active: bool | None = None,
    language: str | None = None,
) -> User:
    """Change the fields given: role, e-mail, name, language, active or not."""
    if role is not None:
        user_set_role(user=user, role=role, actor=actor)
    if language is not None:
        user_set_language(user=user, language=language)
    if is_active is False and user.is_active:
        user_deactivate(user=user, actor=actor)
    elif is_active is True and not user.is_active:
        user_activate(user=user, actor=actor)
    if email is None and name is None:
        return user
    before = _snapshot(user, user_assigned_role(user))
    if email is not None:
        user.email = email.strip()
    if name is not None:
        user.first_name, user.last_name = _name_split(name)
    try:
        user.full_clean(exclude=["password", "username"])
    except ValidationError as error:
        raise AccountError(" ".join(error.messages))
    user.save(update_fields=["email", "first_name", "last_name"])
    audit_record(
        instance=user,
        action=AuditAction.UPDATE,
        actor=actor,
        before=before,
        after=_snapshot(user, user_assigned_role(user)),
    )
    return user


def user_set_language(*, user: User, language: str) -> Profile:
    """Set the language the app opens in for the user ("" for the company's default)."""
    codes = {code for code, _name in settings.LANGUAGES}
    if language and language not in codes:
        raise AccountError(
            _("%(language)s is not a language of Huikuan; choose one of %(choices)s")
            % {"language": language, "choices": ", ".join(sorted(codes))}
        )
    profile, _created = Profile.objects.get_or_create(user=user, defaults={"role": user_assigned_role(user)})
    if profile.language != language:
        profile.language = language
        profile.save(update_fields=["language"])
    user.profile = profile
    return profile


@transaction.atomic
def user_deactivate(*, user: User, actor: Actor = None) -> User:
    """Stop the user from signing in or using API tokens; their history stays theirs."""
    if not user.is_active:
        return user
    _keep_an_admin(user, deactivating=True)
    before = _snapshot(user, user_assigned_role(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    after = {**before, "is_active": False}
    audit_record(instance=user, action=AuditAction.UPDATE, actor=actor, before=before, after=after)
    return user


@transaction.atomic
def user_activate(*, user: User, actor: Actor = None) -> User:
    """Let a deactivated user sign in again."""
    if user.is_active:
        return user
    before = _snapshot(user, user_assigned_role(user))
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit_record(
        instance=user,
        action=AuditAction.UPDATE,
        actor=actor,
        before=before,
        after=_snapshot(user, user_role(user)),
    )
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, actor: Actor = None) -> User:
    """Set a new password (checked against the password rules)."""
    _password_check(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    # What changed is said, not the hash.
    audit_record(
        instance=user,
        action=AuditAction.UPDATE,
        actor=actor,
        before={"password": "old"},
        after={"password": "new"},
    )
    return user


def user_password_reset(*, user: User, actor: Actor = None) -> str:
    """Give the user a new random password and return it, to be handed over once."""
    password = password_generate()
    user_set_password(user=user, password=password, actor=actor)
    return password
