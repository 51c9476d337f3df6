"""Scripts (话术): placeholders are checked when saved and filled by plain substitution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huikuan.insights.defaults import SHIPPED_SCRIPTS
from huikuan.insights.scripts import VARIABLES, ScriptInvalid, script_problems, script_render, script_validate

names = st.sampled_from(sorted(VARIABLES))
# Text without braces or percent signs: whatever a user types around the placeholders.
plain = st.text(
    alphabet=st.characters(blacklist_characters="{}%#", blacklist_categories=("Cs",)), max_size=40
)
values = st.text(max_size=30)


def test_known_variables_are_filled_and_the_rest_of_the_text_is_kept():
    text = script_render(
        "您好{{ contact_name }},欠款 {{amount_overdue}}。",
        {"contact_name": "王经理", "amount_overdue": "1,000.00 元"},
    )

    assert text == "您好王经理,欠款 1,000.00 元。"


def test_an_unknown_variable_is_refused_with_its_line_and_the_variables_that_exist():
    with pytest.raises(ScriptInvalid) as error:
        script_validate("Hello {{ contact_name }},\nyou owe {{ amount_due }}.")

    message = error.value.message
    assert "line 2" in message and "amount_due" in message and "amount_overdue" in message
    assert error.value.code == "script_variable_unknown"


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}",
        "{{ customer_name|upper }}",
        "{{ customer.name }}",
        "{# note #}",
        "{{ unclosed",
        "}}",
    ],
)
def test_template_syntax_other_than_plain_placeholders_is_refused(source):
    assert script_problems(source)
    with pytest.raises(ScriptInvalid):
        script_render(source, {})


def test_every_shipped_script_uses_only_known_variables():
    for debtor_type, personality, language, _title, body in SHIPPED_SCRIPTS:
        assert script_problems(body) == [], (debtor_type, personality, language)


@given(
    parts=st.lists(st.tuples(plain, names), max_size=6), tail=plain, filling=st.dictionaries(names, values)
)
def test_rendering_fills_every_placeholder_and_inserts_values_verbatim(parts, tail, filling):
    source = "".join(f"{text}{{{{ {name} }}}}" for text, name in parts) + tail
    expected = "".join(text + filling.get(name, "") for text, name in parts) + tail

    assert script_problems(source) == []
    assert script_render(source, filling) == expected


@given(name=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True).filter(lambda n: n not in VARIABLES))
def test_any_name_off_the_list_is_an_error(name):
    with pytest.raises(ScriptInvalid):
        script_validate(f"Dear {{{{ {name} }}}}")
