"""SWIFT MT940 statements, read through the ``mt940`` package.

The file is cut into statements here (each from its ``:20:`` to the ``-`` that ends the message
or the next ``:20:``), after dropping what surrounds them in real files: SOH/ETX control
characters, SWIFT ``{1:…}{2:…}{3:…}{4:`` block headers and ``-}``/``{5:…}`` trailers, and bank
header lines such as ABN AMRO's ``ABNANL2A``/``940``. Each statement is then given to the
package with all its corrections on (:meth:`mt940.Options.all`: reversal marks signed, ``:86:``
kept whole, the ``?31`` account apart from the name).

- Statement: ``:20:`` and ``:28C:`` make the identification, ``:25:`` the account, ``:60F:``/
  ``:60M:`` the opening and ``:62F:``/``:62M:`` the closing balance, whose currency is the
  statement's.
- ``:61:`` lines: the sign from the mark (C and RD in, D and RC out); the entry date is the
  booking date and the value date the value date (the entry date's year follows the value
  date's across a new year); the bank reference after ``//``; the type (``NTRF``) as the
  transaction code; the customer reference, unless ``NONREF``, as the end-to-end id when
  ``:86:`` gives none.
- ``:86:`` with German/SEPA subfields (``?20``–``?29``, ``?31``, ``?32``/``?33``, ``EREF+``,
  ``SVWZ+``): name, account, end-to-end id and remittance each where they belong. mBank's
  ``Z RACH.:``/``OD:`` give the account and name. Otherwise the whole text is the remittance;
  its 65-character lines are joined without a space when a line is full (a word cut in two).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import mt940
from django.utils.translation import gettext as _
from mt940 import processors as mt940_processors

from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementFormat, StatementParseError
from huikuan.banking.parsing.common import (
    account_clean,
    amount_checked,
    currency_checked,
    statement_finished,
    text_clean,
)

OPTIONS = mt940.Options.all()
#: A SWIFT text line holds 65 characters; a full line was most likely cut mid-word.
LINE_WIDTH = 65

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLOCK_HEADER = re.compile(r"\{[1-3]:(?:[^{}]|\{[^{}]*\})*\}")
_BLOCK_TRAILER = re.compile(r"\{5:(?:[^{}]|\{[^{}]*\})*\}")
_TAG = re.compile(r":(?:[0-9]{2}|NS)[A-Z]?:")
_STRUCTURED = re.compile(r"^\d{3}\?\d{2}")
_SUBFIELD = re.compile(r"\?(\d{2})")
_MBANK_ACCOUNT = re.compile(r"Z RACH\.:\s*([A-Z]{0,2}[0-9][0-9 ]{9,40})")
_MBANK_NAME = re.compile(r"\bOD:[ \t]*([^;\n]+)")


def mt940_parse(data: bytes, *, encoding: str | None = None) -> list[ParsedStatement]:
    """Return the statements of an MT940 file, or raise StatementParseError naming the line."""
    blocks = list(_statement_blocks(_decode(data, encoding)))
    if not blocks:
        raise StatementParseError(_("MT940: the file has no statement (no line starts with :20:)"))
    return [_statement(block) for block in blocks]


def _decode(data: bytes, encoding: str | None) -> str:
    for candidate in (encoding, "utf-8-sig"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")  # SWIFT text is ASCII; anything else is kept, never refused


Block = list[tuple[int, str]]  # (line number in the file, text)


def _statement_blocks(text: str) -> Iterator[Block]:
    """Yield each statement's lines with their line numbers, without envelopes and bank headers."""
    block: Block = []
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = _CONTROL.sub("", raw)
        line = _BLOCK_TRAILER.sub("", _BLOCK_HEADER.sub("", line))
        if line.startswith("{4:"):
            line = line[3:]
        stripped = line.strip()
        if stripped in {"-", "-}"} or stripped.startswith("-}"):
            if block:
                yield block
            block = []
            continue
        if line.startswith(":20:"):
            if block:
                yield block
            block = [(number, line.rstrip())]
        elif block and stripped:
            block.append((number, line.rstrip()))
    if block:
        yield block


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep the package's own error logging (the whole tag and its pattern) out of the output."""
    logger = logging.getLogger("mt940")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _keep_details(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Keep the raw ``:86:`` text: the structured post-processor replaces it by its subfields."""
    result["details_raw"] = tag_dict.get("transaction_details") or ""
    return result


def _keep_reference(
    transactions: Any, tag: Any, tag_dict: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """Keep the ``:61:`` customer reference: a ``KREF+`` in ``:86:`` is appended to it otherwise."""
    result["line_customer_reference"] = result.get("customer_reference") or ""
    return result


PROCESSORS = {
    # mBank Collect: the virtual account (IPH) id and the transaction number, kept in ``extra``.
    "pre_transaction_details": [mt940_processors.mBank_set_iph_id, mt940_processors.mBank_set_tnr],
    "post_statement": [*mt940.models.Transactions.DEFAULT_PROCESSORS["post_statement"], _keep_reference],
    "post_transaction_details": [_keep_details, mt940_processors.transaction_details_post_processor],
}


def _package_parse(block: Block) -> mt940.models.Transactions:
    transactions = mt940.models.Transactions(processors=PROCESSORS, options=OPTIONS)  # type: ignore[arg-type]
    with _quiet():
        transactions.parse("\n".join(text for _number, text in block))
    return transactions


def _statement(block: Block) -> ParsedStatement:
    try:
        transactions = _package_parse(block)
    except Exception as error:  # the package raises RuntimeError, ValueError, KeyError, …
        line = _failing_line(block)
        raise StatementParseError(
            _("MT940 line %(line)s: cannot be read (%(error)s)") % {"line": line, "error": _error_text(error)}
        )
    return _statement_from(transactions, block)


def _error_text(error: Exception) -> str:
    if isinstance(error, RuntimeError) and len(error.args) >= 3:
        return _("%(tag)s does not have the expected layout") % {
            "tag": getattr(error.args[1], "name", "a tag")
        }
    return str(error)[:200] or error.__class__.__name__


def _failing_line(block: Block) -> int:
    """Return the file line of the first tag whose statement prefix the package cannot read.

    Found by bisection over the tags, so a failing statement of n tags costs log n parses.
    """
    starts = [index for index, (_number, text) in enumerate(block) if _TAG.match(text)] or [0]
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high) // 2
        end = starts[middle + 1]
        try:
            _package_parse(block[:end])
        except Exception:
            high = middle
        else:
            low = middle + 1
    return block[starts[low]][0]


def _where(block: Block, prefix: str) -> int:
    """Return the file line of the block's first line starting with a tag (its first line otherwise)."""
    return next((number for number, text in block if text.startswith(prefix)), block[0][0])


def _statement_from(transactions: mt940.models.Transactions, block: Block) -> ParsedStatement:
    data = transactions.data
    first_line = block[0][0]
    opening = (
        data.get("final_opening_balance")
        or data.get("intermediate_opening_balance")
        or data.get("opening_balance")
    )
    closing = (
        data.get("final_closing_balance")
        or data.get("intermediate_closing_balance")
        or data.get("closing_balance")
    )
    currency = transactions.currency
    if not currency:
        raise StatementParseError(
            _(
                "MT940 line %(line)s: the statement has no opening or closing balance (:60F:/:62F:), so its currency is unknown"
            )
            % {"line": first_line}
        )
    currency = currency_checked(currency, _("MT940 line %(line)s") % {"line": _where(block, ":60")})
    reference = text_clean(data.get("transaction_reference"))
    number = data.get("statement_number") or ""
    if data.get("sequence_number"):
        number = f"{number}/{data['sequence_number']}"
    statement = ParsedStatement(
        format=StatementFormat.MT940,
        account_number=account_clean(data.get("account_identification")),
        currency=currency,
        identification=f"{reference} {number}".strip(),
        opening_balance=_balance(opening, currency, _where(block, ":60")),
        closing_balance=_balance(closing, currency, _where(block, ":62")),
    )
    line_numbers = [number for number, text in block if text.startswith(":61:")]
    for index, transaction in enumerate(transactions):
        number = line_numbers[index] if index < len(line_numbers) else first_line
        statement.lines.append(_line(transaction.data, currency, number))
    booked = [line.booking_date for line in statement.lines]
    opening_date, closing_date = (
        _plain_date(getattr(balance, "date", None)) for balance in (opening, closing)
    )
    statement.period_start = min(booked) if booked else opening_date or closing_date
    statement.period_end = max([*booked, *([closing_date] if closing_date else [])], default=opening_date)
    return statement_finished(statement)


def _plain_date(value: object) -> date | None:
    """Return the package's date subclass as a plain date."""
    return date(value.year, value.month, value.day) if isinstance(value, date) else None


def _balance(balance: Any, currency: str, line: int) -> Decimal | None:
    if balance is None or not isinstance(balance.amount, mt940.models.Amount):
        return None
    where = _("MT940 line %(line)s") % {"line": line}
    if balance.amount.currency != currency:
        currency_checked(balance.amount.currency, where)
        raise StatementParseError(
            _("%(where)s: the balance is in %(balance)s, the statement in %(currency)s")
            % {"where": where, "balance": balance.amount.currency, "currency": currency}
        )
    return amount_checked(balance.amount.amount, currency, where)


@dataclass
class Details:
    """What ``:86:`` says: the other party, the end-to-end id and the remittance text."""

    name: str = ""
    account: str = ""
    end_to_end_id: str = ""
    remittance: str = ""
    extra: dict[str, object] | None = None


def _line(data: dict[str, Any], currency: str, line_number: int) -> ParsedLine:
    where = _("MT940 line %(line)s") % {"line": line_number}
    amount = data.get("amount")
    value_date = _plain_date(data.get("date"))
    if not isinstance(amount, mt940.models.Amount) or value_date is None:
        raise StatementParseError(_("%(where)s: the :61: line has no amount or date") % {"where": where})
    line_currency = currency_checked(amount.currency or currency, where)
    entry_date = data.get("entry_date")
    customer_reference = text_clean(data.get("line_customer_reference"))
    if customer_reference.upper() == "NONREF" or customer_reference.endswith("+"):
        customer_reference = ""  # none, or only the keyword (KREF+) saying it is in :86:
    details = _details(data)
    extra: dict[str, object] = {key: value for key, value in (details.extra or {}).items() if value}
    if customer_reference:
        extra["customer_reference"] = customer_reference
    supplementary = text_clean(data.get("extra_details"))
    if supplementary:
        extra["supplementary_details"] = supplementary
    if data.get("status"):
        extra["mark"] = str(data["status"]).upper()
    for key in ("iph_id", "tnr"):
        if isinstance(data.get(key), str) and data[key]:
            extra[key] = data[key]
    return ParsedLine(
        booking_date=_plain_date(entry_date) or value_date,
        value_date=value_date,
        amount=amount_checked(amount.amount, line_currency, where),
        currency=line_currency,
        counterparty_name=details.name,
        counterparty_account=details.account,
        remittance=details.remittance,
        bank_reference=(data.get("bank_reference") or "").strip(),
        end_to_end_id=details.end_to_end_id or customer_reference,
        transaction_code=(data.get("id") or "").strip(),
        extra=extra,
    )  # fmt: skip


def _details(data: dict[str, Any]) -> Details:
    raw = data.get("details_raw") or ""
    if not isinstance(raw, str) or not raw.strip():
        return Details()
    flat = "".join(part.strip("\r\n") for part in raw.splitlines())
    if _STRUCTURED.match(flat):
        return _structured_details(data, flat)
    details = Details(remittance=_unwrapped(raw))
    account = _MBANK_ACCOUNT.search(details.remittance)
    name = _MBANK_NAME.search(raw)
    if account:
        details.account = account_clean(account[1])
    if name:
        details.name = text_clean(name[1])
    return details


def _unwrapped(text: str) -> str:
    """Join a text's lines: without a space after a full 65-character line, else with one."""
    lines = text.splitlines()
    joined = ""
    for index, line in enumerate(lines):
        if index and len(lines[index - 1]) < LINE_WIDTH:
            joined += " "
        joined += line
    return text_clean(joined)


def _structured_details(data: dict[str, Any], flat: str) -> Details:
    end_to_end = text_clean(data.get("end_to_end_reference"))
    if end_to_end.upper() == "NOTPROVIDED":
        end_to_end = ""
    purpose = text_clean(data.get("purpose"))
    if not purpose:
        # Subfields ?20–?29 hold the purpose; with keywords (EREF+, KREF+) but no SVWZ+ keep them whole.
        parts = _SUBFIELD.split(flat)
        purpose = text_clean(
            "".join(parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i].startswith("2"))
        )
    account = data.get("applicant_iban") or data.get("gvc_applicant_iban") or ""
    return Details(
        name=text_clean(data.get("applicant_name")),
        account=account_clean(account),
        end_to_end_id=end_to_end,
        remittance=purpose,
        extra={
            "posting_text": text_clean(data.get("posting_text")),
            "gvc": text_clean(str(data.get("transaction_code") or "")),
            "bic": text_clean(data.get("applicant_bin")),
            "mandate_reference": text_clean(data.get("additional_position_reference")),
        },
    )
