"""The customer's own pages, reached by a link without a password."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.customers.models import Customer


class PortalLink(models.Model):
    """An unguessable, expiring, revocable link for one customer.

    Only a SHA-256 digest of the key is stored, so a copy of the database opens no portal; the
    prefix lets staff tell links apart.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    key_digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal link")
        verbose_name_plural = _("portal links")
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.customer_id})"
