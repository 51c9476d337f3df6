"""The identity of a statement line within its bank account, so that no line is stored twice.

Banks re-send days: a monthly file overlaps the dailies, an export is run again with a wider
range. A line is therefore recognised by what it is, not by where it sits in a file:

* ``ref:<bank reference>`` where the bank gives the line a reference of its own (camt
  ``AcctSvcrRef``, the MT940 bank reference after ``//``) that occurs once in the statement;
* otherwise ``sha:<SHA-256>`` of the line's normalised content plus its occurrence number among
  lines with the same content (and so the same booking date) in the statement. Two genuine
  identical payments on one day stay two lines (occurrences 1 and 2), while the same day sent
  again in another file gives the same identities, since each line's number depends only on the
  lines of its own day before it.

Pure: no database. The content is normalised (whitespace collapsed, case folded, amounts
compared by value) so that two exports of the same day that differ only in layout agree.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from huikuan.banking.parsing import ParsedLine

#: The column holding an identity is this long; a longer bank reference is stored hashed.
IDENTITY_MAX_LENGTH = 120
REF_PREFIX = "ref:"
SHA_PREFIX = "sha:"
#: Placeholders banks write where they have no reference: never an identity.
NOT_A_REFERENCE = frozenset({"", "NONREF", "NOTPROVIDED", "NOT PROVIDED", "NONE", "N/A", "NA", "-"})
# Changing how content is normalised would change every "sha:" identity: bump this with it.
_CONTENT_VERSION = "1"
_SEPARATOR = "\x1f"


def _text(value: str) -> str:
    return " ".join((value or "").split()).casefold()


def _account(value: str) -> str:
    return "".join((value or "").split()).upper()


def _amount(value: Decimal) -> str:
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def bank_reference_usable(reference: str) -> bool:
    """Return whether a bank reference can identify a line (not blank, not a NONREF placeholder)."""
    return reference.strip().upper() not in NOT_A_REFERENCE


def line_content(line: ParsedLine) -> str:
    """Return the normalised content of a line: what two exports of the same booking agree on."""
    return _SEPARATOR.join(
        (
            _CONTENT_VERSION,
            line.booking_date.isoformat(),
            line.value_date.isoformat() if line.value_date else "",
            _amount(line.amount),
            (line.currency or "").strip().upper(),
            _text(line.counterparty_name),
            _account(line.counterparty_account),
            _text(line.remittance),
            _text(line.structured_reference),
            _text(line.end_to_end_id),
            _text(line.transaction_code),
            _text(line.bank_reference),
        )
    )


def _reference_identity(reference: str) -> str:
    identity = REF_PREFIX + reference
    if len(identity) <= IDENTITY_MAX_LENGTH:
        return identity
    return REF_PREFIX + "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def _content_identity(content: str, occurrence: int) -> str:
    digest = hashlib.sha256(f"{content}{_SEPARATOR}{occurrence}".encode()).hexdigest()
    return SHA_PREFIX + digest


def statement_line_identities(lines: Sequence[ParsedLine]) -> list[str]:
    """Return the identity of each line of one statement, in order; all distinct.

    A bank reference that occurs more than once in the statement identifies nothing, so those
    lines fall back to their content hash (which includes the reference).
    """
    references = Counter(line.bank_reference.strip() for line in lines)
    occurrences: Counter[str] = Counter()
    identities: list[str] = []
    for line in lines:
        reference = line.bank_reference.strip()
        if bank_reference_usable(reference) and references[reference] == 1:
            identities.append(_reference_identity(reference))
            continue
        content = line_content(line)
        occurrences[content] += 1
        identities.append(_content_identity(content, occurrences[content]))
    return identities
