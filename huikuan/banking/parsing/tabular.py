"""Bank statements exported as CSV or XLSX, read through a column mapping kept per bank account.

The mapping (``BankAccount.csv_mapping``) is plain JSON::

    {
      "preset": "icbc",                  # optional: start from a built-in layout (see PRESETS);
                                         # the keys below override it, "columns" key by key
      "columns": {
        "booking_date": "交易日期",       # required
        "value_date": "起息日",
        "amount": "交易金额",             # a signed amount (credits positive) …
        "direction": "借贷标志",          # … optionally with a column saying which way it went
        "credit": "贷方发生额",           # … or money in and money out in two columns
        "debit": "借方发生额",
        "currency": "币种",
        "counterparty_name": "对方户名",
        "counterparty_account": "对方账号",
        "remittance": ["摘要", "用途", "附言"],
        "bank_reference": "流水号",
        "end_to_end_id": "…", "structured_reference": "…", "transaction_code": "交易类型",
        "balance": "余额",                # the running balance after each line
        "account_number": "本方账号"       # our own account, when the file has a column for it
      },
      "currency": "CNY",                 # used when there is no currency column or it is empty
      "account_number": "…",             # our account number, when the file does not say it
      "date_format": "%Y%m%d",           # only for day/month orders that cannot be told apart
      "encoding": "gbk",                 # CSV only; UTF-8 and GB18030/GBK are recognised anyway
      "skip_rows": 3,                    # rows above the header; without it the header is found
      "decimal_comma": false,            # true for 1.234,56
      "credit_marks": ["贷", "C"], "debit_marks": ["借", "D"]   # values of the direction column
    }

A column is named by its header text (compared without spaces, case or full-width forms, so
``贷方发生额（收入）`` matches ``贷方发生额(收入)``) or by a list of header texts: the first one the
file has is used, except for ``remittance``, where every one the file has is read and the texts
are joined with a space. Either ``amount`` or at least one of ``credit``/``debit`` must be found;
when the mapping names both, ``amount`` wins if the file has it. Debit amounts count as money
out whatever their sign.

Without ``skip_rows`` the header is the first row, among the first 50, that holds the date
column and an amount column; title rows above it are skipped, and an account number written in
them (``账号：…``) becomes the statement's account. Rows with no amount (notes, blank lines) and
total rows (``合计``, ``总计``, ``Total`` …) are left out and counted in a warning; any other row
that cannot be read stops the import with its row number and column. The rows of each account
and currency make one statement; with a balance column its opening and closing balances come
from the running balance, whichever order (oldest or newest first) the file is in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from huikuan.banking.parsing import ParsedLine, ParsedStatement, StatementFormat, StatementParseError
from huikuan.banking.parsing.common import account_clean, statement_finished, text_clean
from huikuan.core.tabular import (
    XLSX_SUFFIXES,
    CellError,
    TableError,
    amount_parse,
    amount_to_minor,
    cell_text,
    currency_parse,
    date_format_normalise,
    date_parse,
    table_open,
)

#: Built-in layouts, selectable as {"preset": NAME}. Header texts as the banks' corporate
#: online banking exports write them; several spellings where exports differ between versions.
PRESETS: dict[str, dict[str, Any]] = {
    "generic": {
        "columns": {
            "booking_date": ["Booking date", "Date", "Transaction date", "Posting date"],
            "value_date": ["Value date"],
            "amount": ["Amount"],
            "credit": ["Credit", "Money in", "Paid in", "Deposit"],
            "debit": ["Debit", "Money out", "Paid out", "Withdrawal"],
            "currency": ["Currency"],
            "counterparty_name": ["Counterparty", "Counterparty name", "Payer", "Name"],
            "counterparty_account": ["Counterparty account", "Payer account", "IBAN"],
            "remittance": ["Description", "Remittance", "Details", "Memo", "Reference"],
            "bank_reference": ["Bank reference", "Transaction ID", "Transaction reference"],
            "end_to_end_id": ["End-to-end ID"],
            "balance": ["Balance"],
            "account_number": ["Account", "Account number"],
        },
    },
    # 中国工商银行 企业网银 账户明细
    "icbc": {
        "currency": "CNY",
        "columns": {
            "booking_date": ["交易时间", "交易日期", "入账日期"],
            "credit": ["贷方发生额", "贷方金额"],
            "debit": ["借方发生额", "借方金额"],
            "currency": ["币种"],
            "counterparty_name": ["对方单位名称", "对方户名", "对方单位"],
            "counterparty_account": ["对方账号", "对方帐号"],
            "remittance": ["摘要", "用途", "附言", "个性化信息"],
            "balance": ["余额"],
            "account_number": ["本方账号", "本方帐号"],
        },
    },
    # 中国建设银行 企业网银 账户明细
    "ccb": {
        "currency": "CNY",
        "columns": {
            "booking_date": ["记账日期", "交易时间", "交易日期"],
            "credit": ["贷方发生额（收入）", "贷方发生额"],
            "debit": ["借方发生额（支取）", "借方发生额"],
            "currency": ["币种"],
            "counterparty_name": ["对方户名"],
            "counterparty_account": ["对方账号", "对方帐号"],
            "remittance": ["摘要", "备注", "用途"],
            "bank_reference": ["账户明细编号-交易流水号", "交易流水号"],
            "balance": ["余额"],
            "account_number": ["账号"],
        },
    },
    # 招商银行 企业网银 交易明细
    "cmb": {
        "currency": "CNY",
        "columns": {
            "booking_date": ["交易日", "交易日期"],
            "value_date": ["起息日"],
            "credit": ["贷方金额"],
            "debit": ["借方金额"],
            "currency": ["币种"],
            "counterparty_name": ["收(付)方名称", "对方户名"],
            "counterparty_account": ["收(付)方帐号", "收(付)方账号", "对方账号"],
            "remittance": ["摘要", "用途", "业务摘要", "其它摘要"],
            "bank_reference": ["流水号"],
            "transaction_code": ["交易类型"],
            "balance": ["余额"],
        },
    },
}

FIELDS = (
    "booking_date value_date amount direction credit debit currency counterparty_name counterparty_account "
    "remittance bank_reference end_to_end_id structured_reference transaction_code balance account_number"
).split()
KEYS = {"preset", "columns", "currency", "account_number", "date_format", "encoding", "skip_rows",
        "decimal_comma", "credit_marks", "debit_marks"}  # fmt: skip
CREDIT_MARKS = ("贷", "收", "收入", "来账", "贷方", "C", "CR", "CRDT", "CREDIT", "IN", "+")
DEBIT_MARKS = ("借", "付", "支出", "往账", "借方", "D", "DR", "DBIT", "DEBIT", "OUT", "-")
HEADER_SEARCH_ROWS = 50
_EMPTY_AMOUNTS = {"", "-", "--", "—", "/"}
_TOTAL_ROW = re.compile(
    r"^(合计|总计|小计|本页合计|本页小计|累计|总笔数|借方笔数|贷方笔数|total|subtotal|sum)", re.I
)
_TITLE_ACCOUNT = re.compile(
    r"(?:账号|帐号|账户|帐户|account(?:\s*(?:no\.?|number))?)\s*[:：]\s*([0-9A-Za-z][0-9A-Za-z \-]{4,40}[0-9A-Za-z])",
    re.I,
)


# --- the mapping ---------------------------------------------------------------------------------


@dataclass
class Mapping:
    """A checked mapping: each field's header texts, in the order they are tried."""

    columns: dict[str, list[str]]
    own_fields: set[str] = field(default_factory=set)  # named by the account's mapping, not a preset
    currency: str = ""
    account_number: str = ""
    date_format: str | None = None
    encoding: str | None = None
    skip_rows: int | None = None
    decimal_comma: bool = False
    credit_marks: frozenset[str] = frozenset()
    debit_marks: frozenset[str] = frozenset()


def mapping_check(mapping: dict[str, Any]) -> Mapping:
    """Return the mapping with its preset applied and every value checked, or raise StatementParseError."""
    if not isinstance(mapping, dict):
        raise StatementParseError(_("The column mapping must be a JSON object"))
    unknown = sorted(set(mapping) - KEYS)
    if unknown:
        raise StatementParseError(
            _("The column mapping has unknown keys: %(keys)s (known: %(known)s)")
            % {"keys": ", ".join(map(str, unknown)), "known": ", ".join(sorted(KEYS))}
        )
    preset_name = mapping.get("preset")
    base: dict[str, Any] = {}
    if preset_name is not None:
        if preset_name not in PRESETS:
            raise StatementParseError(
                _("Unknown mapping preset %(name)s; the presets are %(names)s")
                % {"name": repr(preset_name), "names": ", ".join(sorted(PRESETS))}
            )
        base = PRESETS[preset_name]
    own_columns = mapping.get("columns") or {}
    if not isinstance(own_columns, dict):
        raise StatementParseError(_("The mapping's columns must be a JSON object of field: header"))
    unknown = sorted(set(own_columns) - set(FIELDS))
    if unknown:
        raise StatementParseError(
            _("The mapping names unknown fields: %(fields)s (known: %(known)s)")
            % {"fields": ", ".join(map(str, unknown)), "known": ", ".join(FIELDS)}
        )
    columns: dict[str, list[str]] = {}
    for name, value in {**base.get("columns", {}), **own_columns}.items():
        headers = [value] if isinstance(value, str) else value
        if not isinstance(headers, list) or not all(isinstance(h, str) and h.strip() for h in headers):
            raise StatementParseError(
                _("The mapping's column %(field)s must be a header text or a list of them") % {"field": name}
            )
        if headers:
            columns[name] = headers
    if "booking_date" not in columns:
        raise StatementParseError(_("The mapping must name the booking_date column"))
    if not {"amount", "credit", "debit"} & set(columns):
        raise StatementParseError(_("The mapping must name an amount column, or credit and debit columns"))
    merged = {**base, **mapping}
    result = Mapping(columns=columns, own_fields=set(own_columns))
    currency = merged.get("currency") or ""
    if currency:
        try:
            result.currency = currency_parse(str(currency))
        except CellError as error:
            raise StatementParseError(_("The mapping's currency: %(error)s") % {"error": error})
    result.account_number = account_clean(str(merged.get("account_number") or ""))
    if merged.get("date_format"):
        try:
            result.date_format = date_format_normalise(str(merged["date_format"]))
        except ValueError as error:
            raise StatementParseError(_("The mapping's date_format: %(error)s") % {"error": error})
    if merged.get("encoding"):
        result.encoding = str(merged["encoding"])
    skip = merged.get("skip_rows")
    if skip is not None:
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise StatementParseError(_("The mapping's skip_rows must be a whole number, 0 or more"))
        result.skip_rows = skip
    result.decimal_comma = bool(merged.get("decimal_comma"))
    result.credit_marks = _marks(merged.get("credit_marks"), CREDIT_MARKS)
    result.debit_marks = _marks(merged.get("debit_marks"), DEBIT_MARKS)
    return result


def _marks(value: Any, default: tuple[str, ...]) -> frozenset[str]:
    if value is None:
        return frozenset(_header_key(mark) for mark in default)
    if not isinstance(value, list) or not all(isinstance(mark, str) for mark in value):
        raise StatementParseError(_("The mapping's credit_marks and debit_marks must be lists of texts"))
    return frozenset(_header_key(mark) for mark in value)


def _header_key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text.replace("\ufeff", "")).split()).casefold()


# --- reading -------------------------------------------------------------------------------------


def tabular_parse(
    path: Path | str, *, mapping: dict[str, Any], encoding: str | None = None
) -> list[ParsedStatement]:
    """Return the statements in a CSV or XLSX export read with ``mapping``, or raise StatementParseError."""
    checked = mapping_check(mapping)
    path = Path(path)
    xlsx = path.suffix.lower() in XLSX_SUFFIXES
    try:
        with table_open(path, encoding=encoding or checked.encoding) as table:
            return _Reader(checked, xlsx).read(_raw_rows(table))
    except TableError as error:
        raise StatementParseError(error.message)
    except StatementParseError:
        raise
    except OSError as error:
        raise StatementParseError(
            _("The file cannot be read: %(error)s") % {"error": error.strerror or error}
        )
    except Exception as error:
        if xlsx:  # openpyxl on a damaged workbook raises whatever its XML and zip layers raise
            raise StatementParseError(
                _("Not a readable .xlsx workbook (%(error)s)") % {"error": str(error)[:200]}
            )
        raise


def _raw_rows(table: Any) -> Iterator[tuple[int, list[Any]]]:
    """Yield every non-blank row with its number, the table's header row (often a title) first."""
    yield table.header_row, list(table.headers)
    for number, cells in table.records():  # rows as they are: title rows are narrower than the data
        yield number, list(cells)


@dataclass
class _Columns:
    """Where each mapped field is in the file (cell positions) and its header text for messages."""

    index: dict[str, int]
    remittance: list[int]
    label: dict[int, str]


@dataclass
class _Row:
    number: int
    account: str
    line: ParsedLine
    balance: Decimal | None


class _Reader:
    def __init__(self, mapping: Mapping, xlsx: bool) -> None:
        self.mapping = mapping
        self.xlsx = xlsx
        self.skipped_notes = 0
        self.skipped_totals = 0
        self.skipped_zero = 0
        self.warnings: list[str] = []

    def read(self, rows: Iterator[tuple[int, list[Any]]]) -> list[ParsedStatement]:
        title: list[list[Any]] = []
        columns = None
        for number, cells in rows:
            if self.mapping.skip_rows is not None:
                if number <= self.mapping.skip_rows:
                    title.append(cells)
                    continue
                columns = self._columns(cells, number, required=True)
            else:
                columns = self._columns(cells, number, required=False)
                if columns is None:
                    if len(title) >= HEADER_SEARCH_ROWS:
                        break
                    title.append(cells)
                    continue
            break
        if columns is None:
            raise StatementParseError(self._no_header())
        account = self.mapping.account_number or _title_account(title)
        parsed = [row for number, cells in rows if (row := self._row(number, cells, columns, account))]
        return self._statements(parsed)

    def _no_header(self) -> str:
        columns = self.mapping.columns
        amounts = " / ".join(
            " / ".join(columns[name]) for name in ("amount", "credit", "debit") if name in columns
        )
        if self.mapping.skip_rows is not None:
            return _(
                "The row after the %(count)s skipped rows is not a header with %(date)s and %(amount)s"
            ) % {
                "count": self.mapping.skip_rows,
                "date": " / ".join(columns["booking_date"]),
                "amount": amounts,
            }
        return _(
            "No header row with the date column (%(date)s) and an amount column (%(amount)s) in the first "
            "%(rows)s rows; check the mapping's column names, or set skip_rows"
        ) % {"date": " / ".join(columns["booking_date"]), "amount": amounts, "rows": HEADER_SEARCH_ROWS}

    def _columns(self, cells: list[Any], number: int, *, required: bool) -> _Columns | None:
        """Return the positions of the mapped columns if this row is the header, else None."""
        position: dict[str, int] = {}
        for place, cell in enumerate(cells):
            position.setdefault(_header_key(cell_text(cell)), place)
        found: dict[str, int] = {}
        remittance: list[int] = []
        label: dict[int, str] = {}
        for name, headers in self.mapping.columns.items():
            for header in headers:
                index = position.get(_header_key(header))
                if index is None:
                    continue
                label[index] = cell_text(cells[index])
                if name == "remittance":
                    if index not in remittance:
                        remittance.append(index)
                    continue
                found[name] = index
                break
        if "amount" in found:
            found.pop("credit", None)
            found.pop("debit", None)
        has_amount = bool({"amount", "credit", "debit"} & set(found))
        if "booking_date" not in found or not has_amount:
            if required:
                raise StatementParseError(
                    _("Row %(row)s: %(message)s") % {"row": number, "message": self._no_header()}
                )
            return None
        missing = [
            name for name in sorted(self.mapping.own_fields)
            if name not in found and not (name == "remittance" and remittance)
            and not (name in {"credit", "debit"} and "amount" in found)
            and not (name == "amount" and {"credit", "debit"} & set(found))
        ]  # fmt: skip
        if missing:
            self.warnings.append(
                _("Columns of the mapping not in the file: %(columns)s")
                % {
                    "columns": ", ".join(
                        f"{name} ({' / '.join(self.mapping.columns[name])})" for name in missing
                    )
                }
            )
        return _Columns(index=found, remittance=remittance, label=label)

    # --- one row ---

    def _row(self, number: int, cells: list[Any], columns: _Columns, account: str) -> _Row | None:
        def cell(name: str) -> Any:
            index = columns.index.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        def text(name: str) -> str:
            return text_clean(cell_text(cell(name)))

        def fail(name: str, message: object) -> StatementParseError:
            index = columns.index[name]
            return StatementParseError(
                _("Row %(row)s, column %(column)s: %(message)s")
                % {"row": number, "column": columns.label.get(index, name), "message": message}
            )

        if _is_total(cells):
            self.skipped_totals += 1
            return None
        amount = self._amount(cell, fail, signed="amount" in columns.index)
        if amount is None:
            self.skipped_notes += 1
            return None
        try:
            booking_date = self._date(cell("booking_date"))
        except CellError as error:
            raise fail("booking_date", _date_message(error))
        if amount == 0:
            self.skipped_zero += 1
            return None
        value_date = None
        if text("value_date"):
            try:
                value_date = self._date(cell("value_date"))
            except CellError as error:
                raise fail("value_date", _date_message(error))
        currency = self.mapping.currency
        if text("currency"):
            try:
                currency = currency_parse(cell("currency"))
            except CellError as error:
                raise fail("currency", error)
        if not currency:
            raise StatementParseError(
                _('Row %(row)s: no currency; add a currency column or "currency": "CNY" to the mapping')
                % {"row": number}
            )
        amount_column = "amount" if "amount" in columns.index else ("credit" if amount > 0 else "debit")
        try:
            amount_to_minor(amount, currency)
        except CellError as error:
            raise fail(amount_column, error)
        balance = None
        if text("balance"):
            try:
                balance = self._decimal(cell("balance"))
            except CellError as error:
                raise fail("balance", error)
        remittance = " ".join(
            part
            for index in columns.remittance
            if index < len(cells) and (part := text_clean(cell_text(cells[index])))
        )
        line = ParsedLine(
            booking_date=booking_date,
            value_date=value_date,
            amount=amount,
            currency=currency,
            counterparty_name=text("counterparty_name"),
            counterparty_account=account_clean(text("counterparty_account")),
            remittance=remittance,
            structured_reference=text("structured_reference"),
            bank_reference=text("bank_reference"),
            end_to_end_id=text("end_to_end_id"),
            transaction_code=text("transaction_code"),
            extra={"row": number},
        )
        return _Row(
            number=number,
            account=account_clean(text("account_number")) or account,
            line=line,
            balance=balance,
        )

    def _date(self, value: Any) -> date:
        if isinstance(value, int | float) and not isinstance(value, bool) and 19000101 <= value <= 29991231:
            value = str(int(value))  # 20240131 typed into a number cell
        return date_parse(value, date_format=self.mapping.date_format)

    def _decimal(self, value: Any) -> Decimal | None:
        """Return a cell's amount, or None when it is empty ("", "-", "--")."""
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip().replace("\u00a0", "").replace(" ", "")
            if text in _EMPTY_AMOUNTS:
                return None
            if self.mapping.decimal_comma:
                text = text.replace(".", "").replace(",", ".")
            value = text.removeprefix("+")
        amount = amount_parse(value)
        if not amount.is_finite():
            raise CellError(_("%(value)s is not an amount") % {"value": cell_text(value)})
        return amount

    def _amount(
        self, cell: Callable[[str], Any], fail: Callable[..., Exception], *, signed: bool
    ) -> Decimal | None:
        """Return the row's signed amount, or None when the row has none."""
        if signed:
            try:
                amount = self._decimal(cell("amount"))
            except CellError as error:
                raise fail("amount", error)
            if amount is None:
                return None
            direction = cell_text(cell("direction"))
            if direction:
                key = _header_key(direction)
                if key in self.mapping.credit_marks:
                    return abs(amount)
                if key in self.mapping.debit_marks:
                    return -abs(amount)
                raise fail(
                    "direction", _("%(value)s says neither credit nor debit") % {"value": repr(direction)}
                )
            return amount
        credit = debit = None
        try:
            credit = self._decimal(cell("credit"))
        except CellError as error:
            raise fail("credit", error)
        try:
            debit = self._decimal(cell("debit"))
        except CellError as error:
            raise fail("debit", error)
        if credit and debit:
            raise fail(
                "credit",
                _("both the credit and the debit column have an amount; one line is one or the other"),
            )
        if credit:
            return credit
        if debit:
            return -abs(debit)
        if credit is None and debit is None:
            return None
        return Decimal(0)

    # --- statements ---

    def _statements(self, rows: list[_Row]) -> list[ParsedStatement]:
        if not rows:
            raise StatementParseError(_("The file has no statement lines below its header"))
        groups: dict[tuple[str, str], list[_Row]] = {}
        for row in rows:
            groups.setdefault((row.account, row.line.currency), []).append(row)
        statements = []
        for (account, currency), group in groups.items():
            opening, closing = _balances(group)
            statement = ParsedStatement(
                format=StatementFormat.XLSX if self.xlsx else StatementFormat.CSV,
                account_number=account,
                currency=currency,
                opening_balance=opening,
                closing_balance=closing,
                lines=[row.line for row in group],
                warnings=list(self.warnings),
            )
            statements.append(statement)
        skipped = [
            ngettext("%(count)s total row", "%(count)s total rows", self.skipped_totals)
            % {"count": self.skipped_totals},
            ngettext(
                "%(count)s row without an amount", "%(count)s rows without an amount", self.skipped_notes
            )
            % {"count": self.skipped_notes},
            ngettext(
                "%(count)s row with a zero amount", "%(count)s rows with a zero amount", self.skipped_zero
            )
            % {"count": self.skipped_zero},
        ]
        counts = (self.skipped_totals, self.skipped_notes, self.skipped_zero)
        left_out = [text for text, count in zip(skipped, counts, strict=True) if count]
        if left_out:
            statements[0].warnings.append(_("Left out: %(what)s") % {"what": ", ".join(left_out)})
        return [statement_finished(statement) for statement in statements]


def _balances(rows: list[_Row]) -> tuple[Decimal | None, Decimal | None]:
    """Return the opening and closing balance from the running balance, oldest or newest row first."""
    balances = [row.balance for row in rows]
    if not balances or any(balance is None for balance in balances):
        return None, None
    amounts = [row.line.amount for row in rows]
    known: list[Decimal] = [balance for balance in balances if balance is not None]
    forward = all(known[i] == known[i - 1] + amounts[i] for i in range(1, len(rows)))
    backward = all(known[i] == known[i + 1] + amounts[i] for i in range(len(rows) - 1))
    if backward and not forward:
        return known[-1] - amounts[-1], known[0]
    return known[0] - amounts[0], known[-1]


def _is_total(cells: list[Any]) -> bool:
    first = next((text for cell in cells if (text := cell_text(cell))), "")
    return bool(_TOTAL_ROW.match(first.replace(" ", "")))


def _date_message(error: CellError) -> str:
    return str(error).replace("--date-format", "date_format in the mapping")


def _title_account(title: list[list[Any]]) -> str:
    """Return an account number written in the title rows above the header (``账号：1234…``)."""
    for cells in title:
        match = _TITLE_ACCOUNT.search(" ".join(cell_text(cell) for cell in cells))
        if match:
            return account_clean(match[1])
    return ""
