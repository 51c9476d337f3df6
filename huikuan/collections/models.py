"""Collections: the work people do — tasks, promises to pay, disputes and instalment plans.

The dunning engine reads promises, disputes and plans to leave their invoices alone, and writes
call, visit and legal-referral tasks for the customer's collector.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice


class TaskKind(models.TextChoices):
    CALL = "CALL", _("call")
    VISIT = "VISIT", _("visit")
    LEGAL_REFERRAL = "LEGAL_REFERRAL", _("legal referral")
    SHORT_PAYMENT = "SHORT_PAYMENT", _("short payment")
    DELIVERY_FAILURE = "DELIVERY_FAILURE", _("delivery failed")


class TaskStatus(models.TextChoices):
    OPEN = "OPEN", _("open")
    DONE = "DONE", _("done")
    CANCELLED = "CANCELLED", _("cancelled")


class Task(TimestampedModel):
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    due_date = models.DateField(_("due"))
    title = models.CharField(_("title"), max_length=300)
    # The suggested script for the stage (话术), rendered when the task was made.
    script = models.TextField(_("script"), blank=True)
    action = models.ForeignKey(
        "dunning.DunningAction", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # For DELIVERY_FAILURE: the outbox message that could not be delivered.
    message = models.ForeignKey(
        "messaging.OutboxMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["status", "due_date"]
        constraints = [
            # One task of a kind per dunning action, however often the run is retried.
            models.UniqueConstraint(fields=["action", "kind"], name="task_once_per_action"),
            # One delivery-failure task per message, however often delivery is retried.
            models.UniqueConstraint(fields=["message", "kind"], name="task_once_per_message"),
        ]
        indexes = [models.Index(fields=["assignee", "status", "due_date"])]

    def __str__(self) -> str:
        return self.title


class PromiseStatus(models.TextChoices):
    OPEN = "OPEN", _("open")
    KEPT = "KEPT", _("kept")
    PARTLY_KEPT = "PARTLY_KEPT", _("partly kept")
    BROKEN = "BROKEN", _("broken")


class PromiseToPay(TimestampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="promises")
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    promised_date = models.DateField(_("promised for"))
    # Dunning of the promised invoices pauses until promised_date + grace_days.
    grace_days = models.PositiveIntegerField(_("grace days"), default=3)
    status = models.CharField(
        _("status"), max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    invoices = models.ManyToManyField(Invoice, related_name="promises", blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["promised_date"]


class DisputeReason(models.TextChoices):
    QUALITY = "QUALITY", _("quality")
    QUANTITY = "QUANTITY", _("quantity")
    PRICE = "PRICE", _("price")
    NOT_RECEIVED = "NOT_RECEIVED", _("not received")
    DUPLICATE_BILLING = "DUPLICATE_BILLING", _("duplicate billing")
    OTHER = "OTHER", _("other")


class DisputeStatus(models.TextChoices):
    OPEN = "OPEN", _("open")
    INVESTIGATING = "INVESTIGATING", _("investigating")
    RESOLVED_CREDIT_NOTE = "RESOLVED_CREDIT_NOTE", _("resolved by credit note")
    REJECTED = "REJECTED", _("rejected")


class Dispute(TimestampedModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="disputes")
    reason = models.CharField(_("reason"), max_length=20, choices=DisputeReason.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_date = models.DateField(_("opened on"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        indexes = [models.Index(fields=["invoice", "status"])]


class PlanStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("current")
    COMPLETED = "COMPLETED", _("completed")
    BROKEN = "BROKEN", _("broken")


class InstalmentPlan(TimestampedModel):
    """分期付款: while current, its invoices leave dunning; a broken plan returns them at their stage."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="instalment_plans")
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE
    )
    start_date = models.DateField(_("starts on"))
    invoices = models.ManyToManyField(Invoice, related_name="instalment_plans", blank=True)

    class Meta:
        verbose_name = _("instalment plan")
        verbose_name_plural = _("instalment plans")
