"""Bank statement files read into plain records: camt.053, MT940, and CSV/XLSX with a column mapping.

Parsers know nothing of the database. Each returns ``ParsedStatement`` records whose amounts are
``Decimal`` in the statement's currency, signed (credits positive, debits negative); the import
service turns them into minor units and rows. Anything a parser cannot read raises
``StatementParseError`` with where it happened — never another exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from huikuan.core.errors import HuikuanError


class StatementFormat:
    CAMT053 = "camt.053"
    MT940 = "mt940"
    CSV = "csv"
    XLSX = "xlsx"

    ALL = (CAMT053, MT940, CSV, XLSX)


class StatementParseError(HuikuanError):
    """A bank file that cannot be read; the message says where (line, element or row and column)."""

    code = "bank_file_invalid"


@dataclass(frozen=True)
class ParsedLine:
    """One booked transaction. ``amount`` is signed: money in is positive, money out negative."""

    booking_date: date
    amount: Decimal
    currency: str
    value_date: date | None = None
    counterparty_name: str = ""
    counterparty_account: str = ""
    remittance: str = ""  # the free text the payer wrote (unstructured remittance, :86: text)
    structured_reference: str = ""  # a creditor reference (ISO 11649 RF…, ISR, CdtrRefInf/Ref)
    bank_reference: str = ""  # the bank's own id of the entry (AcctSvcrRef, :61: bank reference)
    end_to_end_id: str = ""
    transaction_code: str = ""  # the bank's type code (BkTxCd, :61: type such as NTRF)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


@dataclass
class ParsedStatement:
    """One statement of one account: its balances as the bank gave them, and its lines."""

    format: str
    account_number: str  # the IBAN or account number as the file gives it ("" if absent)
    currency: str
    identification: str = ""  # the bank's statement id (camt Stmt/Id, MT940 :20:/:28C:)
    period_start: date | None = None
    period_end: date | None = None
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    lines: list[ParsedLine] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
