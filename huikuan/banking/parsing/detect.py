"""Which kind of bank file this is, and reading it with the right parser.

The content decides first, whatever the file is called: XML is read as camt.053 (anything else
in XML is refused by that parser with what it is); text whose lines carry the MT940 tags
(``:20:`` and ``:25:``/``:60F:``/``:61:``), also inside SWIFT ``{1:…}{4:`` envelopes or between
SOH/ETX characters, is MT940. Otherwise the extension decides: ``.csv``/``.txt`` and ``.xlsx``
are exports read with a column mapping, which must then be given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from huikuan.banking.parsing import ParsedStatement, StatementFormat, StatementParseError
from huikuan.banking.parsing.camt import camt_parse
from huikuan.banking.parsing.mt940 import mt940_parse
from huikuan.banking.parsing.tabular import PRESETS, tabular_parse
from huikuan.core.tabular import CSV_SUFFIXES, XLSX_SUFFIXES

#: Larger files are refused before they are read: a month of a busy account is a few megabytes.
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
SNIFF_BYTES = 64 * 1024

_MT940_START = re.compile(r"(?m)^[\x01 \t]*:20:|\{4:[\r\n \t]*:20:")
_MT940_TAG = re.compile(r"(?m)^:(?:25|28C?|60[FM]|61|62[FM]):")


def statement_format_detect(path: Path, head: bytes) -> str:
    """Return the StatementFormat of a file from its first bytes and its name, or raise StatementParseError."""
    text = _sniff_text(head)
    if text.lstrip().startswith("<"):
        return StatementFormat.CAMT053
    if _MT940_START.search(text) and _MT940_TAG.search(text):
        return StatementFormat.MT940
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return StatementFormat.XLSX
    if suffix in CSV_SUFFIXES:
        return StatementFormat.CSV
    if suffix == ".xls":
        raise StatementParseError(_("The old .xls format is not read; save the sheet as .xlsx or CSV"))
    if _MT940_TAG.search(text):
        raise StatementParseError(_("MT940: the file has no statement (no line starts with :20:)"))
    raise StatementParseError(
        _(
            "This is not a bank statement file that can be read: camt.053 XML, MT940, or CSV/XLSX with a mapping"
        )
    )


def _sniff_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def statement_file_parse(
    path: Path | str, *, mapping: dict[str, Any] | None = None, encoding: str | None = None
) -> list[ParsedStatement]:
    """Return the statements in a bank file of any supported format, or raise StatementParseError.

    ``mapping`` (a BankAccount's ``csv_mapping``, or ``{"preset": "icbc"}``) is needed for CSV and
    XLSX only; ``encoding`` overrides the guess for CSV and MT940 text.
    """
    path = Path(path)
    if not path.is_file():
        raise StatementParseError(_("No such file: %(name)s") % {"name": path.name})
    size = path.stat().st_size
    if size == 0:
        raise StatementParseError(_("The file is empty"))
    limit = getattr(settings, "HUIKUAN_BANK_FILE_MAX_BYTES", DEFAULT_MAX_BYTES)
    if size > limit:
        raise StatementParseError(
            _("The file is %(size)s MB; bank files up to %(limit)s MB are read")
            % {"size": size // (1024 * 1024), "limit": limit // (1024 * 1024)}
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        kind = statement_format_detect(path, head)
        if kind in (StatementFormat.CAMT053, StatementFormat.MT940):
            data = path.read_bytes()
            return (
                camt_parse(data) if kind == StatementFormat.CAMT053 else mt940_parse(data, encoding=encoding)
            )
    except OSError as error:
        raise StatementParseError(
            _("The file cannot be read: %(error)s") % {"error": error.strerror or error}
        )
    if not mapping:
        raise StatementParseError(
            _(
                "A CSV or XLSX statement is read with a column mapping: set one on the bank account, "
                'or name a preset such as {"preset": "icbc"} (presets: %(presets)s)'
            )
            % {"presets": ", ".join(sorted(PRESETS))}
        )
    return tabular_parse(path, mapping=mapping, encoding=encoding)
