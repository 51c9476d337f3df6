"""Bank accounts, the statements imported for them, their lines, and how each credit was matched.

A statement line is kept whatever it is — debits and credits from non-customers too — so the
books can be reconciled with the bank; only customer credits go through matching. A line is
identified within its account by the bank's own reference, else by a hash of its content, so
importing a file again, or another file covering the same days, adds nothing twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.core.models import TimestampedModel


class BankAccount(TimestampedModel):
    """One of the company's own bank accounts, where customers pay."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # IBAN or the bank's account number, without spaces, upper case; matches the statement files.
    account_number = models.CharField(_("account number"), max_length=64, blank=True)
    bic = models.CharField(_("BIC"), max_length=16, blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    # How this bank's CSV/XLSX export is read: {"columns": {"booking_date": "交易日期", ...},
    # "date_format": "%Y%m%d", "encoding": "gbk", ...} (see huikuan.banking.parsing.tabular).
    csv_mapping = models.JSONField(_("CSV/XLSX column mapping"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["account_number"],
                condition=~models.Q(account_number=""),
                name="bank_account_number_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class BankStatement(models.Model):
    """One statement as the bank sent it: its period and balances, and where it came from."""

    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="statements")
    format = models.CharField(_("format"), max_length=12)
    identification = models.CharField(_("statement id"), max_length=140, blank=True)
    file_name = models.CharField(_("file"), max_length=255, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64)
    currency = models.CharField(_("currency"), max_length=3)
    period_start = models.DateField(_("from"), null=True, blank=True)
    period_end = models.DateField(_("to"), null=True, blank=True)
    opening_minor = models.BigIntegerField(_("opening balance (minor units)"), null=True, blank=True)
    closing_minor = models.BigIntegerField(_("closing balance (minor units)"), null=True, blank=True)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    new_line_count = models.PositiveIntegerField(_("new lines"), default=0)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        indexes = [models.Index(fields=["account", "period_end"])]

    def __str__(self) -> str:
        return f"{self.account} {self.identification or self.period_end or ''}".strip()


class LineStatus(models.TextChoices):
    NEW = "NEW", _("not matched yet")
    REVIEW = "REVIEW", _("waiting for review")
    APPLIED = "APPLIED", _("applied")
    UNMATCHED = "UNMATCHED", _("unapplied cash")
    EXCLUDED = "EXCLUDED", _("not a customer payment")


class BankStatementLine(models.Model):
    """One booked transaction. ``amount_minor`` is signed: credits positive, debits negative."""

    # Indexed by the unique constraint that starts with it: one index less to write.
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="lines", db_index=False)
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    # The bank's reference where it gives one ("ref:..."), else a content hash ("sha:...").
    identity = models.CharField(_("line identity"), max_length=120)
    booking_date = models.DateField(_("booking date"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    counterparty_name = models.CharField(_("payer or payee"), max_length=200, blank=True)
    counterparty_account = models.CharField(_("their account"), max_length=64, blank=True)
    remittance = models.TextField(_("remittance information"), blank=True)
    structured_reference = models.CharField(_("structured reference"), max_length=140, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=140, blank=True)
    end_to_end_id = models.CharField(_("end-to-end id"), max_length=140, blank=True)
    transaction_code = models.CharField(_("transaction code"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=LineStatus.choices, default=LineStatus.NEW)
    # Who paid, once known (matched, accepted, or assigned by hand), and the payment recorded.
    # Indexed where set (Meta.indexes: bank_line_customer); a full index would hold every unmatched line too.
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bank_lines",
        db_index=False,
    )
    payment = models.OneToOneField(
        "ledger.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="bank_line"
    )
    # Unapplied cash is on a list someone owns (HUIKUAN_BANK_UNMATCHED_OWNER, else nobody yet).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    matched_at = models.DateTimeField(_("matched at"), null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("bank statement line")
        verbose_name_plural = _("bank statement lines")
        constraints = [
            models.UniqueConstraint(fields=["account", "identity"], name="bank_line_identity_unique")
        ]
        indexes = [
            models.Index(fields=["status", "booking_date"]),
            models.Index(
                fields=["customer"], condition=models.Q(customer__isnull=False), name="bank_line_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount_minor} {self.currency}"


class MatchProposal(models.Model):
    """What matching proposes for a credit: a customer, the invoices, how sure, and why.

    Above the threshold (HUIKUAN_BANK_AUTO_APPLY_CONFIDENCE) it is applied at once; below, it
    waits for a person to accept, change, split or leave the money on account.
    """

    line = models.OneToOneField(BankStatementLine, on_delete=models.CASCADE, related_name="proposal")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    # [{"number": "INV-1", "amount": "100.00"}, ...] in the order the money goes to them.
    invoices = models.JSONField(_("invoices"), default=list, blank=True)
    confidence = models.PositiveSmallIntegerField(_("confidence (%)"))
    # ["invoice number INV-1 in the remittance text", "amount equals the open amount", ...]
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("match proposal")
        verbose_name_plural = _("match proposals")


class PayerAliasKind(models.TextChoices):
    ACCOUNT = "ACCOUNT", _("bank account")
    NAME = "NAME", _("payer name")


class PayerAlias(models.Model):
    """A payer's account or name that has paid for a customer before (learned from confirmed matches)."""

    kind = models.CharField(_("kind"), max_length=8, choices=PayerAliasKind.choices)
    value = models.CharField(_("value"), max_length=200)  # normalised: see banking.matching
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="payer_aliases")
    confirmations = models.PositiveIntegerField(_("confirmed matches"), default=1)
    last_confirmed_at = models.DateTimeField(_("last confirmed"), auto_now=True)

    class Meta:
        verbose_name = _("payer alias")
        verbose_name_plural = _("payer aliases")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value", "customer"], name="payer_alias_unique")
        ]
        # Looked up by (kind, value): the unique constraint's index starts with them.
