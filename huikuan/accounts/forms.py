"""Forms of the accounts pages: sign-in (throttled) and the administrators' user pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from huikuan.accounts.models import Role
from huikuan.accounts.signin import (
    login_failure_record,
    login_lock_minutes,
    login_locked,
    login_success_record,
)


def client_address(request: HttpRequest | None) -> str:
    """Return the address the request came from, as the server saw it.

    X-Forwarded-For is not read: anyone can send it. Behind a reverse proxy, have the proxy
    set REMOTE_ADDR (gunicorn's --forwarded-allow-ips) instead.
    """
    return "" if request is None else str(request.META.get("REMOTE_ADDR", ""))


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing to check passwords for a locked username or address."""

    def _locked_error(self) -> ValidationError:
        minutes = login_lock_minutes()
        message = ngettext(
            "Too many failed sign-ins for this user or from this address. Try again in %(minutes)d minute.",
            "Too many failed sign-ins for this user or from this address. Try again in %(minutes)d minutes.",
            minutes,
        )
        return ValidationError(message, code="locked", params={"minutes": minutes})

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if login_locked(username=username, address=address):
            raise self._locked_error()
        try:
            cleaned = super().clean()
        except ValidationError:
            if login_failure_record(username=username, address=address):
                raise self._locked_error()
            raise
        login_success_record(username=username)
        return cleaned


def _role_choices() -> list[tuple[str, Any]]:
    return list(Role.choices)


def _language_choices() -> list[tuple[str, Any]]:
    return [("", _("the company's default")), *settings.LANGUAGES]


class UserAddForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to have one generated; it is shown once."),
    )


class UserEditForm(forms.Form):
    name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=_role_choices)
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)
    is_active = forms.BooleanField(label=_("Active (may sign in)"), required=False)


class PasswordSetForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to have one generated; it is shown once."),
    )
