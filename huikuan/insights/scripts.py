"""Scripts (话术): checking and rendering the ``{{ variable }}`` placeholders a script may hold.

Scripts are edited by collectors' managers, so rendering is plain substitution from a fixed list
of variables: a script cannot load anything, call anything or reach beyond the values it is
given. A script that names a variable not on the list, or holds any other template syntax, is
refused when it is saved, with the line and the name; rendering never leaves a placeholder behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huikuan.accounts.models import Role
from huikuan.core.errors import HuikuanError

# Who keeps the script library: the people who set how the company talks to debtors.
SCRIPT_EDITORS = (Role.CREDIT_CONTROLLER, Role.MANAGER, Role.ADMIN)

LANGUAGES = ("zh-hans", "en")

# The variables a script may use, and what each holds (shown beside the editor).
VARIABLES: dict[str, object] = {
    "customer_name": gettext_lazy("the customer's name"),
    "customer_code": gettext_lazy("the customer's code"),
    "contact_name": gettext_lazy("the contact spoken to (else the primary contact)"),
    "collector_name": gettext_lazy("the collector's name"),
    "company_name": gettext_lazy("our company's name"),
    "amount_overdue": gettext_lazy("the overdue amount with its currency"),
    "invoice_numbers": gettext_lazy("the overdue invoices' numbers"),
    "invoice_count": gettext_lazy("how many invoices are overdue"),
    "days_overdue": gettext_lazy("days the oldest overdue invoice is past due"),
    "oldest_due_date": gettext_lazy("the due date of the oldest overdue invoice"),
    "broken_promises": gettext_lazy("promises broken in the last year"),
    "last_promise_date": gettext_lazy("the date of the latest promise to pay"),
    "today": gettext_lazy("today's date"),
}

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Anything else that looks like template syntax: tags, comments, filters, stray braces.
OTHER_SYNTAX = re.compile(r"\{%|%\}|\{#|#\}|\{\{|\}\}")


class ScriptInvalid(HuikuanError):
    code = "script_invalid"


@dataclass(frozen=True)
class ScriptProblem:
    line: int
    text: str


def _line_of(source: str, index: int) -> int:
    return source.count("\n", 0, index) + 1


def script_problems(source: str) -> list[ScriptProblem]:
    """Return what is wrong with a script's placeholders, each with its line (empty: fine)."""
    problems: list[ScriptProblem] = []
    for match in PLACEHOLDER.finditer(source):
        name = match.group(1)
        if name not in VARIABLES:
            problems.append(
                ScriptProblem(
                    _line_of(source, match.start()),
                    _("unknown variable “%(name)s”") % {"name": name},
                )
            )
    rest = PLACEHOLDER.sub("", source)
    for match in OTHER_SYNTAX.finditer(rest):
        # Lines in the rest match the source's: placeholders never span lines.
        problems.append(
            ScriptProblem(
                _line_of(rest, match.start()),
                _("“%(text)s” is not a placeholder; write variables as {{ name }}")
                % {"text": match.group(0)},
            )
        )
    return sorted(problems, key=lambda problem: problem.line)


def script_validate(source: str) -> None:
    """Raise ScriptInvalid naming each problem and the variables that may be used."""
    problems = script_problems(source)
    if problems:
        listed = "; ".join(
            _("line %(line)d: %(problem)s") % {"line": p.line, "problem": p.text} for p in problems
        )
        raise ScriptInvalid(
            _("The script cannot be saved: %(problems)s. Variables you can use: %(variables)s.")
            % {"problems": listed, "variables": ", ".join(VARIABLES)},
            code="script_variable_unknown",
        )


def script_render(source: str, values: Mapping[str, object]) -> str:
    """Fill each ``{{ name }}`` with its value as text; a variable without a value becomes empty.

    The source must have passed :func:`script_validate` (stored scripts have); values are
    inserted as they are, never interpreted, so a customer called "{{ today }}" stays so.
    """
    problems = script_problems(source)
    if problems:
        raise ScriptInvalid(problems[0].text, code="script_variable_unknown")

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(fill, source)
