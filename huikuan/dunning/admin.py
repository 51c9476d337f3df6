"""Back-office pages for policies, runs, actions, holds, contract terms, rates and charges."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from huikuan.core.money import from_minor
from huikuan.dunning.models import (
    Charge,
    ContractTerms,
    CreditHold,
    CustomerPolicy,
    DunningAction,
    DunningRun,
    Policy,
    ReferenceRate,
    Stage,
)
from huikuan.dunning.services import credit_hold_release, policy_version_bump


class StageInline(admin.StackedInline):
    model = Stage
    extra = 0
    ordering = ["position"]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "grades", "debtor_types", "version", "is_active"]
    readonly_fields = ["version"]
    inlines = [StageInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change and (form.has_changed() or any(formset.has_changed() for formset in formsets)):
            policy_version_bump(policy=form.instance)


@admin.register(CustomerPolicy)
class CustomerPolicyAdmin(admin.ModelAdmin):
    list_display = ["customer", "policy", "reason"]
    raw_id_fields = ["customer"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the run writes are evidence: shown, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DunningRun)
class DunningRunAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "invoices_considered", "actions_created", "messages_created", "tasks_created",
                    "triggered_by", "finished_at"]  # fmt: skip


@admin.register(DunningAction)
class DunningActionAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "customer", "currency", "stage", "policy_version", "amount_minor", "invoice_count",
                    "max_days_overdue"]  # fmt: skip
    list_filter = ["as_of", "stage__policy", "stage__name"]
    search_fields = ["customer__code", "customer__name"]
    raw_id_fields = ["customer"]
    readonly_fields = ["invoices"]

    @admin.display(description="invoices")
    def invoices(self, action: DunningAction) -> str:
        """The action's invoices as they stood that day (lines have a two-column key: no inline)."""
        lines = action.invoice_lines.select_related("invoice").order_by(
            "invoice__due_date", "invoice__number"
        )
        return format_html_join(
            mark_safe("<br>"),
            "{} · {} · {}",
            ((line.invoice.number, from_minor(line.open_minor, line.invoice.currency), line.days_overdue)
             for line in lines),
        )  # fmt: skip


@admin.register(CreditHold)
class CreditHoldAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "currency", "cap_minor", "placed_date", "released_date", "reason"]
    list_filter = ["kind", "released_date"]
    raw_id_fields = ["customer", "action"]
    actions = ["release"]

    @admin.action(description="Release the selected holds today")
    def release(self, request: HttpRequest, queryset: Any) -> None:
        for hold in queryset.filter(released_date__isnull=True):
            credit_hold_release(hold=hold, on=timezone.localdate())


@admin.register(ContractTerms)
class ContractTermsAdmin(admin.ModelAdmin):
    list_display = ["customer", "interest_rule", "annual_rate", "day_count", "grace_days", "fee_kind"]
    raw_id_fields = ["customer"]


@admin.register(ReferenceRate)
class ReferenceRateAdmin(admin.ModelAdmin):
    list_display = ["series", "effective_date", "rate_percent", "source"]
    list_filter = ["series"]


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = [
        "charge_date",
        "customer",
        "invoice",
        "kind",
        "currency",
        "amount_minor",
        "rule",
        "waived_at",
    ]
    list_filter = ["kind", "rule"]
    raw_id_fields = ["customer", "invoice", "action"]
