"""Admin pages of the insights area: the script library, and the classifications as a record."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from huikuan.insights.models import ClassificationRun, DebtorClassification, Script
from huikuan.insights.scripts import LANGUAGES, VARIABLES, ScriptInvalid, script_validate


class ScriptAdminForm(forms.ModelForm):
    class Meta:
        model = Script
        fields = ("debtor_type", "personality", "language", "title", "body")
        help_texts = {
            "body": _("Variables: %(names)s") % {"names": ", ".join(f"{{{{ {n} }}}}" for n in VARIABLES)}
        }

    def clean_language(self) -> str:
        language = self.cleaned_data["language"]
        if language not in LANGUAGES:
            raise ValidationError(
                _("Scripts are written in %(languages)s.") % {"languages": ", ".join(LANGUAGES)}
            )
        return str(language)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        try:
            script_validate(body)
        except ScriptInvalid as error:
            raise ValidationError(error.message)
        return str(body)


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    form = ScriptAdminForm
    list_display = ("title", "debtor_type", "personality", "language", "is_shipped_default", "updated_at")
    list_filter = ("debtor_type", "personality", "language", "is_shipped_default")
    search_fields = ("title", "body")

    def save_model(self, request: Any, obj: Script, form: Any, change: bool) -> None:
        obj.is_shipped_default = False
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(DebtorClassification)
class DebtorClassificationAdmin(admin.ModelAdmin):
    list_display = ("customer", "debtor_type", "confidence", "source", "as_of", "is_current", "decided_by")
    list_filter = ("debtor_type", "source", "is_current")
    search_fields = ("customer__code", "customer__name")
    list_select_related = ("customer", "decided_by")
    # A judgement is a record: confirmed or corrected from the customer page, never edited here.
    readonly_fields = [field.name for field in DebtorClassification._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(ClassificationRun)
class ClassificationRunAdmin(admin.ModelAdmin):
    list_display = (
        "as_of",
        "started_at",
        "finished_at",
        "customers",
        "written",
        "kept_judgements",
        "retired",
    )
    readonly_fields = [field.name for field in ClassificationRun._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False
