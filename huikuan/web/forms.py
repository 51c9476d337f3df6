"""Forms that parse the pages' query strings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huikuan.customers.models import Grade

ISO_DATE = "%Y-%m-%d"


class AgingForm(forms.Form):
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        input_formats=[ISO_DATE, "%Y/%m/%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
    )


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("all grades")), *Grade.choices]
    )


class WorklistForm(forms.Form):
    """The worklist's filters (query string)."""

    kind = forms.ChoiceField(label=_("Kind of work"), required=False)
    q = forms.CharField(label=_("Customer"), required=False, max_length=100)
    everyone = forms.BooleanField(label=_("Include colleagues' work"), required=False)
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        input_formats=[ISO_DATE],
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
    )

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("all kinds of work")), *kinds]


class IdListField(forms.Field):
    """Several record ids from repeated form fields (checkboxes); the view checks who reaches them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(item) for item in value})
        except (TypeError, ValueError):
            raise forms.ValidationError(_("That selection is not valid."), code="invalid")


class MessagesActionForm(forms.Form):
    """Approve or skip several messages awaiting approval at once."""

    APPROVE = "approve"
    SKIP = "skip"

    message = IdListField(error_messages={"required": _("Select at least one message.")})
    action = forms.ChoiceField(choices=[(APPROVE, _("Approve")), (SKIP, _("Skip"))])


class TaskSkipForm(forms.Form):
    reason = forms.CharField(label=_("Why skip it"), required=False, max_length=500)
