"""Customers and their contacts: who owes, and whom to talk to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel


class Grade(models.TextChoices):
    A = "A", _("A · premium (优质)")
    B = "B", _("B · normal (正常)")
    C = "C", _("C · watch (关注)")
    D = "D", _("D · high risk (高风险)")


class CustomerStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("active")
    HOLD = "HOLD", _("on credit hold")
    LEGAL = "LEGAL", _("with legal")
    CLOSED = "CLOSED", _("closed")


class Customer(TimestampedModel):
    # The user's own key from their ERP; imports and the API address customers by it.
    code = models.CharField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=255)
    legal_name = models.CharField(_("legal name"), max_length=255, blank=True)
    # 统一社会信用代码 in China, VAT number elsewhere.
    tax_id = models.CharField(_("tax id"), max_length=64, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 alpha-2"))
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    currency = models.CharField(_("default currency"), max_length=3, default="CNY")
    payment_terms_days = models.PositiveIntegerField(_("payment terms (days)"), default=30)
    # In minor units of the default currency; null means no limit has been set.
    credit_limit_minor = models.BigIntegerField(_("credit limit (minor units)"), null=True, blank=True)
    # The grade in force: a manager's override while it lasts, else the latest rating's grade.
    # Dunning picks the customer's policy by it.
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.B)
    # Written by the credit rating run: its latest score and grade (blank/null until rated).
    credit_score = models.PositiveSmallIntegerField(_("credit score"), null=True, blank=True)
    rated_grade = models.CharField(
        _("rated grade"), max_length=1, choices=Grade.choices, blank=True, default="", db_default=""
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("collector"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="collected_customers",
    )
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales rep"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sold_customers",
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Set when the customer asked not to be contacted (or a lawyer said so): dunning skips them.
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    # IANA zone for send windows; blank means the country's usual zone, else the company's.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["code"]
        indexes = [models.Index(fields=["collector"]), models.Index(fields=["grade"])]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ContactRole(models.TextChoices):
    BUSINESS = "BUSINESS", _("business")
    FINANCE = "FINANCE", _("finance")
    OWNER = "OWNER", _("owner")
    LEGAL = "LEGAL", _("legal")


class Channel(models.TextChoices):
    EMAIL = "EMAIL", _("e-mail")
    SMS = "SMS", _("SMS")
    PHONE = "PHONE", _("phone")
    LETTER = "LETTER", _("letter")


class Personality(models.TextChoices):
    """How a contact negotiates (PLAYBOOK §5): it picks the script a collector is shown."""

    HARD_LINE = "hard_line", _("hard-line")
    SCHEMING = "scheming", _("scheming")
    COOPERATIVE = "cooperative", _("cooperative")


class Contact(TimestampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    role = models.CharField(
        _("role"), max_length=10, choices=ContactRole.choices, default=ContactRole.FINANCE
    )
    name = models.CharField(_("name"), max_length=255)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL
    )
    # Free text such as "09:00-11:30": the playbook's best hours are mornings (PLAYBOOK §6).
    preferred_hours = models.CharField(_("preferred hours"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    # Set by delivery when a provider rejects the address for good (bounce, unknown number):
    # dunning stops using it until someone corrects it.
    email_failed_at = models.DateTimeField(_("e-mail failed at"), null=True, blank=True)
    phone_failed_at = models.DateTimeField(_("phone failed at"), null=True, blank=True)
    delivery_failure = models.CharField(_("delivery failure"), max_length=500, blank=True)
    # Tagged by collectors; blank until someone has judged it.
    # A database default too: the customer import writes contacts with plain INSERTs.
    personality = models.CharField(
        _("personality"), max_length=12, choices=Personality.choices, blank=True, default="", db_default=""
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer_id", "-is_primary", "name"]

    def __str__(self) -> str:
        return self.name


# --- credit control (PLAYBOOK §1, §2) ------------------------------------------------------------


class RatingKind(models.TextChoices):
    SCHEDULED = "scheduled", _("scheduled")
    MANUAL = "manual", _("manual")


class CreditRun(models.Model):
    """One re-rating of every customer: the scheduled run looks here to know whether it is due."""

    as_of = models.DateField(_("as of"))
    kind = models.CharField(_("kind"), max_length=10, choices=RatingKind.choices)
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    customers_rated = models.PositiveIntegerField(_("customers rated"), default=0)
    grades_changed = models.PositiveIntegerField(_("grades changed"), default=0)
    warnings_raised = models.PositiveIntegerField(_("warnings raised"), default=0)
    triggered_by = models.CharField(_("triggered by"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("credit rating run")
        verbose_name_plural = _("credit rating runs")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["kind", "as_of"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.as_of}"


class CreditRating(models.Model):
    """A customer's score and grade on a date, with the figures and effects that made it."""

    # Written in bulk by the run, as the dunning run writes its actions: the key is not declared
    # to the database so that 100,000 inserts do not pay 100,000 lookups at commit.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="credit_ratings", db_constraint=False, db_index=False
    )
    run = models.ForeignKey(
        CreditRun,
        on_delete=models.CASCADE,
        related_name="ratings",
        null=True,
        blank=True,
        db_constraint=False,
    )
    as_of = models.DateField(_("as of"))
    kind = models.CharField(_("kind"), max_length=10, choices=RatingKind.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    previous_grade = models.CharField(_("previous grade"), max_length=1, blank=True)
    # [{"key": "on_time_share", "value": 0.82, "effect": 1.0}, ...]: "why this grade".
    factors = models.JSONField(_("factors"), default=list)
    # The aggregated figures the score was computed from, as read that day.
    inputs = models.JSONField(_("inputs"), default=dict)
    suggested_limit_minor = models.BigIntegerField(_("suggested limit (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit rating")
        verbose_name_plural = _("credit ratings")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["customer", "-as_of", "-id"], name="credit_rating_latest")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.as_of} {self.grade} {self.score}"


class CreditOverride(models.Model):
    """A manager's grade for a customer, with a reason, until a date; it outranks the computed grade."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_overrides")
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    reason = models.CharField(_("reason"), max_length=500)
    until = models.DateField(_("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Set when a later override replaces it or someone ends it early.
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit grade override")
        verbose_name_plural = _("credit grade overrides")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "until"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.grade} until {self.until}"


class OrderStatus(models.TextChoices):
    OPEN = "OPEN", _("not yet invoiced")
    INVOICED = "INVOICED", _("invoiced")
    CANCELLED = "CANCELLED", _("cancelled")


class Order(TimestampedModel):
    """A sales order not yet invoiced: it counts towards exposure until it is (PLAYBOOK §1)."""

    number = models.CharField(_("order number"), max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    order_date = models.DateField(_("order date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.OPEN
    )
    description = models.CharField(_("description"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-order_date", "number"]
        indexes = [models.Index(fields=["customer", "status", "order_date"])]

    def __str__(self) -> str:
        return self.number


class WarningCause(models.TextChoices):
    PAYMENTS_SLOWING = "payments_slowing", _("payments slowing")
    ORDERS_FALLING = "orders_falling", _("order volume falling")
    PROMISES_BROKEN = "promises_broken", _("promises broken")
    SHORT_PAYMENTS = "short_payments", _("short payments")
    UNREACHABLE = "unreachable", _("contact unreachable")
    STATEMENTS_UNANSWERED = "statements_unanswered", _("statements unanswered")
    DOWNGRADE = "downgrade", _("grade lowered")


class CreditWarning(models.Model):
    """预警: a cause that stands for a customer; one task is raised when it starts, none while it lasts."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credit_warnings")
    cause = models.CharField(_("cause"), max_length=24, choices=WarningCause.choices)
    raised_on = models.DateField(_("raised on"))
    # Set by the first run that no longer finds the cause; a later return raises a new warning.
    cleared_on = models.DateField(_("cleared on"), null=True, blank=True)
    evidence = models.JSONField(_("evidence"), default=list)
    task = models.ForeignKey(
        "collections.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("early warning")
        verbose_name_plural = _("early warnings")
        ordering = ["-raised_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "cause"],
                condition=models.Q(cleared_on__isnull=True),
                name="credit_warning_once_while_standing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.cause} {self.raised_on}"
