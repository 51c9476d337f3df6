"""Forms that parse the pages' query strings."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from huikuan.collections.models import DisputeReason, InteractionKind, InteractionOutcome, PromiseMethod
from huikuan.core.money import CURRENCY_EXPONENTS, Money, TooManyDecimals, exponent, from_minor, to_minor
from huikuan.customers.models import Grade, OrderStatus
from huikuan.web.form_html import FAST_FORM_RENDERER
from huikuan.web.templatetags.huikuan_web import amount as amount_text

ISO_DATE = "%Y-%m-%d"


class PanelForm(forms.Form):
    """A form shown beside others on one page: its element ids start with its own name.

    The customer page holds the call log, a side panel (promise, dispute or plan) and the
    document forms at once; Django's default ``id_<field>`` would repeat ids across them.
    """

    id_prefix = "form"
    default_renderer = FAST_FORM_RENDERER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class ChoicesForm(forms.Form):
    """A form whose choice fields get their choices when it is made (from rows already read)."""

    default_renderer = FAST_FORM_RENDERER

    def _choices_set(self, name: str, choices: list[tuple[Any, Any]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = choices


class AgingForm(forms.Form):
    default_renderer = FAST_FORM_RENDERER
    as_of = forms.DateField(
        label=_("As of"),
        required=False,
        input_formats=[ISO_DATE, "%Y/%m/%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
    )


class CustomerSearchForm(forms.Form):
    default_renderer = FAST_FORM_RENDERER
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("all grades")), *Grade.choices]
    )


class WorklistForm(ChoicesForm):
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
        self._choices_set("kind", [("", _("all kinds of work")), *kinds])


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


# --- customer 360: acting on a customer -------------------------------------------------------

EVIDENCE_MAX_BYTES = 20 * 1024 * 1024
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)


def money_from_form(amount: Decimal, currency: str) -> Money:
    """Return the amount as Money, refusing more decimals than the currency has."""
    try:
        return Money(to_minor(amount, currency, exact=True), currency)
    except TooManyDecimals:
        raise forms.ValidationError(
            _("%(currency)s amounts have at most %(places)s decimal places.")
            % {"currency": currency, "places": exponent(currency)},
            code="decimals",
        )


class InvoiceChoiceForm(ChoicesForm):
    """A form that acts on some of a customer's open invoices, offered as checkboxes."""

    invoice = forms.MultipleChoiceField(
        label=_("Invoices"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(
        self, *args: Any, invoices: Sequence[Any] = (), currencies: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.invoices = {invoice.number: invoice for invoice in invoices}
        self._choices_set(
            "invoice",
            [
                (
                    invoice.number,
                    _("%(number)s · %(amount)s %(currency)s open · due %(date)s")
                    % {
                        "number": invoice.number,
                        "amount": amount_text(
                            from_minor(invoice.open_minor, invoice.currency), invoice.currency
                        ),
                        "currency": invoice.currency,
                        "date": date_format(invoice.due_date, "SHORT_DATE_FORMAT"),
                    },
                )
                for invoice in invoices
            ],
        )
        self.currencies = list(currencies)

    def chosen_invoices(self) -> list[Any]:
        return [self.invoices[number] for number in self.cleaned_data.get("invoice") or []]


class EvidenceField(forms.FileField):
    def validate(self, value: Any) -> None:
        super().validate(value)
        if value and value.size > EVIDENCE_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."), code="too_large")


class PromiseFields(InvoiceChoiceForm):
    """What a promise to pay records (PLAYBOOK §5, §6): how much, by when, who, how, and what if not."""

    amount = forms.DecimalField(
        label=_("Amount"), min_value=Decimal("0.0001"), max_digits=18, decimal_places=4
    )
    currency = forms.ChoiceField(label=_("Currency"))
    promised_date = forms.DateField(label=_("Pay by"), widget=_date_input(), input_formats=[ISO_DATE])
    promised_by = forms.CharField(label=_("Who promised"), max_length=255, required=False)
    method = forms.ChoiceField(
        label=_("How"), choices=[c for c in PromiseMethod.choices if c[0] != PromiseMethod.PORTAL]
    )
    if_broken = forms.CharField(
        label=_("If it is not kept"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What you told them happens then, e.g. supply stops, a formal notice follows."),
    )
    evidence = EvidenceField(
        label=_("Evidence"),
        required=False,
        help_text=_("A recording, a photo or scan of a written promise (up to 20 MB)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices_set("currency", [(code, code) for code in self.currencies])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") is not None and data.get("currency"):
            try:
                data["money"] = money_from_form(data["amount"], data["currency"])
            except forms.ValidationError as error:
                self.add_error("amount", error)
        return data


class PromiseForm(PanelForm, PromiseFields):
    id_prefix = "promise"

    grace_days = forms.IntegerField(
        label=_("Grace days"),
        required=False,
        min_value=0,
        max_value=60,
        help_text=_("Dunning of its invoices waits until the date plus these days."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class InteractionForm(PanelForm, PromiseFields):
    """Log a call, visit or note; a promise given on it can be recorded at the same time."""

    id_prefix = "log"

    kind = forms.ChoiceField(label=_("What"), choices=InteractionKind.choices, initial=InteractionKind.CALL)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False)
    contact = forms.TypedChoiceField(label=_("With"), required=False, coerce=int, empty_value=None)
    occurred_at = forms.DateTimeField(
        label=_("When"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_action_date = forms.DateField(
        label=_("Next action on"), required=False, widget=_date_input(), input_formats=[ISO_DATE]
    )
    task = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, contacts: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices_set("outcome", [("", _("— choose —")), *InteractionOutcome.choices])
        self.contacts = {contact.pk: contact for contact in contacts}
        self._choices_set(
            "contact",
            [("", _("— nobody in particular —")), *[(contact.pk, contact.name) for contact in contacts]],
        )
        # The promise is optional here: it is recorded when an amount is given.
        for name in ("amount", "promised_date", "currency", "method"):
            self.fields[name].required = False
        self.fields["amount"].label = _("Promised amount")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") is not None and not data.get("promised_date"):
            self.add_error("promised_date", _("Say by when the amount was promised."))
        if data.get("outcome") == InteractionOutcome.PROMISED and data.get("amount") is None:
            self.add_error("amount", _("Record what was promised: the amount and the date."))
        return data


class DisputeForm(PanelForm, InvoiceChoiceForm):
    id_prefix = "dispute"

    reason = forms.ChoiceField(label=_("Reason"), choices=DisputeReason.choices)
    notes = forms.CharField(
        label=_("What the customer says"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoice"].required = True
        self.fields["invoice"].error_messages["required"] = _("Choose the invoices in dispute.")


class PlanForm(PanelForm, InvoiceChoiceForm):
    """An instalment plan (分期付款): equal instalments, or a custom schedule of dates and amounts."""

    id_prefix = "plan"

    start_date = forms.DateField(
        label=_("First instalment on"), widget=_date_input(), input_formats=[ISO_DATE]
    )
    count = forms.IntegerField(label=_("Number of instalments"), required=False, min_value=1, max_value=60)
    interval_months = forms.IntegerField(
        label=_("Months between instalments"), initial=1, min_value=1, max_value=12
    )
    schedule = forms.CharField(
        label=_("Or a custom schedule"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2025-07-31 5000.00\n2025-08-31 7000.00"}),
        help_text=_("One instalment a line: the date (YYYY-MM-DD) and the amount."),
    )
    fee = forms.DecimalField(label=_("Fee"), required=False, min_value=0, max_digits=18, decimal_places=4)
    interest_rate = forms.DecimalField(
        label=_("Yearly interest (%)"),
        required=False,
        min_value=0,
        max_value=100,
        max_digits=7,
        decimal_places=4,
    )
    grace_days = forms.IntegerField(label=_("Grace days"), initial=5, min_value=0, max_value=60)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["invoice"].required = True
        self.fields["invoice"].error_messages["required"] = _("Choose the invoices the plan is for.")

    def clean_schedule(self) -> list[tuple[date, Decimal]]:
        rows = []
        for number, line in enumerate((self.cleaned_data.get("schedule") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.replace(",", " ").split()
            try:
                day = datetime.strptime(parts[0], ISO_DATE).date()
                value = Decimal(parts[1])
                if len(parts) != 2 or value <= 0:
                    raise ValueError
            except (IndexError, ValueError, ArithmeticError):
                raise forms.ValidationError(
                    _("Line %(number)s is not a date and an amount: %(line)s")
                    % {"number": number, "line": line}
                )
            rows.append((day, value))
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("schedule") and not data.get("count"):
            self.add_error("count", _("Give the number of instalments, or a custom schedule."))
        return data


class StatementSendForm(PanelForm):
    id_prefix = "statement"

    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )


class PortalLinkForm(PanelForm):
    id_prefix = "portal"

    days = forms.IntegerField(label=_("Valid for (days)"), required=False, min_value=1, max_value=365)


# --- credit: orders and the order check ---------------------------------------------------------


class OrderAmountForm(PanelForm):
    """An order's amount in one currency (the customer's unless the form offers another)."""

    id_prefix = "order-check"

    amount = forms.DecimalField(
        label=_("Order amount"), min_value=Decimal("0.0001"), max_digits=18, decimal_places=4
    )

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_currency = currency

    def money(self) -> Money:
        """The amount as Money, once the form is valid."""
        return cast(Money, self.cleaned_data["money"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = (data.get("currency") or self.default_currency).upper()
        if data.get("amount") is not None:
            try:
                data["money"] = money_from_form(data["amount"], currency)
            except forms.ValidationError as error:
                self.add_error("amount", error)
        return data


class OrderForm(OrderAmountForm):
    """Record an order not yet invoiced: it counts towards the exposure until it is invoiced."""

    id_prefix = "order"

    number = forms.CharField(label=_("Order number"), max_length=64)
    order_date = forms.DateField(label=_("Order date"), widget=_date_input(), input_formats=[ISO_DATE])
    currency = forms.CharField(label=_("Currency"), max_length=3, min_length=3)
    description = forms.CharField(label=_("Description"), required=False, max_length=500)
    field_order = ["number", "order_date", "amount", "currency", "description"]

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if code not in CURRENCY_EXPONENTS:
            raise forms.ValidationError(
                _("%(code)s is not a currency code."), params={"code": code}, code="currency"
            )
        return code


class OrderStatusForm(forms.Form):
    """Mark an order invoiced (its invoice now carries the exposure) or cancelled."""

    status = forms.ChoiceField(
        choices=[choice for choice in OrderStatus.choices if choice[0] != OrderStatus.OPEN]
    )


# --- bank: deciding what a statement line pays -------------------------------------------------

# What separates invoice numbers typed by hand: spaces, commas, semicolons (also the Chinese ones).
_NUMBER_SEPARATORS = re.compile(r"[\s,;，；、]+")
BANK_SPLIT_PARTS_MAX = 50


def invoice_numbers_parse(text: str) -> list[str]:
    """Return the invoice numbers typed in ``text``, each once, in the order given."""
    return list(dict.fromkeys(number for number in _NUMBER_SEPARATORS.split(text or "") if number))


class BankLineForm(PanelForm):
    """A decision on one bank line. A page lists many lines, each with its forms: ids carry the line."""

    action = "line"

    def __init__(self, *args: Any, line_id: int, **kwargs: Any) -> None:
        self.id_prefix = f"line{line_id}-{self.action}"
        super().__init__(*args, **kwargs)
        self.line_id = line_id


class BankApplyForm(BankLineForm):
    """Apply the money to a customer: the invoices named first, then the oldest due."""

    action = "apply"

    customer = forms.CharField(label=_("Customer code"), max_length=64)
    invoices = forms.CharField(
        label=_("Invoice numbers"),
        required=False,
        max_length=2000,
        help_text=_("Separated by spaces or commas; left empty, the oldest due invoices are paid first."),
    )

    def clean_invoices(self) -> list[str]:
        return invoice_numbers_parse(self.cleaned_data.get("invoices") or "")


class BankOnAccountForm(BankLineForm):
    """Record the money as the customer's payment without applying it to any invoice."""

    action = "on-account"

    customer = forms.CharField(label=_("Customer code"), max_length=64)


class BankExcludeForm(BankLineForm):
    """Take the line out of matching: not a customer's payment."""

    action = "exclude"

    reason = forms.CharField(
        label=_("Why"),
        max_length=500,
        help_text=_("For example: bank interest, a refund, a transfer between our own accounts."),
        error_messages={"required": _("Say why the money is not a customer payment.")},
    )


class BankSplitForm(BankLineForm):
    """Split one credit into payments: one part a line, "customer invoices… amount"."""

    action = "split"

    parts = forms.CharField(
        label=_("Parts, one a line"),
        max_length=10_000,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "C001 INV-1001 INV-1002 3000.00\nC002 500.00"}
        ),
        help_text=_(
            "Each line: the customer code, the invoice numbers (if any) and the amount. "
            "The amounts must add up to the line."
        ),
    )

    def clean_parts(self) -> list[tuple[str, list[str], Decimal]]:
        parts = []
        for number, text in enumerate((self.cleaned_data.get("parts") or "").splitlines(), start=1):
            tokens = [token.strip(",;，；、") for token in text.split()]
            tokens = [token for token in tokens if token]
            if not tokens:
                continue
            try:
                if len(tokens) < 2:
                    raise ValueError
                value = Decimal(tokens[-1].replace(",", ""))
                if not value.is_finite() or value <= 0:
                    raise ValueError
            except (ValueError, ArithmeticError):
                raise forms.ValidationError(
                    _("Line %(number)s is not a customer code, invoice numbers and an amount: %(line)s")
                    % {"number": number, "line": text.strip()},
                    code="part",
                )
            parts.append((tokens[0], invoice_numbers_parse(" ".join(tokens[1:-1])), value))
        if not parts:
            raise forms.ValidationError(_("Give at least one part."), code="required")
        if len(parts) > BANK_SPLIT_PARTS_MAX:
            raise forms.ValidationError(
                _("At most %(count)s parts.") % {"count": BANK_SPLIT_PARTS_MAX}, code="too_many"
            )
        return parts


class BankUnmatchedForm(forms.Form):
    """The unapplied-cash list's filter (query string)."""

    mine = forms.BooleanField(label=_("Only mine"), required=False)
