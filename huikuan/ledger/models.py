"""The receivables ledger: invoices, payments, allocations and adjustments.

Amounts are integer minor units (``*_minor``) of the row's ``currency``. ``Invoice.open_minor``,
``Invoice.status``, ``Invoice.settled_date`` and ``Payment.unapplied_minor`` are derived from
allocations and adjustments and kept current by the services in ``ledger/services.py`` only.
Allocations and adjustments are never edited or deleted: an un-allocation is a reversing row
dated the day it happened, so a past aging re-run later gives the same answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huikuan.customers.models import Customer


class InvoiceStatus(models.TextChoices):
    OPEN = "OPEN", _("open")
    PARTIALLY_PAID = "PARTIALLY_PAID", _("partially paid")
    PAID = "PAID", _("paid")
    WRITTEN_OFF = "WRITTEN_OFF", _("written off")
    CANCELLED = "CANCELLED", _("cancelled")


class Invoice(models.Model):
    number = models.CharField(_("invoice number"), max_length=64, unique=True)
    # Indexed by the composite index that starts with it (Meta.indexes): one index less to write.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices", db_index=False)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Derived: amount less allocations and adjustments to date. Maintained by ledger services.
    open_minor = models.BigIntegerField(_("open amount (minor units)"))
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    # Derived: the latest settlement date once nothing is open, so as-of aging can skip
    # invoices settled before the date without summing their history.
    settled_date = models.DateField(_("settled date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    po_number = models.CharField(_("PO / contract reference"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["due_date", "number"]
        indexes = [
            models.Index(fields=["customer", "currency", "due_date"]),
            models.Index(fields=["status", "due_date"]),
            # Sales per day for DSO, read from the index alone.
            models.Index(fields=["issue_date", "currency", "amount_minor"], name="invoice_sales_by_day"),
            # Aging reads every open invoice from this index alone, already in customer order, so
            # grouping needs no sort. settled_date is listed so that SQLite sees the index covers
            # the query's condition (it is always NULL here).
            models.Index(
                fields=["customer", "currency", "due_date", "open_minor", "issue_date", "settled_date"],
                condition=models.Q(settled_date__isnull=True),
                name="invoice_open_for_aging",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "BANK_TRANSFER", _("bank transfer")
    CASH = "CASH", _("cash")
    CHEQUE = "CHEQUE", _("cheque")
    BANK_ACCEPTANCE_BILL = "BANK_ACCEPTANCE_BILL", _("bank acceptance bill (承兑汇票)")
    CARD = "CARD", _("card")
    OTHER = "OTHER", _("other")


class Payment(models.Model):
    # Indexed by the composite index that starts with it (Meta.indexes): one index less to write.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments", db_index=False)
    received_date = models.DateField(_("received date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    # Derived: what no allocation uses yet; money held on account.
    unapplied_minor = models.BigIntegerField(_("unapplied (minor units)"))
    method = models.CharField(
        _("method"), max_length=24, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    payer_name = models.CharField(_("payer name"), max_length=255, blank=True)
    # The source system's id, when it has one; re-imports match on it.
    external_id = models.CharField(_("payment id"), max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "currency", "received_date"]),
            models.Index(fields=["received_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.received_date} {self.amount_minor} {self.currency}"


class Allocation(models.Model):
    """Part of a payment applied to an invoice. A negative row reverses an earlier one."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    # Indexed by the composite index that starts with it (Meta.indexes): one index less to write.
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations", db_index=False)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    allocation_date = models.DateField(_("allocation date"))
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        indexes = [
            models.Index(fields=["invoice", "allocation_date"]),
            # A past date's aging reads only what was allocated after it.
            models.Index(fields=["allocation_date", "invoice", "amount_minor"], name="allocation_by_date"),
        ]


class AdjustmentKind(models.TextChoices):
    CREDIT_NOTE = "CREDIT_NOTE", _("credit note")
    WRITE_OFF = "WRITE_OFF", _("write-off")
    CANCELLATION = "CANCELLATION", _("cancellation")


class InvoiceAdjustment(models.Model):
    """A credit note, write-off or cancellation: reduces an invoice's open amount from its date."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(_("kind"), max_length=16, choices=AdjustmentKind.choices)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    adjustment_date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=500)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit note or write-off")
        verbose_name_plural = _("credit notes and write-offs")
        indexes = [
            models.Index(fields=["invoice", "adjustment_date"]),
            models.Index(fields=["adjustment_date", "invoice", "amount_minor"], name="adjustment_by_date"),
        ]


class ShortPayment(models.Model):
    """A payment left an invoice it was applied to partly unpaid (PLAYBOOK 求全责备).

    Later the collections app turns each one into a task for the customer's collector.
    """

    # Indexed by the unique constraint that starts with it: one index less to write.
    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, related_name="short_payments", db_index=False
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="short_payments")
    currency = models.CharField(_("currency"), max_length=3)
    short_minor = models.BigIntegerField(_("difference (minor units)"))
    event_date = models.DateField(_("date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("short payment")
        verbose_name_plural = _("short payments")
        constraints = [
            models.UniqueConstraint(fields=["payment", "invoice"], name="one_short_payment_per_pair")
        ]


class StatementStatus(models.TextChoices):
    DRAFT = "DRAFT", _("not sent")
    SENT = "SENT", _("sent")
    CONFIRMED = "CONFIRMED", _("confirmed")
    DISPUTED = "DISPUTED", _("disputed")
    NO_REPLY = "NO_REPLY", _("no reply")


class Statement(models.Model):
    """对账单: a customer's account for one month in one currency, and whether they agreed to it.

    The figures are kept as they were when the statement was made, so a confirmed statement
    stays the evidence of what the customer accepted even if the books change later.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="statements")
    currency = models.CharField(_("currency"), max_length=3)
    period_start_date = models.DateField(_("from"))
    period_end_date = models.DateField(_("to"))  # inclusive: the last day of the month
    opening_minor = models.BigIntegerField(_("opening balance (minor units)"))
    closing_minor = models.BigIntegerField(_("closing balance (minor units)"))
    status = models.CharField(
        _("status"), max_length=10, choices=StatementStatus.choices, default=StatementStatus.DRAFT
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    # Who answered for the customer, as they gave their name, and what they said.
    responder_name = models.CharField(_("answered by"), max_length=255, blank=True)
    response_note = models.TextField(_("response"), blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-period_end_date", "customer_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "currency", "period_end_date"], name="one_statement_per_period"
            )
        ]
        indexes = [models.Index(fields=["status", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} {self.period_end_date}"
