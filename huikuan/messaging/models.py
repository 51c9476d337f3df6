"""Messaging: templates, the outbox, and letters gathered into print batches.

The dunning run only queues: it writes one ``OutboxMessage`` per action and channel, set-based.
Delivery (``messaging/delivery.py``) renders and sends later, so a run over a million invoices
is not slowed by rendering, and the rendered text is kept on the message as sent (evidence).
Each message carries a stable ``idempotency_key`` and RFC 5322 ``message_id`` fixed when it is
queued: it is sent at most once, and a resend after a crash carries the same Message-ID.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Contact, Customer


class MessageChannel(models.TextChoices):
    EMAIL = "EMAIL", _("e-mail")
    SMS = "SMS", _("SMS")
    LETTER = "LETTER", _("letter")


class TemplateChannel(models.TextChoices):
    EMAIL = "EMAIL", _("e-mail")
    SMS = "SMS", _("SMS")
    LETTER = "LETTER", _("letter")
    SCRIPT = "SCRIPT", _("call or visit script")


class Template(TimestampedModel):
    """A user-editable message template; rendered in a sandbox that reaches only its context."""

    key = models.SlugField(_("key"), max_length=64)
    channel = models.CharField(_("channel"), max_length=8, choices=TemplateChannel.choices)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    # True for the templates Huikuan ships; an edited default is no longer overwritten on upgrade.
    is_shipped_default = models.BooleanField(_("shipped default"), default=False)

    class Meta:
        verbose_name = _("template")
        verbose_name_plural = _("templates")
        ordering = ["key", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["key", "channel", "language"], name="template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.channel} {self.language}"


class OutboxStatus(models.TextChoices):
    AWAITING_APPROVAL = "AWAITING_APPROVAL", _("awaiting approval")
    QUEUED = "QUEUED", _("queued")
    SENDING = "SENDING", _("sending")
    SENT = "SENT", _("sent")
    FAILED = "FAILED", _("failed")  # permanently: bad address, or out of retries
    CANCELLED = "CANCELLED", _("cancelled")


class LetterBatch(models.Model):
    """Letters printed together, with the dispatch register (a registered letter is evidence)."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    pdf_path = models.CharField(_("PDF file"), max_length=500, blank=True)
    register_path = models.CharField(_("dispatch register"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-created_at"]


class OutboxMessage(models.Model):
    # Stable identity of what is being said: "dunning:<action id>:<channel>". Unique (see Meta),
    # so that queueing the same thing twice is impossible.
    # PostgreSQL compares this and message_id bytewise (COLLATE "C", messaging migration 0006).
    idempotency_key = models.CharField(_("idempotency key"), max_length=120)
    # Fixed at queue time, so a resend after a crash carries the same Message-ID.
    message_id = models.CharField(_("Message-ID"), max_length=200)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    # The dunning run writes messages from its own actions in one statement; like the action's
    # keys, these are not declared to the database (see dunning.models.DunningAction).
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="messages", db_constraint=False, db_index=False
    )
    # Chosen at delivery when empty: the customer's primary contact that can receive the channel.
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages", db_index=False
    )
    action = models.ForeignKey(
        "dunning.DunningAction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        db_constraint=False,
    )
    template_key = models.CharField(_("template"), max_length=64)
    sender_role = models.CharField(_("sender"), max_length=16, blank=True)
    attach_letter = models.BooleanField(_("attach the PDF letter"), default=False)
    # Not before this moment: the start of the send window in the customer's local time.
    not_before_at = models.DateTimeField(_("not before"))
    # Filled at delivery: exactly what was sent.
    language = models.CharField(_("language"), max_length=10, blank=True)
    sender = models.CharField(_("from"), max_length=300, blank=True)
    recipient = models.CharField(_("to"), max_length=500, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    segments = models.PositiveSmallIntegerField(_("SMS segments"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_id = models.CharField(_("provider id"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Letters: the print batch, and the dispatch register entry once posted.
    letter_batch = models.ForeignKey(
        LetterBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="letters", db_index=False
    )
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    posted_date = models.DateField(_("posted on"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at"]
        # A run inserts a hundred thousand messages at once, each paying for every index here:
        # the unique keys are constraints (PostgreSQL then adds no pattern index for LIKE, which
        # nothing uses), the customer is found through (customer, created_at), and keys that are
        # empty when a message is queued are indexed only where set.
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="outbox_idempotency_key_unique"),
            models.UniqueConstraint(fields=["message_id"], name="outbox_message_id_unique"),
        ]
        indexes = [
            models.Index(fields=["status", "not_before_at"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(
                fields=["contact"], condition=models.Q(contact__isnull=False), name="outbox_contact"
            ),
            models.Index(
                fields=["approved_by"],
                condition=models.Q(approved_by__isnull=False),
                name="outbox_approved_by",
            ),
            models.Index(
                fields=["letter_batch"],
                condition=models.Q(letter_batch__isnull=False),
                name="outbox_letter_batch",
            ),
        ]

    def __str__(self) -> str:
        return self.idempotency_key
