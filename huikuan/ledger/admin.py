"""Admin for the ledger.

New invoices and payments go through the ledger services (so a payment is allocated by the
same rule as everywhere else); derived balances and the history rows (allocations,
adjustments, short payments) are read-only here, since corrections are reversing entries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from huikuan.core.money import (
    Money,
    TooManyDecimals,
    UnknownCurrency,
    exponent,
    format_minor,
    normalise_currency,
    to_minor,
)
from huikuan.ledger.models import Allocation, Invoice, InvoiceAdjustment, Payment, ShortPayment
from huikuan.ledger.services import invoice_issue, payment_record


def _money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else f"{format_minor(minor, currency)} {currency}"


class _NewAmountForm(forms.ModelForm):
    """Takes the amount as a decimal in the currency's major unit, as a clerk would type it."""

    amount = forms.DecimalField(label=_("amount"), max_digits=22, decimal_places=6)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            currency = normalise_currency(cleaned.get("currency") or "")
        except UnknownCurrency:
            self.add_error("currency", _("Unknown currency: use an ISO 4217 code such as CNY or USD."))
            return cleaned
        cleaned["currency"] = currency
        self.instance.currency = currency
        amount: Decimal | None = cleaned.get("amount")
        if amount is None:
            return cleaned
        try:
            self.amount_minor = to_minor(amount, currency, exact=True)
        except TooManyDecimals:
            self.add_error(
                "amount",
                _("%(currency)s amounts have at most %(places)d decimal places.")
                % {"currency": currency, "places": exponent(currency)},
            )
            return cleaned
        if self.amount_minor <= 0:
            self.add_error("amount", _("The amount must be greater than zero."))
        return cleaned


class InvoiceAddForm(_NewAmountForm):
    class Meta:
        model = Invoice
        fields = ("number", "customer", "issue_date", "due_date", "currency", "description", "po_number")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        issue, due = cleaned.get("issue_date"), cleaned.get("due_date")
        if issue and due and due < issue:
            self.add_error("due_date", _("The due date cannot be before the issue date."))
        return cleaned


class PaymentAddForm(_NewAmountForm):
    invoice_numbers = forms.CharField(
        label=_("invoice numbers"),
        required=False,
        help_text=_("Invoices this payment is for, separated by ';'. They are settled first."),
    )

    class Meta:
        model = Payment
        fields = ("customer", "received_date", "currency", "method", "reference", "payer_name", "external_id")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InvoiceAllocationInline(_ReadOnlyInline):
    model = Allocation
    fk_name = "invoice"
    fields = ("payment", "allocation_date", "amount_minor", "reverses")


class InvoiceAdjustmentInline(_ReadOnlyInline):
    model = InvoiceAdjustment
    fields = ("kind", "adjustment_date", "amount_minor", "reason", "reference")


class PaymentAllocationInline(_ReadOnlyInline):
    model = Allocation
    fk_name = "payment"
    fields = ("invoice", "allocation_date", "amount_minor", "reverses")


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = (
        "number", "customer_name", "issue_date", "due_date", "amount", "open_amount", "status", "settled_date",
    )  # fmt: skip
    list_filter = ("status", "currency")
    search_fields = ("number", "customer__code", "customer__name", "po_number")
    list_select_related = ("customer",)
    date_hierarchy = "due_date"
    autocomplete_fields = ("customer",)
    # Derived from allocations and adjustments by the ledger services; never typed in.
    readonly_fields = ("amount", "open_amount", "status", "settled_date", "created_at", "updated_at")
    inlines = (InvoiceAllocationInline, InvoiceAdjustmentInline)

    @admin.display(description=_("customer"), ordering="customer__code")
    def customer_name(self, invoice: Invoice) -> str:
        return str(invoice.customer)

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, invoice: Invoice) -> str:
        return _money(invoice.amount_minor, invoice.currency)

    @admin.display(description=_("open amount"), ordering="open_minor")
    def open_amount(self, invoice: Invoice) -> str:
        return _money(invoice.open_minor, invoice.currency)

    def get_form(self, request: HttpRequest, obj: Invoice | None = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = InvoiceAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Invoice | None = None) -> list[Any]:
        if obj is None:
            return [
                "number",
                "customer",
                "issue_date",
                "due_date",
                "currency",
                "amount",
                "description",
                "po_number",
            ]
        return [
            "number", "customer", "issue_date", "due_date", "currency", "amount", "open_amount", "status",
            "settled_date", "description", "po_number", "created_at", "updated_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Invoice | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # The number is other systems' key; customer, currency and amount have history hanging on them.
        return (*self.readonly_fields, "number", "customer", "currency")

    def save_model(self, request: HttpRequest, obj: Invoice, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = invoice_issue(
            customer=obj.customer,
            number=obj.number,
            issue_date=obj.issue_date,
            due_date=obj.due_date,
            amount=Money(form.amount_minor, obj.currency),  # type: ignore[attr-defined]
            description=obj.description,
            po_number=obj.po_number,
        )
        obj.pk = issued.pk
        obj.refresh_from_db()


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("received_date", "customer_name", "amount", "unapplied", "method", "reference")
    list_filter = ("currency", "method")
    search_fields = ("reference", "payer_name", "external_id", "customer__code", "customer__name")
    list_select_related = ("customer",)
    date_hierarchy = "received_date"
    autocomplete_fields = ("customer",)
    readonly_fields = ("amount", "unapplied", "created_at")
    inlines = (PaymentAllocationInline,)

    @admin.display(description=_("customer"), ordering="customer__code")
    def customer_name(self, payment: Payment) -> str:
        return str(payment.customer)

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, payment: Payment) -> str:
        return _money(payment.amount_minor, payment.currency)

    @admin.display(description=_("unapplied"), ordering="unapplied_minor")
    def unapplied(self, payment: Payment) -> str:
        return _money(payment.unapplied_minor, payment.currency)

    def get_form(self, request: HttpRequest, obj: Payment | None = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = PaymentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Payment | None = None) -> list[Any]:
        if obj is None:
            return [
                "customer", "received_date", "currency", "amount", "method", "reference", "payer_name",
                "external_id", "invoice_numbers",
            ]  # fmt: skip
        return [
            "customer", "received_date", "currency", "amount", "unapplied", "method", "reference", "payer_name",
            "external_id", "created_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Payment | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (*self.readonly_fields, "customer", "received_date", "currency")

    def save_model(self, request: HttpRequest, obj: Payment, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        numbers = [n.strip() for n in form.cleaned_data.get("invoice_numbers", "").split(";") if n.strip()]
        recorded = payment_record(
            customer=obj.customer,
            received_date=obj.received_date,
            amount=Money(form.amount_minor, obj.currency),  # type: ignore[attr-defined]
            method=obj.method,
            reference=obj.reference,
            payer_name=obj.payer_name,
            invoice_numbers=numbers,
            external_id=obj.external_id,
        )
        obj.pk = recorded.pk
        obj.refresh_from_db()


class _HistoryAdmin(admin.ModelAdmin):
    """History rows are written by the ledger services only; the admin shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Allocation)
class AllocationAdmin(_HistoryAdmin):
    list_display = ("allocation_date", "invoice", "payment_customer", "amount", "reverses")
    search_fields = ("invoice__number", "payment__reference", "payment__customer__code")
    list_select_related = ("invoice", "payment__customer", "reverses")
    date_hierarchy = "allocation_date"

    @admin.display(description=_("customer"), ordering="payment__customer__code")
    def payment_customer(self, allocation: Allocation) -> str:
        return str(allocation.payment.customer)

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, allocation: Allocation) -> str:
        return _money(allocation.amount_minor, allocation.invoice.currency)


@admin.register(InvoiceAdjustment)
class InvoiceAdjustmentAdmin(_HistoryAdmin):
    list_display = ("adjustment_date", "kind", "invoice", "amount", "reason", "reference", "created_by")
    list_filter = ("kind",)
    search_fields = ("invoice__number", "invoice__customer__code", "reason", "reference")
    list_select_related = ("invoice", "created_by")
    date_hierarchy = "adjustment_date"

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, adjustment: InvoiceAdjustment) -> str:
        return _money(adjustment.amount_minor, adjustment.invoice.currency)


@admin.register(ShortPayment)
class ShortPaymentAdmin(_HistoryAdmin):
    list_display = ("event_date", "invoice", "customer", "short_amount", "payment")
    list_filter = ("currency",)
    search_fields = ("invoice__number", "invoice__customer__code", "invoice__customer__name")
    list_select_related = ("invoice__customer", "payment")
    date_hierarchy = "event_date"

    @admin.display(description=_("customer"), ordering="invoice__customer__code")
    def customer(self, short: ShortPayment) -> str:
        return str(short.invoice.customer)

    @admin.display(description=_("difference"), ordering="short_minor")
    def short_amount(self, short: ShortPayment) -> str:
        return _money(short.short_minor, short.currency)
