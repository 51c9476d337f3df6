"""Forms of the legal pages: hand a debt over, record a recovery, end a hand-over."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from huikuan.collections.incentive_models import IncentiveKind
from huikuan.collections.legal_models import HandoverKind, HandoverStatus
from huikuan.web.templatetags.huikuan_web import money

ISO_DATE = "%Y-%m-%d"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)


class HandoverForm(forms.Form):
    kind = forms.ChoiceField(label=_("Hand to"), choices=HandoverKind.choices, initial=HandoverKind.AGENCY)
    agent_name = forms.CharField(label=_("Agency or lawyer"), max_length=255)
    agent_reference = forms.CharField(label=_("Their reference"), max_length=100, required=False)
    commission_percent = forms.DecimalField(
        label=_("Commission (%)"), min_value=0, max_value=100, decimal_places=2, max_digits=5
    )
    handed_over_date = forms.DateField(
        label=_("Handed over on"), widget=_date_input(), input_formats=[ISO_DATE]
    )
    invoice = forms.MultipleChoiceField(
        label=_("Invoices"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every open invoice in the currency below."),
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, invoices: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["invoice"]).choices = [
            (
                invoice.number,
                f"{invoice.number} · {money(invoice.open_minor, invoice.currency)} {invoice.currency} · {invoice.due_date}",
            )
            for invoice in invoices
        ]
        currencies = sorted({invoice.currency for invoice in invoices})
        cast(forms.ChoiceField, self.fields["currency"]).choices = [("", _("the only one"))] + [
            (code, code) for code in currencies
        ]


class RecoveryForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount recovered"), min_value=0, decimal_places=4, max_digits=20)
    recovered_date = forms.DateField(label=_("Recovered on"), widget=_date_input(), input_formats=[ISO_DATE])
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class HandoverEndForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Ends as"),
        choices=[
            (HandoverStatus.RETURNED, HandoverStatus.RETURNED.label),
            (HandoverStatus.CLOSED, HandoverStatus.CLOSED.label),
        ],
    )
    ended_date = forms.DateField(label=_("Ended on"), widget=_date_input(), input_formats=[ISO_DATE])
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class IncentiveForm(forms.Form):
    kind = forms.ChoiceField(label=_("Offer"), choices=IncentiveKind.choices, initial=IncentiveKind.DISCOUNT)
    invoice = forms.MultipleChoiceField(label=_("Invoices"), widget=forms.CheckboxSelectMultiple)
    pay_by_date = forms.DateField(label=_("If paid by"), widget=_date_input(), input_formats=[ISO_DATE])
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"), required=False, min_value=0, max_value=100, decimal_places=2, max_digits=5
    )
    settle_amount = forms.DecimalField(
        label=_("Settlement sum"), required=False, min_value=0, decimal_places=4, max_digits=20
    )
    terms = forms.CharField(
        label=_("Terms shown"), required=False, max_length=100, help_text=_('e.g. "2/10 net 30"')
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, invoices: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["invoice"]).choices = [
            (
                invoice.number,
                f"{invoice.number} · {money(invoice.open_minor, invoice.currency)} {invoice.currency} · {invoice.due_date}",
            )
            for invoice in invoices
        ]
