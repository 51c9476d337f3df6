"""Dunning: policies and their stages, the daily run and its actions, credit holds, fees and interest.

A policy is an ordered ladder of stages (PLAYBOOK §3). The run (``dunning/engine.py``) decides
set-based which customers reach which stage; each decision is a ``DunningAction`` that records
why (stage, policy version, the invoices and their days overdue). Channels of the stage turn the
action into outbox messages (messaging), work items (collections), a credit hold or a legal
referral. Amounts are integer minor units; rates and fee values are decimal text, never floats.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel
from huikuan.customers.models import Customer
from huikuan.ledger.models import Invoice


class StageChannel(models.TextChoices):
    EMAIL = "EMAIL", _("e-mail")
    SMS = "SMS", _("SMS")
    LETTER = "LETTER", _("letter")
    PHONE_TASK = "PHONE_TASK", _("phone task")
    VISIT_TASK = "VISIT_TASK", _("visit task")
    CREDIT_HOLD = "CREDIT_HOLD", _("credit hold")
    LEGAL_REFERRAL = "LEGAL_REFERRAL", _("legal referral")


class SenderRole(models.TextChoices):
    """Who speaks (PLAYBOOK §4): the rep is the friendly voice, the controller the firm one."""

    SALES_REP = "SALES_REP", _("sales rep")
    COLLECTOR = "COLLECTOR", _("credit controller")
    COMPANY = "COMPANY", _("the company")
    LEGAL = "LEGAL", _("legal department")


class FeeKind(models.TextChoices):
    NONE = "NONE", _("no fee")
    FIXED = "FIXED", _("fixed")
    PERCENTAGE = "PERCENTAGE", _("percentage of the amount due")


class HoldKind(models.TextChoices):
    HOLD = "HOLD", _("hold: no new supply (停止供货)")
    LIMITED = "LIMITED", _("limited supply (限量供货)")


class Policy(TimestampedModel):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # Grades this policy serves by default; a customer may be given another one explicitly.
    grades = models.JSONField(_("grades"), default=list, blank=True)
    # Debtor types (insights.DebtorType) this policy serves whatever their grade: why a customer
    # does not pay outranks how well it paid before (a malicious debtor skips the gentle ladder).
    debtor_types = models.JSONField(_("debtor types"), default=list, blank=True)
    # Bumped by the policy services whenever a stage changes, and recorded on every action, so
    # an action can be explained by the ladder as it stood that day.
    version = models.PositiveIntegerField(_("version"), default=1)
    # Invoices with less open than this (whole units of the invoice currency) are not chased.
    minimum_open_amount = models.PositiveIntegerField(_("minimum open amount"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dunning policy")
        verbose_name_plural = _("dunning policies")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="stages")
    # 1, 2, 3, ... in ladder order; an invoice climbs one position per run at most.
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=100)
    # Days relative to the due date; negative is a pre-due reminder. "At least", so a run after
    # an outage catches up instead of missing the stage.
    trigger_days = models.IntegerField(_("trigger (days after due)"))
    min_days_since_previous = models.PositiveIntegerField(
        _("minimum days since the previous stage"), default=0
    )
    channels = models.JSONField(_("channels"), default=list)
    sender = models.CharField(
        _("sender"), max_length=16, choices=SenderRole.choices, default=SenderRole.COLLECTOR
    )
    # Key of the messaging templates used for this stage (one per channel and language).
    template_key = models.CharField(_("template"), max_length=64)
    fee_kind = models.CharField(_("fee"), max_length=12, choices=FeeKind.choices, default=FeeKind.NONE)
    # FIXED: an amount in whole units of the invoice currency ("40" or "40.00");
    # PERCENTAGE: percent of the amount due ("1.5"). Decimal text, never a float.
    fee_value = models.CharField(_("fee value"), max_length=20, blank=True)
    # An e-mail of this stage carries the formal letter as a PDF (PLAYBOOK §3.3).
    attach_letter = models.BooleanField(_("attach the letter as PDF"), default=False)
    starts_interest = models.BooleanField(_("interest starts"), default=False)
    requires_approval = models.BooleanField(_("a person approves before sending"), default=False)
    # Local time of the customer (PLAYBOOK §6: accounts are handled in the morning).
    window_start = models.TimeField(_("send window from"), default="09:00")
    window_end = models.TimeField(_("send window until"), default="12:00")
    # CREDIT_HOLD channel: hold or limited supply, with a cap in whole units of the currency.
    hold_kind = models.CharField(
        _("hold kind"), max_length=8, choices=HoldKind.choices, default=HoldKind.HOLD
    )
    hold_cap = models.CharField(_("limited supply cap"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["policy_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="stage_position_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.policy.code} #{self.position} {self.name}"


class CustomerPolicy(models.Model):
    """An explicit policy for one customer, overriding the policy of its grade."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="dunning_policy")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="customer_overrides")
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("customer policy")
        verbose_name_plural = _("customer policies")


class DunningRun(models.Model):
    # One run per business date: the unique date is what makes a second run a no-op and two
    # concurrent runs unable to both act.
    as_of = models.DateField(_("as of"), unique=True)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    invoices_considered = models.PositiveIntegerField(_("invoices considered"), default=0)
    actions_created = models.PositiveIntegerField(_("actions created"), default=0)
    messages_created = models.PositiveIntegerField(_("messages created"), default=0)
    tasks_created = models.PositiveIntegerField(_("tasks created"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("dunning run")
        verbose_name_plural = _("dunning runs")
        ordering = ["-as_of"]

    def __str__(self) -> str:
        return f"run {self.as_of}"


class DunningAction(models.Model):
    """One customer, one currency, one stage on one run: a single communication (never one per invoice)."""

    # The run writes actions, their lines and the invoices' levels from rows it has just joined,
    # so the database's per-row foreign-key checks prove nothing new — and on PostgreSQL they
    # run at commit, one lookup per row, several seconds for a million lines. These keys are
    # therefore not declared to the database (db_constraint=False); Django still applies
    # on_delete (CASCADE, PROTECT) when rows are deleted through it.
    # run and customer need no index of their own: the unique (run, customer, currency) and the
    # (customer, currency, as_of) indexes lead with them.
    run = models.ForeignKey(
        DunningRun, on_delete=models.CASCADE, related_name="actions", db_constraint=False, db_index=False
    )
    as_of = models.DateField(_("as of"))  # the run's date, kept here for "days since previous"
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="dunning_actions",
        db_constraint=False,
        db_index=False,
    )
    currency = models.CharField(_("currency"), max_length=3)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="actions", db_constraint=False)
    policy_version = models.PositiveIntegerField(_("policy version"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="actions", db_constraint=False)
    stage_position = models.PositiveSmallIntegerField(_("stage position"))
    amount_minor = models.BigIntegerField(_("amount due (minor units)"))
    invoice_count = models.PositiveIntegerField(_("invoices"))
    max_days_overdue = models.IntegerField(_("days overdue (most)"))

    class Meta:
        verbose_name = _("dunning action")
        verbose_name_plural = _("dunning actions")
        ordering = ["-as_of", "customer_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "customer", "currency"], name="action_once_per_run"),
        ]
        indexes = [models.Index(fields=["customer", "currency", "as_of"])]

    def __str__(self) -> str:
        return f"{self.as_of} {self.customer_id} {self.currency} #{self.stage_position}"


class DunningActionInvoice(models.Model):
    """An invoice an action is about, with its state on the day: the evidence of why.

    Keyed by action and invoice, with no id of its own: the run writes a million of these, and
    each one then costs one index entry, in action order, and no sequence number.
    """

    pk = models.CompositePrimaryKey("action_id", "invoice_id")
    # Not declared to the database, as on DunningAction: the run writes these from a join. The
    # key, which begins with the action, is its index.
    action = models.ForeignKey(
        DunningAction,
        on_delete=models.CASCADE,
        related_name="invoice_lines",
        db_constraint=False,
        db_index=False,
    )
    # Read through the action; no index of its own, so that a run writing a million lines in
    # action order appends to one index only (where an invoice stands is InvoiceDunningLevel).
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="dunning_lines", db_index=False, db_constraint=False
    )
    open_minor = models.BigIntegerField(_("open (minor units)"))
    days_overdue = models.IntegerField(_("days overdue"))
    # The stage position this invoice reached with this action.
    level = models.PositiveSmallIntegerField(_("level"))

    class Meta:
        verbose_name = _("dunned invoice")
        verbose_name_plural = _("dunned invoices")


class RowidOneToOneField(models.OneToOneField):
    """A one-to-one primary key that SQLite stores as the table's rowid (declared ``integer``).

    The table is then one B-tree instead of a table plus an index, which halves what the run
    writes when it moves a million invoices up the ladder. PostgreSQL keeps ``bigint``.
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)


class InvoiceDunningLevel(models.Model):
    """Where each invoice stands on the ladder: the engine's memory between runs.

    Written by the run for every invoice it moves; may also be set by hand, or when moving from
    another system, so that debts already reminded elsewhere continue where they were.
    """

    # Not declared to the database, as on DunningAction: the run writes levels from a join.
    invoice = RowidOneToOneField(
        Invoice, on_delete=models.CASCADE, primary_key=True, related_name="dunning_level", db_constraint=False
    )
    level = models.PositiveSmallIntegerField(_("level"))
    level_date = models.DateField(_("reached on"))

    class Meta:
        verbose_name = _("invoice dunning level")
        verbose_name_plural = _("invoice dunning levels")


class CreditHold(models.Model):
    """Supply stopped or limited for a customer until its overdue balance is cleared (PLAYBOOK §3.5)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_holds")
    kind = models.CharField(_("kind"), max_length=8, choices=HoldKind.choices)
    currency = models.CharField(_("currency"), max_length=3)
    # LIMITED: the most that may be supplied on credit while the hold lasts.
    cap_minor = models.BigIntegerField(_("cap (minor units)"), null=True, blank=True)
    placed_date = models.DateField(_("placed on"))
    released_date = models.DateField(_("released on"), null=True, blank=True)
    action = models.OneToOneField(
        DunningAction, on_delete=models.SET_NULL, null=True, blank=True, related_name="credit_hold"
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("credit hold")
        verbose_name_plural = _("credit holds")
        ordering = ["-placed_date"]
        indexes = [models.Index(fields=["customer", "released_date"])]


class InterestRule(models.TextChoices):
    NONE = "NONE", _("no interest")
    CONTRACT = "CONTRACT", _("contractual rate")
    UK_LATE_PAYMENT = "uk-late-payment", _("UK Late Payment Act 1998")
    EU_LATE_PAYMENT = "eu-late-payment", _("EU Directive 2011/7/EU")
    CN_LPR = "cn-lpr", _("China: one-year LPR plus markup")
    CN_SME_DAILY = "cn-sme-daily", _("China: 0.05 % per day (SME payment regulation)")


class DayCount(models.TextChoices):
    ACT_365 = "ACT/365", _("actual/365")
    ACT_360 = "ACT/360", _("actual/360")


class ContractTerms(TimestampedModel):
    """What the contract with a customer says about fees and late-payment interest (PLAYBOOK §1, §7)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="contract_terms")
    # Fee per stage: blank kind means "as the stage says".
    fee_kind = models.CharField(_("fee"), max_length=12, choices=FeeKind.choices, blank=True)
    fee_value = models.CharField(_("fee value"), max_length=20, blank=True)
    interest_rule = models.CharField(
        _("interest rule"), max_length=20, choices=InterestRule.choices, default=InterestRule.NONE
    )
    # CONTRACT: annual percent ("12"); cn-lpr: markup as a fraction ("0.5" = +50 %); eu: the
    # country whose margin applies (DE 9, FR 10, otherwise 8 points).
    annual_rate = models.CharField(_("annual rate (%)"), max_length=20, blank=True)
    lpr_markup = models.CharField(_("LPR markup"), max_length=20, blank=True)
    eu_country = models.CharField(_("EU country"), max_length=2, blank=True)
    day_count = models.CharField(
        _("day count"), max_length=8, choices=DayCount.choices, default=DayCount.ACT_365
    )
    grace_days = models.PositiveIntegerField(_("grace days"), default=0)
    compound_monthly = models.BooleanField(_("compound monthly"), default=False)

    class Meta:
        verbose_name = _("contract terms")
        verbose_name_plural = _("contract terms")


class RateSeries(models.TextChoices):
    BOE_BASE = "BOE_BASE", _("Bank of England base rate")
    ECB_MRO = "ECB_MRO", _("ECB main refinancing rate")
    CN_LPR_1Y = "CN_LPR_1Y", _("China one-year loan prime rate")


class ReferenceRate(models.Model):
    """A published reference rate in force from a date: dated data the user can update."""

    series = models.CharField(_("series"), max_length=16, choices=RateSeries.choices)
    effective_date = models.DateField(_("in force from"))
    rate_percent = models.CharField(_("rate (%)"), max_length=20)  # decimal text, e.g. "5.25"
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("reference rate")
        verbose_name_plural = _("reference rates")
        ordering = ["series", "effective_date"]
        constraints = [
            models.UniqueConstraint(fields=["series", "effective_date"], name="reference_rate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.effective_date} {self.rate_percent}%"


class ChargeKind(models.TextChoices):
    FEE = "FEE", _("dunning fee")
    INTEREST = "INTEREST", _("late-payment interest")
    COMPENSATION = "COMPENSATION", _("fixed compensation")


class Charge(models.Model):
    """A fee, interest or compensation claimed from a customer; the invoice itself never changes."""

    kind = models.CharField(_("kind"), max_length=12, choices=ChargeKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="charges")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="charges"
    )
    action = models.ForeignKey(
        DunningAction, on_delete=models.SET_NULL, null=True, blank=True, related_name="charges"
    )
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    charge_date = models.DateField(_("date"))
    rule = models.CharField(_("rule"), max_length=20, blank=True)
    # The computation behind an interest charge (periods, rates, days), kept as evidence.
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    waived_at = models.DateTimeField(_("waived at"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    waive_reason = models.CharField(_("waiver reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        ordering = ["-charge_date"]
        indexes = [models.Index(fields=["customer", "kind"]), models.Index(fields=["invoice", "kind"])]
