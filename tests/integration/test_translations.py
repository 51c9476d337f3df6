"""The Simplified Chinese catalogue is complete, compiled, and covers every string the templates and code show."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
PACKAGE_DIR = Path(settings.PACKAGE_DIR)
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')

# Every app's templates, as `makemessages` reads them (it reads .html and .txt).
TEMPLATES = sorted(
    path.relative_to(PACKAGE_DIR).as_posix()
    for suffix in ("html", "txt")
    for path in PACKAGE_DIR.glob(f"*/templates/**/*.{suffix}")
)
# The Python sources that use gettext, migrations aside.
PYTHON_SOURCES = sorted(
    path.relative_to(PACKAGE_DIR).as_posix()
    for path in PACKAGE_DIR.rglob("*.py")
    if "migrations" not in path.parts and "django.utils.translation" in path.read_text(encoding="utf-8")
)

_QUOTED = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
_TRANSLATE_TAG = re.compile(
    r"{%\s*trans(?:late)?\s+(?P<msgid>" + _QUOTED + r")(?:\s+context\s+(?P<context>" + _QUOTED + r"))?[^%]*%}"
)
_BLOCK_TAG = re.compile(
    r"{%\s*blocktrans(?:late)?\b(?P<options>[^%]*)%}(?P<body>.*?){%\s*endblocktrans(?:late)?\s*%}", re.S
)
_BLOCK_CONTEXT = re.compile(r"\bcontext\s+(" + _QUOTED + r")")
_BLOCK_PLURAL = re.compile(r"{%\s*plural\s*%}")
_BLOCK_VARIABLE = re.compile(r"{{\s*(\w+)\s*}}")
# A call of _(), gettext() or gettext_lazy() on one string literal and nothing else.
_PYTHON_CALL = re.compile(r"(?<![\w.])(?:_|gettext|gettext_lazy)\(\s*(?P<literal>" + _QUOTED + r")\s*,?\s*\)")


def po_entries(path: Path) -> list[dict[str, str]]:
    """Parse a .po file into entries: their fields (msgid, msgstr, …) and a ``flags`` string."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry = {"flags": ""}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line[2:]
            elif match := _KEYWORD.match(line):
                current = match.group(1)
                entry[current] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and current:
                entry[current] += ast.literal_eval(line)
        entries.append(entry)
    return entries


def test_the_compiled_catalogue_exists_and_is_not_older_than_its_source():
    assert MO_FILE.is_file()
    assert MO_FILE.stat().st_size > 1000
    # The .mo is committed: a .po edited without `compilemessages` would ship stale text.
    assert MO_FILE.stat().st_mtime >= PO_FILE.stat().st_mtime - 1


def test_ui_strings_are_shown_in_chinese_under_zh_hans():
    with translation.override("zh-hans"):
        assert translation.gettext("Customers") == "客户"
        assert translation.gettext("Receivables aging") == "应收账款账龄分析"
        assert translation.gettext("Log in") == "登录"
        assert str(translation.gettext_lazy("partially paid")) == "部分付款"


def test_ui_strings_stay_english_under_en():
    with translation.override("en"):
        assert translation.gettext("Customers") == "Customers"


def test_every_entry_of_the_catalogue_is_translated_and_none_is_fuzzy():
    entries = [entry for entry in po_entries(PO_FILE) if entry.get("msgid")]
    assert len(entries) > 100
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    untranslated = [
        entry["msgid"] for entry in entries if not (entry.get("msgstr") or entry.get("msgstr[0]"))
    ]
    assert fuzzy == []
    assert untranslated == []


def test_the_catalogue_header_is_not_fuzzy():
    header = po_entries(PO_FILE)[0]
    assert header.get("msgid") == ""
    assert "fuzzy" not in header["flags"]
    assert "charset=UTF-8" in header["msgstr"]


def test_python_format_placeholders_survive_translation():
    for entry in po_entries(PO_FILE):
        if "python-format" not in entry["flags"]:
            continue
        translated = entry.get("msgstr") or entry.get("msgstr[0]", "")
        assert set(re.findall(r"%\(\w+\)", translated)) == set(re.findall(r"%\(\w+\)", entry["msgid"])), entry


def catalogue_keys() -> set[tuple[str | None, str]]:
    """The (context, msgid) pairs the catalogue holds, plural msgids included."""
    keys = set()
    for entry in po_entries(PO_FILE):
        for field in ("msgid", "msgid_plural"):
            if entry.get(field):
                keys.add((entry.get("msgctxt"), entry[field]))
    return keys


def _blocktranslate_msgid(body: str, trimmed: bool) -> str:
    """The msgid Django makes of a blocktranslate body: {{ name }} becomes %(name)s, % becomes %%."""
    parts = _BLOCK_VARIABLE.split(body)
    msgid = "".join(
        part.replace("%", "%%") if index % 2 == 0 else f"%({part})s" for index, part in enumerate(parts)
    )
    return re.sub(r"\s*\n\s*", " ", msgid.strip()) if trimmed else msgid


def template_msgids(source: str) -> set[tuple[str | None, str]]:
    """The (context, msgid) pairs a template's {% translate %} and {% blocktranslate %} tags ask for."""
    wanted = set()
    for match in _TRANSLATE_TAG.finditer(source):
        context = ast.literal_eval(match["context"]) if match["context"] else None
        wanted.add((context, ast.literal_eval(match["msgid"]).replace("%", "%%")))
    for match in _BLOCK_TAG.finditer(source):
        options = match["options"]
        context_match = _BLOCK_CONTEXT.search(options)
        context = ast.literal_eval(context_match[1]) if context_match else None
        trimmed = re.search(r"\btrimmed\b", options) is not None
        for body in _BLOCK_PLURAL.split(match["body"]):
            wanted.add((context, _blocktranslate_msgid(body, trimmed)))
    return wanted


def python_msgids(source: str) -> dict[str, int]:
    """The literal strings a module passes alone to _(), gettext() or gettext_lazy(), with their line."""
    return {
        ast.literal_eval(match["literal"]): source.count("\n", 0, match.start()) + 1
        for match in _PYTHON_CALL.finditer(source)
    }


def test_the_template_reader_finds_what_makemessages_extracts():
    source = """{% translate "Save" %} {% translate '100% sure' %}
      {% translate "Debit" context "statement column" as debit %}
      {% blocktranslate with name=user.name %}Hello {{ name }}, 5% off{% endblocktranslate %}
      {% blocktranslate trimmed count counter=rows|length %}
        {{ counter }} row
      {% plural %}
        {{ counter }} rows
      {% endblocktranslate %}
      {% blocktrans context "menu" %}Open{% endblocktrans %}"""

    assert template_msgids(source) == {
        (None, "Save"),
        (None, "100%% sure"),
        ("statement column", "Debit"),
        (None, "Hello %(name)s, 5%% off"),
        (None, "%(counter)s row"),
        (None, "%(counter)s rows"),
        ("menu", "Open"),
    }


def test_the_python_reader_takes_single_literals_only():
    source = """label = _("Customers")
    other = gettext_lazy('it\\'s due')
    long = _(
        "Nothing is open."
    )
    formatted = _("%(n)s days") % {"n": 3}
    concatenated = _("one " "two")
    variable = _(name)
    method = self._("not gettext")
    """

    assert python_msgids(source) == {"Customers": 1, "it's due": 2, "Nothing is open.": 3, "%(n)s days": 6}


def test_every_app_with_templates_is_checked():
    apps = {template.split("/")[0] for template in TEMPLATES}
    assert {"web", "accounts", "portal", "ledger", "collections"} <= apps
    assert "web/templates/web/customer_detail.html" in TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_string_a_template_translates_is_in_the_catalogue(template):
    wanted = template_msgids((PACKAGE_DIR / template).read_text(encoding="utf-8"))
    missing = sorted(wanted - catalogue_keys(), key=str)
    assert missing == [], f"run makemessages -l zh_Hans and translate: {missing}"


@pytest.mark.parametrize("module", PYTHON_SOURCES)
def test_every_literal_the_python_code_translates_is_in_the_catalogue(module):
    wanted = python_msgids((PACKAGE_DIR / module).read_text(encoding="utf-8"))
    msgids = {msgid for _context, msgid in catalogue_keys()}
    missing = [f"line {line}: {msgid!r}" for msgid, line in wanted.items() if msgid not in msgids]
    assert missing == [], f"run makemessages -l zh_Hans and translate: {missing}"
