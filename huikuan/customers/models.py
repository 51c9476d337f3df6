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
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.B)
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
    personality = models.CharField(_("personality"), max_length=12, choices=Personality.choices, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["customer_id", "-is_primary", "name"]

    def __str__(self) -> str:
        return self.name
