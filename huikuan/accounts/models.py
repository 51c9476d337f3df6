"""Who may do what: each user has one role, kept beside Django's own user."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COLLECTOR = "COLLECTOR", _("collector")
    SALES_REP = "SALES_REP", _("sales rep")
    CREDIT_CONTROLLER = "CREDIT_CONTROLLER", _("credit controller")
    MANAGER = "MANAGER", _("manager")
    ADMIN = "ADMIN", _("administrator")
    AUDITOR = "AUDITOR", _("auditor")


# Roles that reach every customer; the others reach only the customers assigned to them.
ROLES_SEEING_ALL = frozenset({Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN, Role.AUDITOR})
# Roles that may only read.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.COLLECTOR)
    # The language the web app opens in for this user; empty means the company's default.
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"
