"""Shared base models and the per-user API token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huikuan.core.errors import HuikuanError


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class ApiToken(models.Model):
    """A bearer token for the REST API. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text=_("first characters, to tell tokens apart"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class AuditAction(models.TextChoices):
    CREATE = "CREATE", _("created")
    UPDATE = "UPDATE", _("changed")
    DELETE = "DELETE", _("deleted")


class AuditTrailAppendOnly(HuikuanError):
    """An audit entry was to be changed or deleted: the trail only ever grows."""

    code = "audit_append_only"
    status = 409


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailAppendOnly(gettext("Audit entries cannot be changed."))

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailAppendOnly(gettext("Audit entries cannot be deleted."))


class AuditEntry(models.Model):
    """One change to a record people care about: who, when, before and after. Append-only.

    Written by the services that make the change (``huikuan.core.audit``), never updated or
    deleted. ``customer`` places the entry on that customer's timeline.
    """

    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who acted when no user did: "system", "portal", "import", "dunning run".
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    # Indexed by the composite index that starts with it (Meta.indexes): one index less to write.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="audit_entries",
        db_index=False,
    )
    entity = models.CharField(_("record type"), max_length=60)  # app_label.model
    entity_id = models.CharField(_("record id"), max_length=64)
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    # Writing goes through create() and bulk_create(); update() and delete() refuse. (Removing a
    # user or customer still clears the link, through Django's plain base manager: the entry keeps
    # actor_label and its before/after.)
    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["customer", "at"]),
            models.Index(fields=["entity", "entity_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.entity}#{self.entity_id} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailAppendOnly(gettext("Audit entries cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailAppendOnly(gettext("Audit entries cannot be deleted."))
