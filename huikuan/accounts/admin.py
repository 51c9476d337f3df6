"""The role beside each user in Django's admin (the /users/ pages are the everyday place)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.access import user_assigned_role
from huikuan.accounts.models import Profile


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("role", "language")


user_model = get_user_model()
base_admin = type(admin.site._registry[user_model]) if admin.site.is_registered(user_model) else UserAdmin


class UserWithRoleAdmin(base_admin):  # type: ignore[valid-type,misc]
    inlines = (*base_admin.inlines, ProfileInline)
    list_display = (*base_admin.list_display, "role")
    list_select_related = ("profile",)

    @admin.display(description=_("role"), ordering="profile__role")
    def role(self, user: Any) -> str:
        return str(user_assigned_role(user).label)


if admin.site.is_registered(user_model):
    admin.site.unregister(user_model)
admin.site.register(user_model, UserWithRoleAdmin)
