"""Collections: the work people do — tasks, promises to pay, disputes and instalment plans.

The dunning engine reads promises, disputes and plans to leave their invoices alone, and writes
call, visit and legal-referral tasks for the customer's collector.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice


class TaskKind(models.TextChoices):
    CALL = "CALL", _("call")
    VISIT = "VISIT", _("visit")
    LEGAL_REFERRAL = "LEGAL_REFERRAL", _("legal referral")
    SHORT_PAYMENT = "SHORT_PAYMENT", _("short payment")
    DELIVERY_FAILURE = "DELIVERY_FAILURE", _("delivery failed")
    PROMISE_BROKEN = "PROMISE_BROKEN", _("broken promise")
    DISPUTE = "DISPUTE", _("new dispute")
    PLAN_BROKEN = "PLAN_BROKEN", _("broken instalment plan")
    STATEMENT_DISPUTED = "STATEMENT_DISPUTED", _("statement disputed")
    FOLLOW_UP = "FOLLOW_UP", _("follow-up")
    EARLY_WARNING = "EARLY_WARNING", _("early warning")


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
    # What raised the task when a rule did (an early warning's figures), shown with it; null for
    # tasks written in bulk by the dunning run, which carry their reason in the title.
    evidence = models.JSONField(_("evidence"), null=True, blank=True)
    action = models.ForeignKey(
        "dunning.DunningAction", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # For DELIVERY_FAILURE: the outbox message that could not be delivered.
    message = models.ForeignKey(
        "messaging.OutboxMessage", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks"
    )
    # What the task is about, when it came from one of these; each makes at most one task a kind.
    promise = models.ForeignKey(
        "PromiseToPay", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    dispute = models.ForeignKey(
        "Dispute", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    plan = models.ForeignKey(
        "InstalmentPlan", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    short_payment = models.ForeignKey(
        "ledger.ShortPayment", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    statement = models.ForeignKey(
        "ledger.Statement", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    interaction = models.ForeignKey(
        "Interaction", on_delete=models.CASCADE, null=True, blank=True, related_name="follow_up_tasks"
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
            models.UniqueConstraint(fields=["promise", "kind"], name="task_once_per_promise"),
            models.UniqueConstraint(fields=["dispute", "kind"], name="task_once_per_dispute"),
            models.UniqueConstraint(fields=["plan", "kind"], name="task_once_per_plan"),
            models.UniqueConstraint(fields=["short_payment", "kind"], name="task_once_per_short_payment"),
            models.UniqueConstraint(fields=["statement", "kind"], name="task_once_per_statement"),
            models.UniqueConstraint(fields=["interaction", "kind"], name="task_once_per_interaction"),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return self.title


class InteractionKind(models.TextChoices):
    CALL = "CALL", _("call")
    VISIT = "VISIT", _("visit")
    NOTE = "NOTE", _("note")


class InteractionOutcome(models.TextChoices):
    REACHED = "REACHED", _("reached")
    NO_ANSWER = "NO_ANSWER", _("no answer")
    WRONG_NUMBER = "WRONG_NUMBER", _("wrong number")
    PROMISED = "PROMISED", _("promised to pay")
    DISPUTED = "DISPUTED", _("disputed")
    REFUSED = "REFUSED", _("refused")
    ASKED_FOR_DOCUMENTS = "ASKED_FOR_DOCUMENTS", _("asked for documents")
    SAYS_PAID = "SAYS_PAID", _("says paid")


class Interaction(TimestampedModel):
    """A call, visit or note a person logged against a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(_("kind"), max_length=10, choices=InteractionKind.choices)
    outcome = models.CharField(_("outcome"), max_length=24, choices=InteractionOutcome.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    next_action_date = models.DateField(_("next action"), null=True, blank=True)
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
    )
    # The task this call or visit carried out, if any; logging it completes the task.
    task = models.ForeignKey(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    occurred_at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("call, visit or note")
        verbose_name_plural = _("calls, visits and notes")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "occurred_at"])]


class PromiseMethod(models.TextChoices):
    PHONE = "PHONE", _("by phone")
    WRITTEN = "WRITTEN", _("in writing")
    RECORDED = "RECORDED", _("recorded call")
    VISIT = "VISIT", _("in person")
    PORTAL = "PORTAL", _("through the portal")


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
    # The day the promise was given: payments from then on count towards it.
    made_date = models.DateField(_("made on"), null=True, blank=True)
    # Dunning of the promised invoices pauses until promised_date + grace_days.
    grace_days = models.PositiveIntegerField(_("grace days"), default=3)
    status = models.CharField(
        _("status"), max_length=12, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    invoices = models.ManyToManyField(Invoice, related_name="promises", blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Who promised and how (PLAYBOOK §5: a promise worth holding someone to has a name and proof).
    promised_by = models.CharField(_("promised by"), max_length=255, blank=True)
    method = models.CharField(
        _("how"), max_length=10, choices=PromiseMethod.choices, default=PromiseMethod.PHONE
    )
    evidence = models.FileField(_("evidence"), upload_to="evidence/promises/%Y/%m/", blank=True)
    # What the collector told them happens if the promise is not kept.
    if_broken = models.TextField(_("if not kept"), blank=True)
    # Derived by the review: paid towards the promise so far, and when it was settled or broke.
    paid_minor = models.BigIntegerField(_("paid (minor units)"), default=0)
    resolved_date = models.DateField(_("resolved on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="promises"
    )

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["promised_date"]
        indexes = [
            models.Index(fields=["status", "promised_date"]),
            models.Index(fields=["customer", "status"]),
        ]


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
    # Denormalised from the invoice so that a customer's disputes are one indexed read.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="disputes"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes"
    )
    # Who raised it: a user, or the customer through the portal (raised_by empty, source PORTAL).
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("raised through"), max_length=10, default="STAFF")  # STAFF or PORTAL
    resolved_date = models.DateField(_("resolved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        indexes = [
            models.Index(fields=["invoice", "status"]),
            models.Index(fields=["customer", "status"]),
        ]


class PlanStatus(models.TextChoices):
    ACTIVE = "ACTIVE", pgettext_lazy("instalment plan status", "current")
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
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    # What the invoices had open when the plan was agreed, and the fee and interest on top.
    principal_minor = models.BigIntegerField(_("principal (minor units)"), default=0)
    fee_minor = models.BigIntegerField(_("fee (minor units)"), default=0)
    # Simple yearly interest on the declining balance, as a decimal string ("0.0435" = 4.35 %).
    interest_rate = models.CharField(_("yearly interest rate"), max_length=12, blank=True)
    interest_minor = models.BigIntegerField(_("interest (minor units)"), default=0)
    # A missed instalment breaks the plan once it is this many days late.
    grace_days = models.PositiveIntegerField(_("grace days"), default=5)
    broken_date = models.DateField(_("broken on"), null=True, blank=True)
    completed_date = models.DateField(_("completed on"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("instalment plan")
        verbose_name_plural = _("instalment plans")
        indexes = [models.Index(fields=["customer", "status"])]


class Instalment(models.Model):
    plan = models.ForeignKey(InstalmentPlan, on_delete=models.CASCADE, related_name="instalments")
    sequence = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Derived by the review: what payments to the plan's invoices cover of this instalment.
    paid_minor = models.BigIntegerField(_("paid (minor units)"), default=0)

    class Meta:
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        ordering = ["plan", "sequence"]
        constraints = [models.UniqueConstraint(fields=["plan", "sequence"], name="one_instalment_per_number")]


from huikuan.collections.incentive_models import Incentive  # noqa: E402, F401
from huikuan.collections.legal_models import LegalHandover, LegalRecovery  # noqa: E402, F401
