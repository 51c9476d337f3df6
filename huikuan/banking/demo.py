"""A month of bank statement for the demo portfolio: money that has arrived but is not yet applied.

The statement is an ISO 20022 camt.053 file, as a bank would send it, for the demo's CNY
account. It pays about a quarter of the open CNY invoices the way customers really pay: most
quote the invoice number, some mangle it (no prefix, no leading zeros), some pay two invoices
in one transfer, some lose bank charges on the way, a few quote nothing and are known only by
their name; and the bank adds its own interest credit and a fee debit, which are no customer's.
The import and the matching then do the rest (``huikuan demo``, and the tests).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from xml.etree import ElementTree

from huikuan.core.money import format_minor
from huikuan.ledger.models import Invoice, InvoiceStatus

DEMO_BANK_ACCOUNT_NAME = "Demo CNY account"
DEMO_BANK_IBAN = "CN0001020304050607080910"
NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
BANK_CHARGE_MINOR = 1_500  # 15.00 CNY taken by an intermediary bank


@dataclass(frozen=True)
class DemoCredit:
    """One transfer in the generated statement, and what it truly paid (for checking matching)."""

    day: date
    amount_minor: int
    payer: str
    remittance: str
    invoices: tuple[str, ...]  # the invoices it pays; empty for the bank's own credit


def _mangled(number: str, rng: random.Random) -> str:
    """The number as a hurried payer types it: "INV-202605-00042" → "202605-42" or "20260500042"."""
    digits = number.removeprefix("INV-")
    head, _, tail = digits.partition("-")
    return rng.choice([f"{head}-{int(tail)}", f"{head}{tail}", f"inv {digits}"])


def demo_bank_credits(*, as_of: date, seed: int = 7, share: float = 0.25) -> list[DemoCredit]:
    """Plan the month's customer transfers over open CNY invoices (read in one query)."""
    rng = random.Random(seed)
    open_invoices = list(
        Invoice.objects.filter(
            currency="CNY",
            status__in=[InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID],
            issue_date__lte=as_of,
        )
        .order_by("customer_id", "due_date", "number")
        .values_list("number", "open_minor", "customer__name", "customer_id")
    )
    chosen = [row for row in open_invoices if rng.random() < share]
    credits: list[DemoCredit] = []
    index = 0
    while index < len(chosen):
        number, open_minor, payer, customer_id = chosen[index]
        day = as_of - timedelta(days=rng.randrange(0, 28))
        kind = rng.random()
        following = chosen[index + 1] if index + 1 < len(chosen) else None
        if kind < 0.12 and following is not None and following[3] == customer_id:
            # Two invoices, one transfer, both numbers quoted.
            credits.append(
                DemoCredit(
                    day,
                    open_minor + following[1],
                    payer,
                    f"货款 {number} {following[0]}",
                    (number, following[0]),
                )
            )
            index += 2
            continue
        if kind < 0.55:
            remittance = f"支付发票 {number}" if rng.random() < 0.5 else f"Payment {number}"
        elif kind < 0.75:
            remittance = f"货款 {_mangled(number, rng)}"
        elif kind < 0.88:
            remittance = f"Invoice {number}"
            open_minor = max(1, open_minor - BANK_CHARGE_MINOR)  # charges deducted on the way
        else:
            remittance = "货款"  # no reference: only the payer's name and the amount tell
        credits.append(DemoCredit(day, open_minor, payer, remittance, (number,)))
        index += 1
    credits.sort(key=lambda credit: (credit.day, credit.payer, credit.amount_minor))
    return credits


def _element(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str):
    child = ElementTree.SubElement(parent, f"{{{NAMESPACE}}}{tag}", attributes)
    if text is not None:
        child.text = text
    return child


def _balance(statement: ElementTree.Element, code: str, minor: int, day: date) -> None:
    balance = _element(statement, "Bal")
    _element(_element(_element(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _element(balance, "Amt", format_minor(abs(minor), "CNY"), Ccy="CNY")
    _element(balance, "CdtDbtInd", "CRDT" if minor >= 0 else "DBIT")
    _element(_element(balance, "Dt"), "Dt", day.isoformat())


def _entry(statement: ElementTree.Element, *, reference: str, minor: int, day: date, party: str, text: str):
    entry = _element(statement, "Ntry")
    _element(entry, "Amt", format_minor(abs(minor), "CNY"), Ccy="CNY")
    _element(entry, "CdtDbtInd", "CRDT" if minor > 0 else "DBIT")
    _element(_element(entry, "Sts"), "Cd", "BOOK")
    _element(_element(entry, "BookgDt"), "Dt", day.isoformat())
    _element(_element(entry, "ValDt"), "Dt", day.isoformat())
    _element(entry, "AcctSvcrRef", reference)
    details = _element(_element(entry, "NtryDtls"), "TxDtls")
    _element(_element(details, "Refs"), "AcctSvcrRef", reference)
    if party:
        role = "Dbtr" if minor > 0 else "Cdtr"
        _element(_element(_element(details, "RltdPties"), role), "Pty").append(_name_element(party))
    _element(_element(details, "RmtInf"), "Ustrd", text)


def _name_element(name: str) -> ElementTree.Element:
    element = ElementTree.Element(f"{{{NAMESPACE}}}Nm")
    element.text = name
    return element


def demo_bank_statement_xml(
    *, as_of: date, credits: list[DemoCredit], opening_minor: int = 50_000_000
) -> bytes:
    """Write the month as one camt.053.001.08 statement of the demo account, balances adding up."""
    ElementTree.register_namespace("", NAMESPACE)
    document = ElementTree.Element(f"{{{NAMESPACE}}}Document")
    report = _element(document, "BkToCstmrStmt")
    header = _element(report, "GrpHdr")
    _element(header, "MsgId", f"DEMO-{as_of:%Y%m%d}")
    _element(header, "CreDtTm", f"{as_of.isoformat()}T18:00:00")
    statement = _element(report, "Stmt")
    _element(statement, "Id", f"DEMO-{as_of:%Y-%m}")
    first = as_of - timedelta(days=27)
    period = _element(statement, "FrToDt")
    _element(period, "FrDtTm", f"{first.isoformat()}T00:00:00")
    _element(period, "ToDtTm", f"{as_of.isoformat()}T23:59:59")
    account = _element(statement, "Acct")
    _element(_element(account, "Id"), "IBAN", DEMO_BANK_IBAN)
    _element(account, "Ccy", "CNY")
    movements = [(credit.day, credit.amount_minor, credit.payer, credit.remittance) for credit in credits] + [
        (as_of - timedelta(days=3), 12_866, "", "活期存款利息 Interest"),
        (as_of - timedelta(days=2), -2_000, "", "账户管理费 Account fee"),
    ]
    movements.sort(key=lambda movement: movement[0])
    closing = opening_minor + sum(minor for _day, minor, _party, _text in movements)
    _balance(statement, "OPBD", opening_minor, first)
    _balance(statement, "CLBD", closing, as_of)
    for number, (day, minor, party, text) in enumerate(movements, start=1):
        _entry(
            statement, reference=f"DEMO{as_of:%Y%m}{number:06d}", minor=minor, day=day, party=party, text=text
        )
    return ElementTree.tostring(document, encoding="utf-8", xml_declaration=True)
