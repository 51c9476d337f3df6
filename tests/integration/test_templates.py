"""Shipped templates: installed for every stage, channel and language; sync keeps what users edited."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.customers.models import Contact
from huikuan.dunning.models import Stage
from huikuan.messaging.admin import TemplateForm
from huikuan.messaging.context import message_context_preview
from huikuan.messaging.defaults import default_templates, template_edit, template_install_defaults
from huikuan.messaging.models import Template
from huikuan.messaging.rendering import TemplateInvalid, render_template
from huikuan.messaging.sms import sms_count
from tests.factories import make_customer, make_invoice

pytestmark = pytest.mark.django_db

LANGUAGES = ("zh-hans", "en")
# The stage template keys of the shipped policies and the channels they speak through.
EXPECTED = {
    ("pre-due", "EMAIL"), ("pre-due", "SMS"), ("due-today", "SMS"), ("friendly", "EMAIL"),
    ("call", "SCRIPT"), ("formal-notice", "EMAIL"), ("formal-notice", "LETTER"),
    ("credit-hold", "EMAIL"), ("credit-hold", "SCRIPT"), ("visit", "SCRIPT"),
    ("final-notice", "LETTER"), ("final-notice", "EMAIL"),
    ("legal-referral", "SCRIPT"), ("legal-referral", "LETTER"),
}  # fmt: skip
STAGE_CHANNEL_TEMPLATE = {
    "EMAIL": "EMAIL", "SMS": "SMS", "LETTER": "LETTER",
    "PHONE_TASK": "SCRIPT", "VISIT_TASK": "SCRIPT", "LEGAL_REFERRAL": "SCRIPT",
}  # fmt: skip


def installed() -> set[tuple[str, str, str]]:
    return set(Template.objects.values_list("key", "channel", "language"))


def test_every_key_channel_and_language_the_shipped_stages_use_is_installed():
    needed = set()
    for stage in Stage.objects.all():
        for channel in stage.channels:
            if channel in STAGE_CHANNEL_TEMPLATE:
                needed.add((stage.template_key, STAGE_CHANNEL_TEMPLATE[channel]))
        if stage.attach_letter:
            needed.add((stage.template_key, "LETTER"))
    assert needed <= EXPECTED  # the shipped ladders use nothing this list forgets

    expected = {(key, channel, language) for key, channel in EXPECTED for language in LANGUAGES}
    assert expected <= installed()
    assert Template.objects.filter(is_shipped_default=False).count() == 0


@pytest.fixture
def preview_context():
    def build(key: str, language: str) -> dict:
        customer = make_customer(name="华南贸易", legal_name="华南贸易有限公司", language=language)
        Contact.objects.create(customer=customer, name="王芳", email="wf@example.com", is_primary=True)
        invoices = [
            make_invoice(
                customer, amount="12345.67", issue_date=date(2024, 1, 1), number=f"A-{key}-{language}"
            ),
            make_invoice(
                customer, amount="800.00", issue_date=date(2024, 1, 20), number=f"B-{key}-{language}"
            ),
        ]
        stage = Stage.objects.filter(policy__code="standard", template_key=key).first()
        return message_context_preview(
            customer=customer, invoices=invoices, stage=stage, as_of=date(2024, 3, 15), language=language
        )

    return build


@pytest.mark.parametrize(("key", "channel"), sorted(EXPECTED))
@pytest.mark.parametrize("language", LANGUAGES)
def test_each_shipped_template_renders_the_amount_in_its_own_language(
    preview_context, key, channel, language
):
    context = preview_context(key, language)

    rendered = render_template(key=key, channel=channel, language=language, context=context)

    assert rendered.language == language
    assert context["amount_due"] in rendered.text
    assert ("元" in rendered.text) == (language == "zh-hans")
    assert "{{" not in rendered.text and "{%" not in rendered.text
    if channel in {"EMAIL", "SCRIPT"}:
        assert rendered.subject and context["invoices"][0]["number"] in rendered.text
    if rendered.html:
        assert context["invoices"][1]["number"] in rendered.html
    if channel == "SMS":
        assert not rendered.subject and sms_count(rendered.text.strip()).segments <= 3
    if channel in {"EMAIL", "LETTER"} and key not in {"pre-due"}:
        assert context["deadline"] in rendered.text  # a formal message states its deadline


def test_the_shipped_files_match_what_is_installed():
    files = {(item.key, item.channel, item.language): item for item in default_templates()}
    assert set(files) == installed()
    row = Template.objects.get(key="formal-notice", channel="LETTER", language="zh-hans")
    assert row.subject == files[("formal-notice", "LETTER", "zh-hans")].subject == "催款函"


def test_sync_keeps_an_edited_template_and_refreshes_an_unedited_one():
    edited = Template.objects.get(key="friendly", channel="EMAIL", language="en")
    template_edit(template=edited, subject="Our own wording", body_text="Please pay {{ amount_due }}.")
    stale = Template.objects.get(key="call", channel="SCRIPT", language="zh-hans")
    stale.body_text = "older shipped wording"
    stale.save()
    Template.objects.filter(key="visit", channel="SCRIPT", language="en").delete()

    out = StringIO()
    call_command("templates", "sync", stdout=out)

    edited.refresh_from_db()
    stale.refresh_from_db()
    assert (edited.subject, edited.is_shipped_default) == ("Our own wording", False)
    assert stale.body_text != "older shipped wording" and stale.is_shipped_default
    assert Template.objects.filter(
        key="visit", channel="SCRIPT", language="en", is_shipped_default=True
    ).exists()
    assert out.getvalue().strip() == (
        f"Templates: 1 installed, 1 refreshed, {len(default_templates()) - 3} unchanged, 1 edited by you and kept."
    )


def test_installing_twice_changes_nothing():
    before = list(Template.objects.order_by("id").values_list("id", "updated_at"))

    report = template_install_defaults()

    assert (report.created, report.updated, report.unchanged) == (0, 0, len(default_templates()))
    assert list(Template.objects.order_by("id").values_list("id", "updated_at")) == before


def test_an_edit_that_does_not_compile_is_refused_and_the_template_is_unchanged():
    template = Template.objects.get(key="friendly", channel="EMAIL", language="zh-hans")
    before = template.body_text

    with pytest.raises(TemplateInvalid, match="Line 1"):
        template_edit(template=template, subject="x", body_text="{% load i18n %}")

    template.refresh_from_db()
    assert template.body_text == before and template.is_shipped_default


def test_the_admin_form_names_the_part_and_line_of_a_syntax_error():
    template = Template.objects.get(key="friendly", channel="EMAIL", language="zh-hans")
    data = {
        "key": template.key,
        "channel": template.channel,
        "language": template.language,
        "subject": "ok {{ customer.name }}",
        "body_text": "Dear customer,\n{% for invoice in invoices %}",
        "body_html": "<p>{{ total|nosuchfilter }}</p>",
    }

    form = TemplateForm(data=data, instance=template)

    assert not form.is_valid()
    assert "subject" not in form.errors
    assert form.errors["body_text"][0].startswith("Line 2: Unclosed tag")
    assert "nosuchfilter" in form.errors["body_html"][0]


def test_saving_a_default_in_the_admin_makes_it_the_users_own(admin_client):
    template = Template.objects.get(key="due-today", channel="SMS", language="en")
    data = {
        "key": template.key,
        "channel": template.channel,
        "language": template.language,
        "subject": "",
        "body_text": "Please pay {{ amount_due }} today. {{ company.name }}",
        "body_html": "",
    }

    response = admin_client.post(f"/admin/messaging/template/{template.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.body_text.startswith("Please pay") and not template.is_shipped_default
    template_install_defaults()
    template.refresh_from_db()
    assert template.body_text.startswith("Please pay")


def test_templates_list_and_show_print_what_is_stored():
    out = StringIO()
    call_command("templates", "list", "--key", "formal-notice", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["key", "channel", "language", "origin", "subject"]
    assert len(lines) == 1 + 4
    assert any("LETTER" in line and "zh-hans" in line and "催款函" in line for line in lines)

    out = StringIO()
    call_command("templates", "show", "formal-notice", "--channel", "letter", "--language", "zh", stdout=out)
    shown = out.getvalue()
    assert shown.startswith("== formal-notice · LETTER · zh-hans (shipped)\nSubject: 催款函\n--- text\n")
    assert "{{ deadline }}" in shown

    with pytest.raises(CommandError, match="no template 'nothing'"):
        call_command("templates", "show", "nothing")
