"""The fast form renderer writes exactly the HTML Django's form templates write."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest
from django.forms.renderers import DjangoTemplates
from django.utils import translation

from huikuan.web import forms
from huikuan.web.form_html import FAST_FORM_RENDERER, FastFormRenderer

INVOICES = [
    SimpleNamespace(number=f"INV-{k}", open_minor=12345 * k, currency="CNY", due_date=date(2026, 1, k))
    for k in range(1, 4)
]
CONTACTS = [SimpleNamespace(pk=7, name="王 <芳>"), SimpleNamespace(pk=8, name='Li & "Co"')]
COMMON = {"invoices": INVOICES, "currencies": ["CNY", "USD"]}
LOG_INITIAL = {
    "occurred_at": datetime(2026, 12, 6, 10, 5),
    "task": 5,
    "kind": "VISIT",
    "currency": "CNY",
    "invoice": ["INV-2"],
}

CASES = [
    ("log form", forms.InteractionForm, {"contacts": CONTACTS, "initial": LOG_INITIAL, **COMMON}),
    (
        "log form with errors",
        forms.InteractionForm,
        {
            "data": {
                "kind": "CALL",
                "outcome": "PROMISED",
                "amount": "x",
                "invoice": ["INV-1"],
                "notes": "<b>",
            },
            "contacts": CONTACTS,
            **COMMON,
        },
    ),
    ("promise form", forms.PromiseForm, {"initial": {"currency": "CNY", "invoice": ["INV-1"]}, **COMMON}),
    ("promise form with errors", forms.PromiseForm, {"data": {"amount": "-1"}, **COMMON}),
    ("dispute form", forms.DisputeForm, COMMON),
    ("dispute form with errors", forms.DisputeForm, {"data": {}, **COMMON}),
    ("plan form", forms.PlanForm, {"initial": {"start_date": date(2026, 1, 1)}, **COMMON}),
    ("plan form with errors", forms.PlanForm, {"data": {"schedule": "not a date"}, **COMMON}),
    ("statement form", forms.StatementSendForm, {"initial": {"month": date(2026, 12, 1)}}),
    ("portal link form", forms.PortalLinkForm, {}),
    ("aging form with errors", forms.AgingForm, {"data": {"as_of": "x"}}),
    ("worklist filters", forms.WorklistForm, {"data": {"kind": "CALL"}, "kinds": [("CALL", "call")]}),
    ("customer search", forms.CustomerSearchForm, {"data": {"q": "<x>", "grade": "B"}}),
]


def _html(form, name: str) -> list[str]:
    field = form[name]
    return [field.as_field_group(), str(field), field.label_tag(), str(field.errors)]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("case", "form_class", "arguments"), CASES, ids=[case[0] for case in CASES])
def test_the_fast_renderer_writes_what_djangos_templates_write(language, case, form_class, arguments):
    with translation.override(language):
        django_form = form_class(renderer=DjangoTemplates(), **arguments)
        fast_form = form_class(renderer=FastFormRenderer(), **arguments)
        if django_form.is_bound:
            assert django_form.is_valid() == fast_form.is_valid() == ("errors" not in case)

        for name in django_form.fields:
            assert _html(fast_form, name) == _html(django_form, name), name
        assert str(fast_form) == str(django_form)


def test_the_pages_forms_use_the_fast_renderer():
    form = forms.InteractionForm(contacts=CONTACTS, **COMMON)

    assert form.renderer is FAST_FORM_RENDERER
    assert 'name="invoice" value="INV-1"' in form["invoice"].as_field_group()


def test_a_template_it_does_not_know_goes_to_djangos_templates():
    rendered = FAST_FORM_RENDERER.render(
        "django/forms/widgets/checkbox.html",
        {
            "widget": {
                "type": "checkbox",
                "name": "x",
                "value": None,
                "attrs": {"checked": True},
                "template_name": "",
            }
        },
    )

    assert rendered == '<input type="checkbox" name="x" checked>'
