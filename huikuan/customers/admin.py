"""Admin for customers and their contacts."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from huikuan.core.money import format_minor
from huikuan.customers.models import Contact, Customer


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = (
        "role",
        "name",
        "email",
        "phone",
        "preferred_channel",
        "preferred_hours",
        "language",
        "is_primary",
    )


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "code", "name", "country", "currency", "payment_terms_days", "credit_limit", "grade", "status", "collector",
    )  # fmt: skip
    list_filter = ("grade", "status", "country", "currency", "collector")
    search_fields = ("code", "name", "legal_name", "tax_id")
    list_select_related = ("collector",)
    autocomplete_fields = ("collector", "sales_rep")
    inlines = (ContactInline,)
    fieldsets = (
        (None, {"fields": ("code", "name", "legal_name", "tax_id", "country", "language")}),
        (
            _("Credit"),
            {"fields": ("currency", "payment_terms_days", "credit_limit_minor", "grade", "status")},
        ),
        (_("People"), {"fields": ("collector", "sales_rep")}),
        (_("Notes"), {"fields": ("tags", "notes")}),
    )

    @admin.display(description=_("credit limit"), ordering="credit_limit_minor")
    def credit_limit(self, customer: Customer) -> str:
        if customer.credit_limit_minor is None:
            return "—"
        return f"{format_minor(customer.credit_limit_minor, customer.currency)} {customer.currency}"


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ("name", "customer_name", "role", "email", "phone", "preferred_channel", "is_primary")
    list_filter = ("role", "preferred_channel", "is_primary")
    search_fields = ("name", "email", "phone", "customer__code", "customer__name")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)

    @admin.display(description=_("customer"), ordering="customer__code")
    def customer_name(self, contact: Contact) -> str:
        return str(contact.customer)
