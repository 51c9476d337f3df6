"""Admin for banking.

Bank accounts are kept here (their number normalised as the import compares it). Statements
and their lines come only from imported bank files and change only through matching, so the
admin shows them and changes nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from huikuan.banking.models import BankAccount, BankStatement, BankStatementLine
from huikuan.banking.services import (
    BankAccountInvalid,
    account_number_normalise,
    bank_account_create,
    csv_mapping_check,
)
from huikuan.core.audit import audit_record, audit_snapshot
from huikuan.core.models import AuditAction
from huikuan.core.money import UnknownCurrency, format_minor, normalise_currency


def _money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else f"{format_minor(minor, currency)} {currency}"


class BankAccountForm(forms.ModelForm):
    class Meta:
        model = BankAccount
        fields = ("name", "account_number", "currency", "bank_name", "bic", "csv_mapping", "is_active")

    def clean_account_number(self) -> str:
        return account_number_normalise(self.cleaned_data.get("account_number") or "")

    def clean_bic(self) -> str:
        return account_number_normalise(self.cleaned_data.get("bic") or "")

    def clean_currency(self) -> str:
        try:
            return normalise_currency(self.cleaned_data.get("currency") or "")
        except UnknownCurrency:
            raise forms.ValidationError(
                _("Unknown currency: use an ISO 4217 code such as CNY or EUR.")
            ) from None

    def clean_csv_mapping(self) -> dict[str, Any]:
        mapping = self.cleaned_data.get("csv_mapping")
        if not mapping:
            return {}
        try:
            csv_mapping_check(mapping)
        except BankAccountInvalid as error:
            raise forms.ValidationError(error.message) from None
        return mapping


@admin.register(BankAccount)
class BankAccountAdmin(admin.ModelAdmin):
    form = BankAccountForm
    list_display = ("name", "account_number", "currency", "bank_name", "is_active")
    list_filter = ("currency", "is_active")
    search_fields = ("name", "account_number", "bank_name")

    def get_readonly_fields(self, request: HttpRequest, obj: BankAccount | None = None) -> tuple[str, ...]:
        # Lines already imported are in the account's currency: it cannot change under them.
        if obj is not None and obj.lines.exists():
            return ("currency",)
        return ()

    def save_model(self, request: HttpRequest, obj: BankAccount, form: forms.ModelForm, change: bool) -> None:
        if not change:
            created = bank_account_create(
                name=obj.name,
                account_number=obj.account_number,
                currency=obj.currency,
                bank_name=obj.bank_name,
                bic=obj.bic,
                csv_mapping=obj.csv_mapping,
                actor=request.user,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        before = audit_snapshot(BankAccount.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        audit_record(
            instance=obj,
            action=AuditAction.UPDATE,
            actor=request.user,
            before=before,
            after=audit_snapshot(obj),
        )


class _ImportedAdmin(admin.ModelAdmin):
    """Rows written by the bank import only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BankStatement)
class BankStatementAdmin(_ImportedAdmin):
    list_display = (
        "imported_at",
        "account",
        "identification",
        "period_start",
        "period_end",
        "opening",
        "closing",
        "line_count",
        "new_line_count",
        "file_name",
        "imported_by",
    )
    list_filter = ("account", "format", "currency")
    search_fields = ("identification", "file_name", "file_sha256")
    list_select_related = ("account", "imported_by")
    date_hierarchy = "imported_at"

    @admin.display(description=_("opening balance"), ordering="opening_minor")
    def opening(self, statement: BankStatement) -> str:
        return _money(statement.opening_minor, statement.currency)

    @admin.display(description=_("closing balance"), ordering="closing_minor")
    def closing(self, statement: BankStatement) -> str:
        return _money(statement.closing_minor, statement.currency)


@admin.register(BankStatementLine)
class BankStatementLineAdmin(_ImportedAdmin):
    list_display = (
        "booking_date",
        "account",
        "amount",
        "counterparty_name",
        "remittance_start",
        "status",
        "customer",
        "payment",
    )
    list_filter = ("status", "account", "currency")
    search_fields = (
        "counterparty_name",
        "counterparty_account",
        "remittance",
        "structured_reference",
        "bank_reference",
        "end_to_end_id",
        "identity",
        "customer__code",
    )
    list_select_related = ("account", "customer", "payment")
    date_hierarchy = "booking_date"

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, line: BankStatementLine) -> str:
        return _money(line.amount_minor, line.currency)

    @admin.display(description=_("remittance information"))
    def remittance_start(self, line: BankStatementLine) -> str:
        text = " ".join(line.remittance.split())
        return text if len(text) <= 60 else text[:59] + "…"
