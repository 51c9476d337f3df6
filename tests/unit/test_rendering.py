"""The template sandbox: a user-edited template reaches only the plain data it is given."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.core.money import format_minor
from huikuan.customers.models import Customer
from huikuan.messaging.context import amount_text, date_text
from huikuan.messaging.rendering import (
    ContextNotPlain,
    TemplateCatalog,
    TemplateInvalid,
    TemplateMissing,
    language_candidates,
    render_string,
    template_validate,
)


def text(source: str, **context) -> str:
    return render_string(text=source, context=context).text


def row(language: str, *, key: str = "friendly", channel: str = "EMAIL", text: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        key=key,
        channel=channel,
        language=language,
        subject=f"subject {language}",
        body_text=text or f"text in {language} for {{{{ customer.name }}}}",
        body_html="",
    )


# --- what a template can reach ---------------------------------------------------------------------


def test_a_template_cannot_read_settings_or_the_request_because_it_sees_only_its_context():
    assert text("[{{ settings.SECRET_KEY }}][{{ request.user }}][{{ user }}][{{ perms }}]") == "[][][][]\n"


def test_a_template_sees_the_values_it_is_given():
    assert text("{{ customer.name }} owes {{ total }}", customer={"name": "华南贸易"}, total="1,200.00") == (
        "华南贸易 owes 1,200.00\n"
    )


@pytest.mark.parametrize("library", ["i18n", "static", "admin_list", "log", "cache"])
def test_a_template_cannot_load_a_tag_library(library):
    with pytest.raises(TemplateInvalid, match=r"Line 2: the tag \{% load %\} cannot be used"):
        template_validate(text=f"Hello\n{{% load {library} %}}")


@pytest.mark.parametrize(
    "source",
    [
        "{% include 'admin/base.html' %}",
        "{% extends 'admin/base.html' %}",
        "{% debug %}",
        "{% url 'admin:index' %}",
        "{% csrf_token %}",
    ],
)
def test_tags_that_reach_files_urls_or_internals_are_refused(source):
    with pytest.raises(TemplateInvalid, match="cannot be used in message templates"):
        template_validate(text=source)


def test_rendering_a_refused_tag_fails_instead_of_running_it():
    with pytest.raises(TemplateInvalid):
        render_string(text="{% debug %}", context={})


def test_a_model_instance_cannot_be_put_into_a_context_so_its_methods_are_out_of_reach():
    customer = Customer(code="C1", name="Acme")
    with pytest.raises(ContextNotPlain, match="not Customer"):
        render_string(text="{{ customer.delete }}", context={"customer": customer})
    with pytest.raises(ContextNotPlain):
        render_string(text="{{ rows }}", context={"rows": [{"customer": customer}]})


def test_a_template_cannot_change_the_data_it_was_given():
    invoices = [{"number": "A"}, {"number": "B"}]
    customer = {"name": "Acme"}
    rendered = text(
        "{{ invoices.pop }}{{ invoices.clear }}{{ customer.clear }}{{ customer.popitem }}"
        "{{ invoices|length }} {{ customer.name }}",
        invoices=invoices,
        customer=customer,
    )
    assert rendered == "2 Acme\n"
    assert invoices == [{"number": "A"}, {"number": "B"}] and customer == {"name": "Acme"}


def test_private_attributes_are_refused_with_a_clear_message():
    with pytest.raises(TemplateInvalid, match="may not begin with underscores"):
        template_validate(text="{{ customer.__class__ }}")


def test_floats_are_refused_and_decimals_and_dates_arrive_as_strings():
    with pytest.raises(ContextNotPlain, match="float"):
        render_string(text="{{ amount }}", context={"amount": 1.5})
    assert (
        text("{{ amount }} {{ day }}", amount=Decimal("12.50"), day=date(2025, 3, 8)) == "12.50 2025-03-08\n"
    )


# --- syntax errors ---------------------------------------------------------------------------------


def test_an_unclosed_loop_is_reported_with_its_line():
    with pytest.raises(TemplateInvalid) as caught:
        template_validate(text="Dear customer,\n\n{% for invoice in invoices %}{{ invoice.number }}\n")
    assert caught.value.message.startswith("Line 3: ")
    assert "endfor" in caught.value.message


def test_an_unknown_filter_is_reported_with_its_line_and_name():
    with pytest.raises(TemplateInvalid, match=r"Line 2: Invalid filter: 'money'"):
        template_validate(text="Total:\n{{ total|money }}")


def test_a_broken_if_is_reported():
    with pytest.raises(TemplateInvalid, match="Line 1"):
        template_validate(text="{% if %}x{% endif %}")


def test_a_valid_template_passes_validation():
    template_validate(
        text="{% for invoice in invoices %}{{ invoice.number|upper }}{% empty %}none{% endfor %}"
        "{% if charges %}{{ charges|length }}{% else %}-{% endif %}{% with a=total %}{{ a }}{% endwith %}"
    )


# --- escaping and tidying --------------------------------------------------------------------------


def test_html_is_escaped_and_text_is_not():
    rendered = render_string(
        subject="{{ name }}", text="{{ name }}", html="<p>{{ name }}</p>", context={"name": "<A & B>"}
    )
    assert rendered.subject == "<A & B>"
    assert rendered.text == "<A & B>\n"
    assert rendered.html == "<p>&lt;A &amp; B&gt;</p>"


def test_blank_lines_left_by_tags_are_folded_and_the_subject_is_one_line():
    rendered = render_string(
        subject="Notice\n {{ n }}", text="A\n{% if x %}\n{% endif %}\n\n\n\nB   \n", context={"n": "1"}
    )
    assert rendered.subject == "Notice 1"
    assert rendered.text == "A\n\nB\n"


# --- language fallback -----------------------------------------------------------------------------


def test_the_language_fallback_tries_the_other_shipped_language():
    assert language_candidates("zh-hans") == ["zh-hans", "en"]
    assert language_candidates("zh_CN") == ["zh-hans", "en"]
    assert language_candidates("en-GB") == ["en", "zh-hans"]
    assert language_candidates("de") == ["de", "en", "zh-hans"]


def test_the_contacts_language_is_used_when_its_template_exists():
    catalog = TemplateCatalog([row("zh-hans"), row("en")])
    rendered = catalog.render(
        key="friendly", channel="EMAIL", language="zh-hans", context={"customer": {"name": "X"}}
    )
    assert rendered.language == "zh-hans" and rendered.text == "text in zh-hans for X\n"


def test_a_missing_language_falls_back_to_the_other_one():
    catalog = TemplateCatalog([row("en")])
    rendered = catalog.render(
        key="friendly", channel="EMAIL", language="zh-hans", context={"customer": {"name": "X"}}
    )
    assert rendered.language == "en" and rendered.subject == "subject en"


def test_no_template_in_either_language_raises_template_missing():
    catalog = TemplateCatalog([row("en", channel="SMS")])
    with pytest.raises(TemplateMissing, match="friendly"):
        catalog.render(key="friendly", channel="EMAIL", language="zh-hans", context={})


def test_a_stored_template_with_a_syntax_error_raises_template_invalid_naming_it():
    catalog = TemplateCatalog([row("en", text="{% for x in y %}")])
    with pytest.raises(TemplateInvalid, match="friendly"):
        catalog.render(key="friendly", channel="EMAIL", language="en", context={})


# --- amounts and dates as templates receive them ---------------------------------------------------


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(["CNY", "JPY", "KWD"])
)
def test_grouped_amounts_are_exactly_the_decimal_amount(minor, currency):
    grouped = amount_text(minor, currency)
    assert grouped.replace(",", "") == format_minor(minor, currency)
    whole = grouped.lstrip("-").split(".")[0]
    assert all(len(group) == 3 for group in whole.split(",")[1:])


@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_in_prose_name_the_same_day_in_both_languages(day):
    assert date_text(day, "zh-hans") == f"{day.year}年{day.month}月{day.day}日"
    assert date_text(day, "en").startswith(f"{day.day} ") and date_text(day, "en").endswith(str(day.year))
