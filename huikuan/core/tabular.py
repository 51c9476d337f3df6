"""Reading CSV and XLSX files for the imports, and the cell rules every import shares.

A file is read as a header and a stream of rows, each carrying the row number a spreadsheet
shows (the header is usually row 1), so that every problem can point at ``FILE:ROW:COLUMN``.
Cell parsers (:func:`date_parse`, :func:`amount_parse`, :func:`amount_to_minor`) are pure
functions that raise :class:`CellError` with a message a finance clerk can act on.

An import is all or nothing: :func:`import_run` checks every row and commits the rows it
wrote only when no row has a problem.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from huikuan.core.bulk import CHUNK_ROWS
from huikuan.core.errors import HuikuanError
from huikuan.core.money import (
    CURRENCY_EXPONENTS,
    TooManyDecimals,
    UnknownCurrency,
    exponent,
    normalise_currency,
    to_minor,
)

#: Encodings tried, in order, when the user does not name one: Excel's "CSV UTF-8" (with or
#: without a byte-order mark), then the Chinese Windows code page family (GB18030 ⊃ GBK ⊃ GB2312).
AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
CSV_SUFFIXES = {".csv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
#: Problems an import keeps in full; beyond this only the count grows.
PROBLEMS_KEPT = 1000


class CellError(ValueError):
    """A cell's content cannot be used; the message says why and what to write instead."""


class TableError(HuikuanError):
    """The file as a whole cannot be read (missing, wrong format, undecodable)."""

    code = "file_unreadable"


# --- cells ---------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """Return a cell as trimmed text ("" when empty), whatever type the file gave."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps every number as a float: 30.0 means 30
    return str(value).strip()


_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_CHINESE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DAY_MONTH_UNCLEAR = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})(?:\s.*)?")


def date_parse(value: Any, *, date_format: str | None = None) -> date:
    """Return the date in a cell.

    Accepted without options: ``2024-01-31``, ``2024/1/31``, ``2024.1.31``, ``2024年1月31日``,
    ``20240131`` and real date cells of a workbook. Day-first or month-first text such as
    ``1/31/2024`` is never guessed: it needs ``date_format`` (a strftime pattern).
    """
    if value.__class__ is str:
        return _date_from_text(value, date_format)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise CellError(f"{cell_text(value)} is a number, not a date; format the column as a date")
    return _date_from_text(cell_text(value), date_format)


@functools.lru_cache(maxsize=65536)
def _date_from_text(value: str, date_format: str | None) -> date:
    # Cached: a ledger has far fewer distinct dates than rows.
    text = value.strip()
    if not text:
        raise CellError("a date is required")
    if date_format:
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            pass
    match = _YMD.fullmatch(text) or _CHINESE.fullmatch(text) or _COMPACT.fullmatch(text)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            raise CellError(f'"{text}" is not a real date')
    if date_format:
        raise CellError(f'"{text}" does not match --date-format {date_format}')
    if _DAY_MONTH_UNCLEAR.fullmatch(text):
        raise CellError(
            f'"{text}" could be month/day or day/month; say which with --date-format, '
            "e.g. --date-format %m/%d/%Y or --date-format %d/%m/%Y"
        )
    raise CellError(f'"{text}" is not a date; write it as YYYY-MM-DD')


_FORMAT_TOKENS = (("YYYY", "%Y"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("M", "%m"), ("D", "%d"))


def date_format_normalise(text: str) -> str:
    """Return a strftime pattern for ``--date-format``; ``MM/DD/YYYY`` is accepted as ``%m/%d/%Y``."""
    pattern = text.strip()
    if "%" not in pattern:
        for token, directive in _FORMAT_TOKENS:
            pattern = re.sub(rf"(?<![A-Za-z%]){token}(?![A-Za-z])", directive, pattern)
    has_year = "%Y" in pattern or "%y" in pattern
    has_month = any(d in pattern for d in ("%m", "%b", "%B"))
    if not (has_year and has_month and "%d" in pattern):
        raise ValueError(f"--date-format {text!r} must name the day, the month and the year, e.g. %m/%d/%Y")
    try:
        datetime(2024, 1, 31).strftime(pattern)
    except ValueError:
        raise ValueError(f"--date-format {text!r} is not a valid date pattern")
    return pattern


_PLAIN_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_SYMBOL = re.compile(r"(?:US\$|HK\$|CN¥|RMB|[¥￥$€£])")
_CODE_AFTER = re.compile(r"(.*?)\s*([A-Za-z]{3}|元)")
_CODE_BEFORE = re.compile(r"([A-Za-z]{3})\s*(.*)")
_CODE_ALIASES = {"RMB": "CNY", "元": "CNY"}


def amount_split(value: Any) -> tuple[Decimal, str | None]:
    """Return the amount in a cell and the currency code written with it, if any.

    Accepted: ``1234.5``, ``1,234.56``, ``¥1,234.56`` (also ``$ € £ ￥ US$ HK$``), ``1,234.56 USD``,
    ``CNY 1234``, ``-5``, and ``(100.00)`` for a negative amount. Thousands separators must
    group by three, so that ``1,50`` (a decimal comma) is refused rather than read as 150.
    """
    if isinstance(value, bool):
        raise CellError(f"{value} is not an amount")
    if isinstance(value, int):
        return Decimal(value), None
    if isinstance(value, float):
        return Decimal(repr(value)), None  # the shortest repr is what the spreadsheet showed
    if isinstance(value, Decimal):
        return value, None
    text = cell_text(value)
    if _PLAIN_AMOUNT.fullmatch(text):
        return Decimal(text), None
    if not text:
        raise CellError("an amount is required")
    rest = text.replace("\u2212", "-").replace("\u00a0", " ")
    negative = False
    if rest.startswith("(") and rest.endswith(")"):
        negative, rest = True, rest[1:-1].strip()
    code = None
    match = _CODE_AFTER.fullmatch(rest)
    if match and match[1]:
        code, rest = match[2], match[1]
    else:
        match = _CODE_BEFORE.fullmatch(rest)
        if match and match[2] and match[1].upper() != "RMB":
            code, rest = match[1], match[2]
    if rest.startswith("-") and not negative:
        negative, rest = True, rest[1:].strip()
    symbol = _SYMBOL.match(rest)
    if symbol:
        rest = rest[symbol.end() :].strip()
        if symbol[0] == "RMB":
            code = code or "RMB"
    if rest.startswith("-") and not negative:
        negative, rest = True, rest[1:].strip()
    if not _NUMBER.fullmatch(rest):
        raise CellError(f'"{text}" is not an amount')
    try:
        amount = Decimal(rest.replace(",", ""))
    except InvalidOperation:
        raise CellError(f'"{text}" is not an amount')
    if code is not None:
        code = _CODE_ALIASES.get(code, code.upper())
        if code not in CURRENCY_EXPONENTS:
            raise CellError(f'"{text}" is not an amount')
    return (-amount if negative else amount), code


def amount_parse(value: Any) -> Decimal:
    """Return the amount in a cell as a Decimal (see :func:`amount_split` for what is accepted)."""
    return amount_split(value)[0]


#: Larger amounts are refused: no invoice is a quadrillion, and the column must not overflow.
MAX_MINOR = 10**15


def amount_to_minor(amount: Decimal, currency: str) -> int:
    """Return the amount in minor units; more decimals than the currency has is an error, not rounding."""
    if not amount.is_finite():
        raise CellError(f"{amount} is not an amount")
    try:
        minor = to_minor(amount, currency, exact=True)
    except TooManyDecimals:
        places = exponent(currency)
        allowed = "no decimal places" if places == 0 else f"{places} decimal place{'s' if places > 1 else ''}"
        raise CellError(f"{amount} has more decimal places than {currency} allows ({allowed})")
    if abs(minor) >= MAX_MINOR:
        raise CellError(f"{amount} is too large an amount")
    return minor


def amount_minor_parse(value: Any, currency: str) -> tuple[int, str | None]:
    """Return a cell's amount in minor units of ``currency``, and the currency code written in it.

    Plain decimals (``1234.5``) take a fast path that shifts the digits, which is exact; every
    other form goes through :func:`amount_split` and :func:`amount_to_minor`.
    """
    if value.__class__ is str and _PLAIN_AMOUNT.fullmatch(value):
        whole, _, fraction = value.partition(".")
        places = CURRENCY_EXPONENTS[currency]
        if len(fraction) <= places:
            minor = int(whole + fraction.ljust(places, "0"))
            if -MAX_MINOR < minor < MAX_MINOR:
                return minor, None
    amount, written = amount_split(value)
    return amount_to_minor(amount, currency), written


def currency_parse(value: Any) -> str:
    """Return the ISO 4217 code in a cell (``usd`` → ``USD``; ``RMB`` and ``人民币`` → ``CNY``)."""
    return _currency_from_text(cell_text(value))


@functools.lru_cache(maxsize=1024)
def _currency_from_text(text: str) -> str:
    if not text:
        raise CellError("a currency is required")
    text = _CURRENCY_WORDS.get(text.upper(), text)
    try:
        return normalise_currency(text)
    except UnknownCurrency:
        raise CellError(f'"{text}" is not an ISO 4217 currency code (such as CNY, USD, EUR)')


_CURRENCY_WORDS = {"RMB": "CNY", "人民币": "CNY", "美元": "USD", "欧元": "EUR", "港币": "HKD", "港元": "HKD",
                   "日元": "JPY", "英镑": "GBP"}  # fmt: skip


def integer_parse(value: Any, *, minimum: int = 0) -> int:
    """Return a whole number in a cell (``30``, ``30.0`` from Excel, ``30天``)."""
    text = cell_text(value)
    cleaned = re.sub(r"\s*(天|日|days?|d)$", "", text, flags=re.IGNORECASE)
    if not re.fullmatch(r"-?\d+(?:\.0+)?", cleaned):
        raise CellError(f'"{text}" is not a whole number')
    number = int(cleaned.split(".")[0])
    if number < minimum:
        raise CellError(f"{number} is less than {minimum}")
    return number


# --- files ---------------------------------------------------------------------------------


def encoding_detect(path: Path) -> str:
    """Return the first of AUTO_ENCODINGS that decodes the whole file, or raise TableError."""
    for encoding in AUTO_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise TableError("the text is neither UTF-8 nor GB18030/GBK; name its encoding with --encoding")


class Table:
    """An open import file: its header and its rows, each with its spreadsheet row number.

    Every row :meth:`chunks` yields has exactly ``len(headers) + 1`` cells: the last one is
    always empty, so that a column the file lacks can be read at that index like any other.
    """

    def __init__(self, *, path: Path, source: Iterator[Sequence[Any]], total: int | None,
                 position: Callable[[], int], text_only: bool, rows_estimate: int,
                 encoding: str | None = None) -> None:  # fmt: skip
        self.path = path
        #: About how many rows the file has (from its size), for choosing how to write them.
        self.rows_estimate = rows_estimate
        #: Every cell is a str (CSV): importers may then use str.strip instead of cell_text.
        self.text_only = text_only
        self.encoding = encoding
        self.total = total
        self.position = position
        self._source = source
        self._number = 0
        first = next(self.records(), None)
        if first is None:
            raise TableError("the file is empty")
        self.header_row: int = first[0]
        self.headers: list[str] = [cell_text(h) for h in first[1]]

    def records(self) -> Iterator[tuple[int, Sequence[Any]]]:
        """Yield (row number, cells) for each row with something in it.

        A spreadsheet shows one row per CSV record and per sheet row, blank ones included,
        so every record counts towards the number even when it is skipped.
        """
        number = self._number
        try:
            for cells in self._source:
                number += 1
                if not cells:
                    continue
                first = cells[0]
                if first.__class__ is str:
                    if not first.strip() and not any(cell_text(c) for c in cells):
                        continue
                elif first is None and not any(cell_text(c) for c in cells):
                    continue
                self._number = number
                yield number, cells
        except UnicodeDecodeError:
            raise TableError(f"row {number + 1} cannot be read as {self.encoding}; check --encoding")
        except csv.Error as error:
            raise TableError(f"row {number + 1}: {error}")
        self._number = number

    def chunks(self, *, size: int = CHUNK_ROWS, progress: bool = False, label: str = "") -> Iterator[list]:
        """Yield lists of (row number, cells); a progress bar on stderr follows the file when asked."""
        from tqdm import tqdm

        bar = tqdm(total=self.total, desc=label, file=sys.stderr, delay=1.0, leave=False, disable=not progress,
                   unit="B" if self.text_only else "row", unit_scale=True)  # fmt: skip
        width = len(self.headers)
        pad = "" if self.text_only else None
        chunk: list = []
        done = 0
        try:
            for number, cells in self.records():
                if len(cells) != width:
                    cells = list(cells[:width]) + [pad] * (width - len(cells))
                elif cells.__class__ is not list:
                    cells = list(cells)
                cells.append(pad)
                chunk.append((number, cells))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
                    now = self.position()
                    bar.update(now - done)
                    done = now
            if chunk:
                yield chunk
        finally:
            bar.close()

    def rows(self) -> Iterator[tuple[int, list]]:
        """Yield (row number, cells) after the header, padded as :meth:`chunks` does."""
        for chunk in self.chunks():
            yield from chunk


@contextmanager
def table_open(path: Path | str, *, encoding: str | None = None) -> Iterator[Table]:
    """Open a CSV or XLSX file (chosen by its extension) as a Table; raise TableError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise TableError("no such file")
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        with _xlsx_open(path) as table:
            yield table
    elif suffix in CSV_SUFFIXES:
        with _csv_open(path, encoding) as table:
            yield table
    elif suffix == ".xls":
        raise TableError("the old .xls format is not read; save the sheet as .xlsx or CSV")
    else:
        raise TableError("only .csv and .xlsx files can be imported")


@contextmanager
def _csv_open(path: Path, encoding: str | None) -> Iterator[Table]:
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise TableError(f"unknown encoding {encoding!r}")
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # a byte-order mark is never part of the first header
    else:
        encoding = encoding_detect(path)
    size = path.stat().st_size
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="") as handle:
        sample = raw.read(1 << 20)
        raw.seek(0)
        yield Table(
            path=path,
            source=csv.reader(handle),
            total=size,
            position=raw.tell,
            text_only=True,
            rows_estimate=size * sample.count(b"\n") // max(len(sample), 1),
            encoding=encoding,
        )


@contextmanager
def _xlsx_open(path: Path) -> Iterator[Table]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise TableError(f"not a readable .xlsx workbook ({error})")
    try:
        sheet = workbook.worksheets[0]
        # Read-only sheets yield missing rows as empty ones, so counting them gives the row number.
        table = Table(path=path, source=sheet.iter_rows(values_only=True), total=sheet.max_row,
                      position=lambda: table._number, text_only=False,
                      rows_estimate=sheet.max_row or 0)  # fmt: skip
        yield table
    finally:
        workbook.close()


# --- columns -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """A column an import reads: its English name, its accepted aliases, whether it must exist."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class Header:
    """Where each known column is in a file, and the header text the file uses for it."""

    index: dict[str, int]
    label: dict[str, str]
    present: frozenset[str]


def _header_key(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def header_match(table: Table, columns: Sequence[Column], result: ImportResult) -> Header:
    """Return the column positions; missing required or doubled columns become problems in ``result``."""
    wanted = {}
    for column in columns:
        for alias in (column.name, *column.aliases):
            wanted[_header_key(alias)] = column.name
    index: dict[str, int] = {}
    label: dict[str, str] = {}
    for position, text in enumerate(table.headers):
        name = wanted.get(_header_key(text))
        if name is None:
            continue  # extra columns are ignored
        if name in index:
            result.problem(
                table.header_row, text, f"{label[name]} and {text} are the same column ({name}); keep one"
            )
            continue
        index[name] = position
        label[name] = text
    present = frozenset(index)
    for column in columns:
        if column.name not in index:
            if column.required:
                also = f" (or {' / '.join(column.aliases)})" if column.aliases else ""
                result.problem(
                    table.header_row, column.name, f"required column {column.name}{also} is missing"
                )
            index[column.name] = len(table.headers)  # the always-empty cell
            label[column.name] = column.name
    return Header(index=index, label=label, present=present)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file; ``row`` and ``column`` are None when it is the whole file."""

    row: int | None
    column: str | None
    message: str

    def format(self, path: str) -> str:
        if self.row is None:
            return f"{path}: {self.message}"
        return f"{path}:{self.row}:{self.column}: {self.message}"


@dataclass
class ImportResult:
    """What an import did (or, in a dry run or when rejected, would have done)."""

    kind: str
    path: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Further counts, such as customers created by an invoice file or allocations made.
    details: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def problem(self, row: int | None, column: str | None, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(Problem(row, column, message))

    def count(self, detail: str, n: int = 1) -> None:
        self.details[detail] = self.details.get(detail, 0) + n

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem_lines(self, limit: int = 100) -> list[str]:
        """Return ``FILE:ROW:COLUMN: message`` lines, the first ``limit`` then how many more."""
        lines = [p.format(self.path) for p in self.problems[:limit]]
        if self.problem_count > limit:
            lines.append(f"… and {self.problem_count - limit} more problems")
        return lines


class ImportRejected(HuikuanError):
    """The file has problems, so nothing was written; ``result.problems`` lists them."""

    code = "import_rejected"

    def __init__(self, result: ImportResult) -> None:
        noun = "problem" if result.problem_count == 1 else "problems"
        super().__init__(f"{result.path}: {result.problem_count} {noun}; nothing was imported")
        self.result = result


#: One pass over a file: check every row, counting in ``result``, and when ``write`` is true
#: write each chunk as long as no problem has been found.
ImportPass = Callable[..., None]


def import_run(
    path: Path | str,
    *,
    kind: str,
    columns: Sequence[Column],
    run: ImportPass,
    dry_run: bool,
    encoding: str | None,
    progress: bool,
) -> ImportResult:
    """Check every row of the file and, unless ``dry_run``, write them all in one transaction.

    All or nothing: rows are written chunk by chunk inside one transaction while the file is
    read (so that a million rows are read once and never held in memory), writing stops at
    the first problem while checking goes on to the last row, and the transaction is
    committed only if no row had a problem. Raises ImportRejected listing every problem.
    """
    result = ImportResult(kind=kind, path=str(path), dry_run=dry_run)
    try:
        with transaction.atomic() if not dry_run else nullcontext(), _sqlite_cache():
            with table_open(path, encoding=encoding) as table:
                header = header_match(table, columns, result)
                if result.ok:
                    run(table=table, header=header, result=result, write=not dry_run, progress=progress)
                # Each row's problems in the order of the file's columns, whatever order they were found in.
                position = {text: n for n, text in reversed(list(enumerate(table.headers)))}
                result.problems.sort(key=lambda p: (p.row or 0, position.get(p.column or "", len(position))))
            if not result.ok:
                raise ImportRejected(result)  # leaving the block rolls back what was written
    except TableError as error:
        result.problem(None, None, error.message)
        raise ImportRejected(result)
    return result


@contextmanager
def _sqlite_cache(megabytes: int = 256) -> Iterator[None]:
    """Give SQLite a page cache large enough for the indexes a large import keeps updating."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-1024 * int(megabytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")
