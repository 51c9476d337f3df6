"""Admin pages of the outbox: what was sent, to whom, and why something was not."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from huikuan.messaging.models import OutboxMessage, OutboxStatus, Template
from huikuan.messaging.rendering import TemplateInvalid, template_validate
from huikuan.messaging.services import outbox_approve, outbox_cancel


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id", "status", "channel", "customer", "template_key", "recipient", "not_before_at", "attempts", "sent_at",
    )  # fmt: skip
    list_filter = ("status", "channel", "template_key")
    search_fields = ("customer__code", "customer__name", "recipient", "message_id", "idempotency_key")
    list_select_related = ("customer",)
    date_hierarchy = "created_at"
    actions = ("approve", "cancel")
    # The outbox is evidence: what was sent is read, never edited here.
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Approve the selected messages"))
    def approve(self, request: Any, queryset: Any) -> None:
        ids = list(queryset.filter(status=OutboxStatus.AWAITING_APPROVAL).values_list("id", flat=True))
        if not ids:
            self.message_user(request, _("None of the selected messages awaits approval."), messages.WARNING)
            return
        change = outbox_approve(message_ids=ids, user=request.user)
        self.message_user(
            request,
            ngettext("%(n)d message approved.", "%(n)d messages approved.", len(change.changed))
            % {"n": len(change.changed)},
        )

    @admin.action(description=_("Cancel the selected messages"))
    def cancel(self, request: Any, queryset: Any) -> None:
        ids = list(
            queryset.filter(status__in=[OutboxStatus.QUEUED, OutboxStatus.AWAITING_APPROVAL]).values_list(
                "id", flat=True
            )
        )
        if not ids:
            self.message_user(
                request, _("None of the selected messages can still be cancelled."), messages.WARNING
            )
            return
        change = outbox_cancel(message_ids=ids, user=request.user)
        self.message_user(
            request,
            ngettext("%(n)d message cancelled.", "%(n)d messages cancelled.", len(change.changed))
            % {"n": len(change.changed)},
        )


# --- message templates: edited here, checked before saving ----------------------------------------

_TEMPLATE_PARTS = ("subject", "body_text", "body_html")


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ("key", "channel", "language", "subject", "body_text", "body_html")

    def clean(self) -> dict[str, Any]:
        """Refuse a template that would not render, naming the part and the line."""
        cleaned = super().clean() or {}
        for name in _TEMPLATE_PARTS:
            try:
                template_validate(text=cleaned.get(name) or "", html=name == "body_html")
            except TemplateInvalid as error:
                self.add_error(name, error.message)
        return cleaned


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ("key", "channel", "language", "subject", "is_shipped_default", "updated_at")
    list_filter = ("channel", "language", "is_shipped_default")
    search_fields = ("key", "subject", "body_text")
    readonly_fields = ("is_shipped_default", "created_at", "updated_at")

    def save_model(self, request: Any, obj: Template, form: Any, change: bool) -> None:
        # An edited default is the user's own from now on: upgrades no longer overwrite it.
        if not change or any(name in form.changed_data for name in _TEMPLATE_PARTS):
            obj.is_shipped_default = False
        super().save_model(request, obj, form, change)
