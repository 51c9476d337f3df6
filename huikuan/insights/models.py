"""Debtor classifications, and the library of scripts (话术) collectors are shown.

A classification says why a customer does not pay (PLAYBOOK §5) with the facts that decided it.
The automatic run writes one; a collector confirms or corrects it. Every judgement is kept; the
one in force for a customer is marked ``is_current`` (at most one per customer).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer, Personality


class DebtorType(models.TextChoices):
    MALICIOUS = "MALICIOUS", _("malicious (恶意欠款)")
    TECHNICAL = "TECHNICAL", _("technical (技术性欠款)")
    COMPETITIVE = "COMPETITIVE", _("competitive (竞争性欠款)")
    REASON_BASED = "REASON_BASED", _("reason-based (原由性欠款)")
    UNDETERMINED = "UNDETERMINED", _("undetermined")


class ClassificationSource(models.TextChoices):
    AUTOMATIC = "AUTOMATIC", pgettext_lazy("classification source", "automatic")
    COLLECTOR = "COLLECTOR", pgettext_lazy("classification source", "collector")


class DebtorClassification(models.Model):
    """One judgement of a customer's debtor type, automatic or by a person; never edited later."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="debtor_classifications")
    as_of = models.DateField(_("as of"))
    debtor_type = models.CharField(_("debtor type"), max_length=12, choices=DebtorType.choices)
    # 0-100: how strongly the record shows the type (for a collector's judgement: 100).
    confidence = models.PositiveSmallIntegerField(_("confidence"), default=0)
    # The facts that decided it, as codes with figures: [{"code": "promises_broken", "count": 2}].
    # Translated when shown, so the same row reads in Chinese and English.
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    # Every fact gathered for the customer that day (the inputs), for the record and the next action.
    facts = models.JSONField(_("facts"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=ClassificationSource.choices)
    # What the automatic rules said when this was written. A collector's judgement stands until the
    # rules say something else (the record changed materially), then the automatic one replaces it.
    automatic_type = models.CharField(
        _("automatic type"), max_length=12, choices=DebtorType.choices, blank=True
    )
    is_current = models.BooleanField(pgettext_lazy("classification in force", "current"), default=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("debtor classification")
        verbose_name_plural = _("debtor classifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(is_current=True), name="one_current_classification"
            )
        ]
        indexes = [
            models.Index(
                fields=["customer", "debtor_type"],
                condition=models.Q(is_current=True),
                name="classification_current_type",
            ),
            models.Index(fields=["customer", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.debtor_type} {self.as_of}"


class ClassificationRun(models.Model):
    """A run of the automatic classification: when, for which day, and what it changed."""

    as_of = models.DateField(_("as of"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    customers = models.PositiveIntegerField(_("overdue customers"), default=0)
    written = models.PositiveIntegerField(_("classifications written"), default=0)
    kept_judgements = models.PositiveIntegerField(_("collector judgements kept"), default=0)
    retired = models.PositiveIntegerField(_("no longer overdue"), default=0)
    counts = models.JSONField(_("customers per type"), default=dict)

    class Meta:
        verbose_name = _("classification run")
        verbose_name_plural = _("classification runs")
        ordering = ["-started_at"]


class Script(TimestampedModel):
    """A script (话术) for a debtor type, optionally for one personality, in one language.

    The body holds ``{{ variable }}`` placeholders from a fixed list (see insights/scripts.py);
    it is checked when saved and rendered by plain substitution, so it cannot reach anything else.
    """

    debtor_type = models.CharField(_("debtor type"), max_length=12, choices=DebtorType.choices)
    # Blank: for any contact whose personality has no script of its own.
    personality = models.CharField(_("personality"), max_length=12, choices=Personality.choices, blank=True)
    language = models.CharField(_("language"), max_length=10)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("script"))
    # True for the scripts Huikuan ships; an edited one is no longer a default.
    is_shipped_default = models.BooleanField(_("shipped default"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("script")
        verbose_name_plural = _("scripts")
        ordering = ["debtor_type", "personality", "language"]
        constraints = [
            models.UniqueConstraint(fields=["debtor_type", "personality", "language"], name="script_unique"),
        ]

    def __str__(self) -> str:
        return self.title
