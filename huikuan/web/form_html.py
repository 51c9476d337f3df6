"""A form renderer that writes Django's own form markup in Python.

Django renders each field through five to fifty small templates (the field group, its label,
its errors, the widget, each option of a select or each checkbox). On the customer page the
call log's fields alone took a quarter of the time the page cost the server. This renderer
writes the same markup as Django's templates from the same contexts — Django still decides
every attribute, value, label and error — so only the assembling of the strings is done here.
A template it does not know goes to Django's templates as before.

``tests/unit/test_form_html.py`` renders the pages' forms both ways and requires the same HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape as _escape
from typing import Any

from django.forms.renderers import DjangoTemplates


def _text(value: Any) -> str:
    """``{{ value }}`` in a template: safe strings as they are, anything else escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _escape(str(value))


def _attrs(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {_text(name)}")
        else:
            parts.append(f" {_text(name)}={chr(34)}{_text(value)}{chr(34)}")
    return "".join(parts)


def _input(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/input.html``."""
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>\n'


def _input_widget(context: dict[str, Any]) -> str:
    """``text.html``, ``number.html``, ``date.html`` … : the input, then the template's own newline."""
    return _input(context["widget"]) + "\n"


def _hidden(context: dict[str, Any]) -> str:
    return _input(context["widget"]) + "\n"


def _textarea(context: dict[str, Any]) -> str:
    widget = context["widget"]
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>\n'


def _select(context: dict[str, Any]) -> str:
    widget = context["widget"]
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in options:
            parts.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>\n")
    return "".join(parts)


def _input_option(option: dict[str, Any]) -> str:
    """``input_option.html``."""
    if not option["wrap_label"]:
        return _input(option) + "\n"
    label_for = f' for="{_text(option["attrs"]["id"])}"' if option["attrs"].get("id") else ""
    return f"<label{label_for}>{_input(option)} {_text(option['label'])}</label>\n"


def _multiple_input(context: dict[str, Any]) -> str:
    """``checkbox_select.html`` and ``radio.html`` (``multiple_input.html``)."""
    widget = context["widget"]
    ident = widget["attrs"].get("id")
    css = widget["attrs"].get("class")
    parts = [
        "<div",
        f' id="{_text(ident)}"' if ident else "",
        f' class="{_text(css)}"' if css else "",
        ">",
    ]
    for group, options, _index in widget["optgroups"]:
        if group:
            parts.append(f"\n  <div><label>{_text(group)}</label>")
        for option in options:  # checkbox_option.html: input_option.html and a newline
            parts.append(f"<div>\n    {_input_option(option)}\n</div>")
        if group:
            parts.append("\n  </div>")
    parts.append("\n</div>\n")
    return "".join(parts)


def _label(context: dict[str, Any]) -> str:
    """``django/forms/label.html``."""
    if not context["use_tag"]:
        return _text(context["label"])
    tag = _text(context["tag"])
    return f"<{tag}{_attrs(context['attrs'] or {})}>{_text(context['label'])}</{tag}>\n"


def _errors(context: dict[str, Any]) -> str:
    """``django/forms/errors/list/default.html`` (``ul.html``)."""
    errors = context["errors"]
    if not errors:
        return ""
    ident = f' id="{_text(errors.field_id)}_error"' if getattr(errors, "field_id", None) else ""
    items = "".join(f"<li>{_text(error)}</li>" for error in errors)
    return f'<ul class="{_text(context["error_class"])}"{ident}>{items}</ul>'


def _field(context: dict[str, Any]) -> str:
    """``django/forms/field.html``: the label (a legend for a group of inputs), help, errors, input."""
    field = context["field"]
    if field.use_fieldset:
        described = field.aria_describedby
        parts = [
            "\n  <fieldset",
            f' aria-describedby="{_text(described)}"' if described else "",
            ">\n  ",
            str(field.legend_tag()) if field.label else "",
            "\n",
        ]
    else:
        parts = ["\n  ", str(field.label_tag()) if field.label else "", "\n"]
    parts.append("\n")
    if field.help_text:
        ident = f' id="{_text(field.auto_id)}_helptext"' if field.auto_id else ""
        parts.append(f'<div class="helptext"{ident}>{field.help_text}</div>')
    parts += ["\n", str(field.errors), "\n", str(field), "</fieldset>" if field.use_fieldset else "", "\n"]
    return "".join(parts)


_BUILDERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "django/forms/field.html": _field,
    "django/forms/label.html": _label,
    "django/forms/errors/list/default.html": _errors,
    "django/forms/errors/list/ul.html": _errors,
    "django/forms/widgets/text.html": _input_widget,
    "django/forms/widgets/number.html": _input_widget,
    "django/forms/widgets/email.html": _input_widget,
    "django/forms/widgets/url.html": _input_widget,
    "django/forms/widgets/date.html": _input_widget,
    "django/forms/widgets/datetime.html": _input_widget,
    "django/forms/widgets/time.html": _input_widget,
    "django/forms/widgets/hidden.html": _hidden,
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/checkbox_select.html": _multiple_input,
    "django/forms/widgets/radio.html": _multiple_input,
}


class FastFormRenderer(DjangoTemplates):
    """Django's form templates, written in Python for the templates :data:`_BUILDERS` knows."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        build = _BUILDERS.get(template_name)
        if build is None:
            return super().render(template_name, context, request)
        return build(context).strip()  # as Django's renderers do


FAST_FORM_RENDERER = FastFormRenderer()
