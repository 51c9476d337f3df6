"""Incentives offered for paying now (PLAYBOOK §6, §7): early-payment discounts and settlements.

Kept beside the other collections records; ``collections/models.py`` imports these so that the
app registers them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice


class IncentiveKind(models.TextChoices):
    DISCOUNT = "DISCOUNT", _("early-payment discount")
    SETTLEMENT = "SETTLEMENT", _("settlement offer")


class IncentiveStatus(models.TextChoices):
    AWAITING_APPROVAL = "AWAITING_APPROVAL", _("awaiting approval")
    OFFERED = "OFFERED", _("offered")
    BOOKED = "BOOKED", _("taken and booked")
    EXPIRED = "EXPIRED", _("expired")
    WITHDRAWN = "WITHDRAWN", _("withdrawn")
    REJECTED = "REJECTED", _("approval refused")


INCENTIVE_LIVE_STATUSES = (IncentiveStatus.AWAITING_APPROVAL, IncentiveStatus.OFFERED)


class Incentive(TimestampedModel):
    """An offer to take less if the customer pays by a date: a discount, or a settlement sum.

    ``lines`` keeps, per invoice, what was open when offered and the share of the concession it
    carries, so that the booking credits each invoice exactly what was promised on it.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incentives")
    kind = models.CharField(_("kind"), max_length=12, choices=IncentiveKind.choices)
    status = models.CharField(_("status"), max_length=20, choices=IncentiveStatus.choices)
    invoices = models.ManyToManyField(Invoice, related_name="incentives", blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    offered_date = models.DateField(_("offered on"))
    # The offer holds for payments received up to and including this day.
    pay_by_date = models.DateField(_("pay by"))
    # DISCOUNT: percent off what is open, e.g. 2.00 ("2/10 net 30"). Empty for a settlement.
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    # What was open on the invoices when offered, what the customer must pay, and what we give up.
    open_minor = models.BigIntegerField(_("open when offered (minor units)"))
    pay_minor = models.BigIntegerField(_("to pay (minor units)"))
    concession_minor = models.BigIntegerField(_("concession (minor units)"))
    # [{"invoice": id, "number": "...", "open": minor, "concession": minor}, ...]
    lines = models.JSONField(_("lines"), default=list)
    terms = models.CharField(_("terms"), max_length=100, blank=True)  # e.g. "2/10 net 30"
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    booked_date = models.DateField(_("booked on"), null=True, blank=True)
    ended_reason = models.CharField(_("reason"), max_length=500, blank=True)
    message = models.ForeignKey(
        "messaging.OutboxMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("incentive")
        verbose_name_plural = _("incentives")
        ordering = ["-offered_date", "-id"]
        indexes = [
            models.Index(fields=["status", "pay_by_date"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.customer_id} {self.pay_by_date}"
