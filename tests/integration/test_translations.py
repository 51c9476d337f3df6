"""The Simplified Chinese catalogue is complete, compiled, and covers every string the templates show."""

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
TEMPLATES_DIR = Path(settings.PACKAGE_DIR) / "web" / "templates"
_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


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


@pytest.mark.parametrize(
    "template", sorted(p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("*.html"))
)
def test_every_string_a_template_translates_is_in_the_catalogue(template):
    source = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    msgids = {entry.get("msgid") for entry in po_entries(PO_FILE)}
    wanted = re.findall(r"""{%\s*translate\s+(?:"([^"]*)"|'([^']*)')""", source)
    missing = [double or single for double, single in wanted if (double or single) not in msgids]
    assert missing == [], f"run makemessages -l zh_Hans and translate: {missing}"
