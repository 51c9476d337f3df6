"""Hand-overs of a customer's debt to a collection agency or a lawyer, and what they recover.

Kept beside the other collections records; ``collections/models.py`` imports these so that the
app registers them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice


class HandoverKind(models.TextChoices):
    AGENCY = "AGENCY", _("collection agency")
    LAWYER = "LAWYER", _("lawyer")


class HandoverStatus(models.TextChoices):
    ACTIVE = "ACTIVE", pgettext_lazy("hand-over status", "active")
    PARTLY_RECOVERED = "PARTLY_RECOVERED", _("partly recovered")
    RECOVERED = "RECOVERED", _("recovered")
    RETURNED = "RETURNED", _("returned")
    CLOSED = "CLOSED", _("closed")


# While a hand-over is in one of these, the agency or lawyer is still working on the debt and the
# customer stays "with legal" (dunning leaves them alone).
HANDOVER_OPEN_STATUSES = (HandoverStatus.ACTIVE, HandoverStatus.PARTLY_RECOVERED)


class LegalHandover(TimestampedModel):
    """A customer's debt (all or chosen invoices, one currency) given to an agency or a lawyer."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="legal_handovers")
    kind = models.CharField(_("handed to"), max_length=8, choices=HandoverKind.choices)
    agent_name = models.CharField(_("agency or lawyer"), max_length=255)
    # Their file number, so that their reports can be matched to ours.
    agent_reference = models.CharField(_("their reference"), max_length=100, blank=True)
    handed_over_date = models.DateField(_("handed over on"))
    # Percent of what is recovered that the agency or lawyer keeps, e.g. 15.00.
    commission_percent = models.DecimalField(_("commission (%)"), max_digits=5, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    # What the invoices had open on the day of the hand-over: the debt the agent works on.
    amount_minor = models.BigIntegerField(_("amount handed over (minor units)"))
    invoices = models.ManyToManyField(Invoice, related_name="legal_handovers", blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=HandoverStatus.choices, default=HandoverStatus.ACTIVE
    )
    # Kept up to date by recovery_record: the sums of the recoveries, for lists without a join.
    recovered_minor = models.BigIntegerField(_("recovered (minor units)"), default=0)
    commission_minor = models.BigIntegerField(_("commission (minor units)"), default=0)
    # The customer's status before the hand-over, given back when the last open one ends.
    previous_customer_status = models.CharField(_("customer status before"), max_length=10, blank=True)
    ended_date = models.DateField(_("ended on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("legal hand-over")
        verbose_name_plural = _("legal hand-overs")
        ordering = ["-handed_over_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["status", "handed_over_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.agent_name} {self.handed_over_date}"


class LegalRecovery(models.Model):
    """Money the agency or lawyer recovered on a hand-over, and the commission it earns them."""

    handover = models.ForeignKey(LegalHandover, on_delete=models.CASCADE, related_name="recoveries")
    recovered_date = models.DateField(_("recovered on"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # This recovery's share of the commission on everything recovered so far (see legal.py).
    commission_minor = models.BigIntegerField(_("commission (minor units)"))
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("recovery")
        verbose_name_plural = _("recoveries")
        ordering = ["recovered_date", "id"]

    def __str__(self) -> str:
        return f"{self.handover_id} {self.recovered_date} {self.amount_minor}"
