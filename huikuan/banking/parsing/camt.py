"""ISO 20022 camt.053 (bank-to-customer statement), versions 001.02 to 001.08.

Elements are found by their local names, so the same code reads every version; the document's
namespace only decides whether the file is a camt.053 at all. XML is parsed with ``defusedxml``
and any DTD is refused, which rules out external entities and entity-expansion bombs.

What each part of the file becomes:

- ``Stmt``: one ParsedStatement. Account ``Acct/Id/IBAN`` (else ``Othr/Id``); currency
  ``Acct/Ccy`` (else that of the balances); identification ``Id`` and, when given,
  ``/ElctrncSeqNb``; period ``FrToDt``; opening balance ``OPBD`` (else ``PRCD``), closing ``CLBD``.
- ``Ntry``: booked entries only (``Sts`` BOOK; others are counted in a warning). An entry with
  several ``TxDtls`` becomes one line per transaction with its own amount, so a batch of
  customer payments is matched payment by payment; otherwise the entry is one line.
- Related party: the debtor for a credit, the creditor for a debit (``Pty`` wrapper of 001.08
  included), name and account.
- Remittance: the ``Ustrd`` texts, then ``Strd/RfrdDocInf/Nb`` and ``Strd/AddtlRmtInf``; when the
  payment carries none, the bank's ``AddtlTxInf`` or ``AddtlNtryInf``. ``Strd/CdtrRefInf/Ref`` is
  the structured reference.
- Bank reference: the entry's ``AcctSvcrRef`` (else ``NtryRef``); a split entry's lines get
  ``REF/1``, ``REF/2`` …, or, when the entry has no reference, their own ``AcctSvcrRef`` if
  those differ from each other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementFormat, StatementParseError
from huikuan.banking.parsing.common import (
    account_clean,
    amount_checked,
    currency_checked,
    statement_finished,
    text_clean,
)

NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
OTHER_ISO = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3}\.\d{3}\.\d{2})")
VERSIONS = range(2, 9)  # 001.02 … 001.08

_AMOUNT = re.compile(r"\d{1,18}(?:\.\d{1,5})?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def camt_parse(data: bytes) -> list[ParsedStatement]:
    """Return one ParsedStatement per ``Stmt`` of a camt.053 document, or raise StatementParseError."""
    root = _document(data)
    camt_version(root)
    _namespaces_dropped(root)
    statements_root = _child(root, "BkToCstmrStmt")
    if statements_root is None:
        raise StatementParseError(_("camt.053: the document has no BkToCstmrStmt element"))
    statements = [
        _statement(element, f"Stmt[{number}]")
        for number, element in enumerate(_children(statements_root, "Stmt"), start=1)
    ]
    if not statements:
        raise StatementParseError(_("camt.053: the document has no statement (Stmt)"))
    return statements


def _document(data: bytes) -> Element:
    """Parse the XML safely; DTDs, entities and external references are refused."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise StatementParseError(
            _("The XML file declares a DTD; bank statements never need one, so it is refused for safety")
        )
    except EntitiesForbidden:
        raise StatementParseError(
            _("The XML file declares entities (as in an entity-expansion bomb); it is refused for safety")
        )
    except ExternalReferenceForbidden:
        raise StatementParseError(
            _("The XML file refers to an external file or address; it is refused for safety")
        )
    except DefusedXmlException as error:
        raise StatementParseError(_("The XML file is refused for safety: %(error)s") % {"error": error})
    except ParseError as error:
        raise StatementParseError(_("The XML file is not well-formed: %(error)s") % {"error": error})
    except (ValueError, TypeError, LookupError, RecursionError, MemoryError) as error:
        raise StatementParseError(_("The XML file cannot be read: %(error)s") % {"error": error})


def camt_version(root: Element) -> str:
    """Return the camt.053 version ("001.02" …) of a parsed document, or raise StatementParseError."""
    namespace, _sep, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    match = NAMESPACE.fullmatch(namespace)
    if local == "Document" and match and int(match[1]) in VERSIONS:
        return f"001.{match[1]}"
    if match:
        raise StatementParseError(
            _("This is camt.053 version 001.%(version)s; versions 001.02 to 001.08 are read")
            % {"version": match[1]}
        )
    other = OTHER_ISO.fullmatch(namespace)
    if other:
        raise StatementParseError(
            _("This is an ISO 20022 %(message)s message, not a camt.053 bank statement")
            % {"message": other[1]}
        )
    raise StatementParseError(
        _("This XML file is not an ISO 20022 camt.053 bank statement (its root is %(root)s)")
        % {"root": (local or "?")[:60] + (f" in {namespace[:80]}" if namespace else "")}
    )


# --- element access by local name -------------------------------------------------------------


def _namespaces_dropped(root: Element) -> None:
    """Rename every element to its local name, so that lookups are the same for every version."""
    for element in root.iter():
        tag = element.tag
        if isinstance(tag, str) and tag.startswith("{"):
            element.tag = tag.rpartition("}")[2]


def _children(element: Element, name: str) -> list[Element]:
    return element.findall(name)


def _child(element: Element | None, *path: str) -> Element | None:
    """Return the first element down the path of local names, or None."""
    if element is None:
        return None
    return element.find("/".join(path))


def _text(element: Element | None, *path: str) -> str:
    found = _child(element, *path)
    if found is None or found.text is None:
        return ""
    return found.text.strip()


def _amount(element: Element, where: str) -> tuple[Decimal, str]:
    """Return the amount and currency (``Ccy``) of an ``Amt``-like element."""
    text = (element.text or "").strip()
    if not _AMOUNT.fullmatch(text):
        raise StatementParseError(
            _("%(where)s: %(text)s is not an amount") % {"where": where, "text": repr(text[:40])}
        )
    currency = currency_checked(element.get("Ccy"), where)
    return amount_checked(Decimal(text), currency, where), currency


def _sign(element: Element | None, where: str, *, required: bool = True) -> int:
    indicator = _text(element, "CdtDbtInd")
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    if not indicator and not required:
        return 0
    raise StatementParseError(
        _("%(where)s: CdtDbtInd must be CRDT or DBIT, not %(text)s")
        % {"where": where, "text": repr(indicator[:20])}
    )


def _date(element: Element | None, where: str) -> date | None:
    """Return the date of a ``Dt`` or ``DtTm`` element (as written, without moving time zones)."""
    text = _text(element, "Dt") or _text(element, "DtTm")
    return _date_text(text, where) if text else None


def _date_text(text: str, where: str) -> date:
    match = _DATE.match(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise StatementParseError(
        _("%(where)s: %(text)s is not a date") % {"where": where, "text": repr(text[:40])}
    )


def _account(element: Element | None) -> str:
    """Return an account's IBAN, else its other identification."""
    return account_clean(_text(element, "Id", "IBAN") or _text(element, "Id", "Othr", "Id"))


# --- statement ---------------------------------------------------------------------------------


def _statement(element: Element, where: str) -> ParsedStatement:
    account = _child(element, "Acct")
    balances = _balances(element, where)
    currency = _text(account, "Ccy")
    if not currency:
        currency = next((ccy for _kind, (_amount, ccy) in balances.items()), "")
    if not currency:
        first = _child(element, "Ntry", "Amt")
        currency = first.get("Ccy", "") if first is not None else ""
    currency = currency_checked(currency, f"{where}/Acct/Ccy")
    identification = _text(element, "Id")
    sequence = _text(element, "ElctrncSeqNb")
    if sequence:
        identification = f"{identification}/{sequence}"
    period = _child(element, "FrToDt")
    statement = ParsedStatement(
        format=StatementFormat.CAMT053,
        account_number=_account(account),
        currency=currency,
        identification=identification,
        period_start=_date_text(_text(period, "FrDtTm"), f"{where}/FrToDt/FrDtTm")
        if _text(period, "FrDtTm")
        else None,
        period_end=_date_text(_text(period, "ToDtTm"), f"{where}/FrToDt/ToDtTm")
        if _text(period, "ToDtTm")
        else None,
        opening_balance=_balance(balances, ("OPBD", "PRCD"), currency, where),
        closing_balance=_balance(balances, ("CLBD",), currency, where),
    )
    not_booked: Counter[str] = Counter()
    for number, entry in enumerate(_children(element, "Ntry"), start=1):
        status = _text(entry, "Sts", "Cd") or _text(entry, "Sts", "Prtry") or _text(entry, "Sts")
        if status and status != "BOOK":
            not_booked[status[:10]] += 1
            continue
        statement.lines.extend(_entry_lines(entry, f"{where}/Ntry[{number}]", statement))
    if not_booked:
        statement.warnings.append(
            ngettext(
                "%(count)s entry not booked yet (%(statuses)s) was left out",
                "%(count)s entries not booked yet (%(statuses)s) were left out",
                sum(not_booked.values()),
            )
            % {
                "count": sum(not_booked.values()),
                "statuses": ", ".join(f"{status} {count}" for status, count in sorted(not_booked.items())),
            }
        )
    return statement_finished(statement)


def _balances(element: Element, where: str) -> dict[str, tuple[Decimal, str]]:
    """Return the signed balances by type code (OPBD, CLBD, PRCD, ...), the first of each type."""
    balances: dict[str, tuple[Decimal, str]] = {}
    for number, balance in enumerate(_children(element, "Bal"), start=1):
        here = f"{where}/Bal[{number}]"
        kind = _text(balance, "Tp", "CdOrPrtry", "Cd") or _text(balance, "Tp", "CdOrPrtry", "Prtry")
        amount_element = _child(balance, "Amt")
        if not kind or kind in balances or amount_element is None:
            continue
        amount, currency = _amount(amount_element, f"{here}/Amt")
        balances[kind] = (amount * _sign(balance, here), currency)
    return balances


def _balance(
    balances: dict[str, tuple[Decimal, str]], kinds: tuple[str, ...], currency: str, where: str
) -> Decimal | None:
    for kind in kinds:
        if kind in balances:
            amount, balance_currency = balances[kind]
            if balance_currency != currency:
                raise StatementParseError(
                    _("%(where)s: the %(kind)s balance is in %(balance)s, the account in %(currency)s")
                    % {"where": where, "kind": kind, "balance": balance_currency, "currency": currency}
                )
            return amount
    return None


# --- entries -----------------------------------------------------------------------------------


def _transaction_code(element: Element | None) -> str:
    codes = _child(element, "BkTxCd")
    if codes is None:
        return ""
    domain = _child(codes, "Domn")
    if domain is not None and _text(domain, "Cd"):
        parts = [_text(domain, "Cd"), _text(domain, "Fmly", "Cd"), _text(domain, "Fmly", "SubFmlyCd")]
        return "/".join(part for part in parts if part)
    return _text(codes, "Prtry", "Cd")


def _entry_lines(entry: Element, where: str, statement: ParsedStatement) -> list[ParsedLine]:
    amount_element = _child(entry, "Amt")
    if amount_element is None:
        raise StatementParseError(_("%(where)s: the entry has no amount (Amt)") % {"where": where})
    amount, currency = _amount(amount_element, f"{where}/Amt")
    sign = _sign(entry, where)
    value_date = _date(_child(entry, "ValDt"), f"{where}/ValDt")
    booking_date = _date(_child(entry, "BookgDt"), f"{where}/BookgDt") or value_date
    if booking_date is None:
        raise StatementParseError(
            _("%(where)s: the entry has neither a booking nor a value date") % {"where": where}
        )
    reference = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
    code = _transaction_code(entry)
    entry_info = text_clean(_text(entry, "AddtlNtryInf"))
    extra: dict[str, object] = {"entry_info": entry_info} if entry_info else {}
    if _text(entry, "RvslInd").lower() == "true":
        extra["reversal"] = True

    def line(amount: Decimal, reference: str, details: Details, code: str, **more: object) -> ParsedLine:
        return ParsedLine(
            booking_date=booking_date,
            value_date=value_date,
            amount=amount,
            currency=currency,
            bank_reference=reference,
            transaction_code=code,
            counterparty_name=details.name,
            counterparty_account=details.account,
            remittance=details.remittance or entry_info,
            structured_reference=details.structured_reference,
            end_to_end_id=details.end_to_end_id,
            extra={**extra, **details.extra, **more},
        )

    transactions = [tx for details in _children(entry, "NtryDtls") for tx in _children(details, "TxDtls")]
    if len(transactions) > 1:
        amounts = [
            _transaction_amount(tx, currency, f"{where}/TxDtls[{n}]") for n, tx in enumerate(transactions, 1)
        ]
        if any(found is None for found in amounts):
            statement.warnings.append(
                _("%(where)s: its %(count)s transactions carry no amounts in %(currency)s; kept as one line")
                % {"where": where, "count": len(transactions), "currency": currency}
            )
        else:
            lines = _split_lines(where, transactions, amounts, sign, reference, code, line)  # type: ignore[arg-type]
            total = sum((split.amount for split in lines), Decimal(0))
            if total != amount * sign:
                statement.warnings.append(
                    _("%(where)s: its transactions add up to %(total)s, the entry is %(amount)s %(currency)s")
                    % {"where": where, "total": total, "amount": amount * sign, "currency": currency}
                )
            return lines
    details = _transaction_details(transactions[0] if transactions else None, sign)
    return [line(amount * sign, reference, details, code)]


def _split_lines(
    where: str,
    transactions: list[Element],
    amounts: list[Decimal],
    sign: int,
    reference: str,
    code: str,
    line: Callable[..., ParsedLine],
) -> list[ParsedLine]:
    """Return one line per transaction of a batched entry, each with its own amount and reference."""
    own_references = [_text(tx, "Refs", "AcctSvcrRef") for tx in transactions]
    own_unique = all(own_references) and len(set(own_references)) == len(own_references)
    lines = []
    for number, (transaction, amount) in enumerate(zip(transactions, amounts, strict=True), start=1):
        tx_sign = _sign(transaction, f"{where}/TxDtls[{number}]", required=False) or sign
        if reference:
            line_reference = f"{reference}/{number}"
        else:
            line_reference = own_references[number - 1] if own_unique else ""
        details = _transaction_details(transaction, tx_sign)
        more: dict[str, object] = {"split": number}
        if reference:
            more["entry_reference"] = reference
        lines.append(
            line(amount * tx_sign, line_reference, details, _transaction_code(transaction) or code, **more)
        )
    return lines


def _transaction_amount(transaction: Element, currency: str, where: str) -> Decimal | None:
    """Return a transaction's own amount in the entry's currency, or None when it has none."""
    for path in (("Amt",), ("AmtDtls", "TxAmt", "Amt"), ("AmtDtls", "CntrValAmt", "Amt")):
        element = _child(transaction, *path)
        if element is None:
            continue
        amount, found_currency = _amount(element, f"{where}/{'/'.join(path)}")
        if found_currency == currency:
            return amount
    return None


def _party(parties: Element | None, role: str) -> tuple[str, str]:
    """Return the name and account of the debtor or creditor (``Pty`` wrapper of 001.08 included)."""
    party = _child(parties, role)
    if party is not None and _child(party, "Pty") is not None:
        party = _child(party, "Pty")
    name = text_clean(_text(party, "Nm"))
    if not name:
        ultimate = _child(parties, f"Ultmt{role}")
        if ultimate is not None and _child(ultimate, "Pty") is not None:
            ultimate = _child(ultimate, "Pty")
        name = text_clean(_text(ultimate, "Nm"))
    return name, _account(_child(parties, f"{role}Acct"))


@dataclass
class Details:
    """What a ``TxDtls`` says about the payment: the other party, references and remittance."""

    name: str = ""
    account: str = ""
    remittance: str = ""
    structured_reference: str = ""
    end_to_end_id: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def _transaction_details(transaction: Element | None, sign: int) -> Details:
    if transaction is None:
        return Details()
    name, account = _party(_child(transaction, "RltdPties"), "Dbtr" if sign > 0 else "Cdtr")
    remittance: list[str] = []
    structured: list[str] = []
    for information in _children(transaction, "RmtInf"):
        remittance.extend(text_clean(element.text) for element in _children(information, "Ustrd"))
        for block in _children(information, "Strd"):
            structured.append(_text(block, "CdtrRefInf", "Ref"))
            remittance.extend(_text(document, "Nb") for document in _children(block, "RfrdDocInf"))
            remittance.extend(text_clean(element.text) for element in _children(block, "AddtlRmtInf"))
    transaction_info = text_clean(_text(transaction, "AddtlTxInf"))
    extra: dict[str, object] = {}
    if transaction_info:
        extra["transaction_info"] = transaction_info
    own_reference = _text(transaction, "Refs", "AcctSvcrRef")
    if own_reference:
        extra["transaction_reference"] = own_reference
    end_to_end = _text(transaction, "Refs", "EndToEndId")
    return Details(
        name=name,
        account=account,
        remittance=" ".join(part for part in remittance if part) or transaction_info,
        structured_reference=" ".join(reference for reference in structured if reference),
        end_to_end_id="" if end_to_end == "NOTPROVIDED" else end_to_end,
        extra=extra,
    )
