"""View decorators that admit users by role; they build on :mod:`huikuan.accounts.access`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from huikuan.accounts.access import user_can_write, user_role
from huikuan.accounts.models import Role

View = Callable[..., HttpResponse]


def role_required(*roles: Role | str) -> Callable[[View], View]:
    """Admit signed-in users whose role is one of ``roles``; others get 404, as for a missing page.

    Anonymous visitors are sent to the sign-in page first.
    """
    allowed = {Role(role) for role in roles}

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if user_role(request.user) not in allowed:
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def write_required(view: View) -> View:
    """Refuse a change by a read-only user (auditor) with a 403 page that says why.

    Anonymous visitors are sent to the sign-in page first.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not user_can_write(request.user):
            return render(request, "accounts/read_only.html", status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)
