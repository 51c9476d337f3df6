"""Sign-in (throttled) and the administrators' user pages. Views parse and call services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from huikuan.accounts.access import user_assigned_role
from huikuan.accounts.decorators import role_required
from huikuan.accounts.forms import PasswordSetForm, ThrottledAuthenticationForm, UserAddForm, UserEditForm
from huikuan.accounts.models import Profile, Role
from huikuan.accounts.selectors import user_get_by_id, user_list
from huikuan.accounts.services import (
    password_generate,
    user_create,
    user_password_reset,
    user_set_password,
    user_update,
)
from huikuan.core.auth import UserNotFound
from huikuan.core.errors import HuikuanError


class LoginView(auth_views.LoginView):
    """Django's sign-in page with throttling; it opens the app in the user's own language."""

    form_class = ThrottledAuthenticationForm
    template_name = "accounts/login.html"

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        try:
            language = form.get_user().profile.language
        except Profile.DoesNotExist:
            language = ""
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


login_view = LoginView.as_view()


def _user_or_404(user_id: int) -> Any:
    try:
        return user_get_by_id(user_id=user_id)
    except UserNotFound:
        raise Http404(str(user_id))


@role_required(Role.ADMIN)
def user_list_page(request: HttpRequest) -> HttpResponse:
    """Every user with their role, active ones first."""
    users = list(user_list().order_by("-is_active", "username"))
    rows = [{"user": user, "role": user_assigned_role(user)} for user in users]
    return render(request, "accounts/user_list.html", {"rows": rows, "nav": "users"})


def _password_shown(request: HttpRequest, *, user: Any, password: str, created: bool) -> HttpResponse:
    """A page that shows a generated password once; it is never stored in the clear."""
    response = render(
        request,
        "accounts/password_shown.html",
        {"shown_user": user, "password": password, "created": created, "nav": "users"},
    )
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def user_add_page(request: HttpRequest) -> HttpResponse:
    """Add a user with a role; a generated password is shown once."""
    form = UserAddForm(request.POST or None, initial={"role": Role.COLLECTOR})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or password_generate()
        try:
            user = user_create(
                username=data["username"],
                role=data["role"],
                password=password,
                email=data["email"],
                name=data["name"],
                actor=request.user,
            )
        except HuikuanError as error:
            form.add_error(None, error.message)
        else:
            if data["password"]:
                messages.success(request, _("User %(user)s added.") % {"user": user.get_username()})
                return redirect("accounts:user_list")
            return _password_shown(request, user=user, password=password, created=True)
    return render(request, "accounts/user_add.html", {"form": form, "nav": "users"})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def user_edit_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """Change a user's role, name, e-mail, language or whether they may sign in."""
    user = _user_or_404(user_id)
    try:
        language = user.profile.language
    except Profile.DoesNotExist:
        language = ""
    initial = {
        "name": user.get_full_name(),
        "email": user.email,
        "role": user_assigned_role(user),
        "language": language,
        "is_active": user.is_active,
    }
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_update(
                user=user,
                actor=request.user,
                role=data["role"],
                email=data["email"],
                name=data["name"],
                language=data["language"],
                is_active=data["is_active"],
            )
        except HuikuanError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("User %(user)s saved.") % {"user": user.get_username()})
            return redirect("accounts:user_list")
    context = {"form": form, "shown_user": user, "password_form": PasswordSetForm(), "nav": "users"}
    return render(request, "accounts/user_edit.html", context)


@role_required(Role.ADMIN)
@require_POST
def user_password_page(request: HttpRequest, user_id: int) -> HttpResponse:
    """Set a user's password: the one typed, or a generated one shown once."""
    user = _user_or_404(user_id)
    form = PasswordSetForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["password"]:
                user_set_password(user=user, password=form.cleaned_data["password"], actor=request.user)
            else:
                return _password_shown(
                    request,
                    user=user,
                    password=user_password_reset(user=user, actor=request.user),
                    created=False,
                )
        except HuikuanError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("The password of %(user)s is changed.") % {"user": user.get_username()}
            )
    return HttpResponseRedirect(reverse("accounts:user_edit", args=[user.pk]))
