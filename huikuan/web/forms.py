"""Forms that parse the pages' query strings."""

from __future__ import annotations

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
