"""Forms of the portal pages: they check what the customer typed; the services decide."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from huikuan.collections.models import DisputeReason
from huikuan.core.money import Money, TooManyDecimals, exponent, to_minor

NAME_LABEL = _("Your name")


class StatementConfirmForm(forms.Form):
    name = forms.CharField(label=NAME_LABEL, max_length=255)
    note = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class StatementDisputeForm(forms.Form):
    name = forms.CharField(label=NAME_LABEL, max_length=255)
    note = forms.CharField(
        label=_("What does not match your records?"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=DisputeReason.choices)
    name = forms.CharField(label=NAME_LABEL, max_length=255)
    notes = forms.CharField(
        label=_("Tell us more"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )


class PromiseForm(forms.Form):
    """A date and an amount, for some open invoices or on account; invoices must be the currency's."""

    promised_date = forms.DateField(label=_("We will pay on"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_digits=18, decimal_places=4)
    currency = forms.ChoiceField(label=_("Currency"))
    invoices = forms.MultipleChoiceField(
        label=_("For these invoices"), required=False, widget=forms.CheckboxSelectMultiple
    )
    name = forms.CharField(label=NAME_LABEL, max_length=255)
    notes = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        today: date,
        currencies: Sequence[str],
        invoices: Sequence[tuple[str, str, str]],
        **kwargs: Any,
    ) -> None:
        """``invoices`` are (number, currency, label) of the customer's open invoices."""
        super().__init__(*args, **kwargs)
        self.today = today
        self.invoice_currency = {number: currency for number, currency, _label in invoices}
        cast(forms.ChoiceField, self.fields["currency"]).choices = [(code, code) for code in currencies]
        cast(forms.MultipleChoiceField, self.fields["invoices"]).choices = [
            (number, label) for number, _currency, label in invoices
        ]
        self.fields["promised_date"].widget.attrs["min"] = today.isoformat()

    def clean_promised_date(self) -> date:
        value: date = self.cleaned_data["promised_date"]
        if value < self.today:
            raise forms.ValidationError(_("Choose today or a later day."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency, amount = data.get("currency"), data.get("amount")
        if currency and amount is not None:
            try:
                data["money"] = Money(to_minor(amount, currency, exact=True), currency)
            except TooManyDecimals:
                self.add_error(
                    "amount",
                    _("%(currency)s has %(places)s decimals.")
                    % {"currency": currency, "places": exponent(currency)},
                )
        for number in data.get("invoices") or ():
            if currency and self.invoice_currency.get(number) != currency:
                self.add_error(
                    "invoices",
                    _("Invoice %(number)s is not in %(currency)s.")
                    % {"number": number, "currency": currency},
                )
        return data
