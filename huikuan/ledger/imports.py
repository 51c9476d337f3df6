"""Importing invoices and payments from CSV or XLSX files, all or nothing.

Rows are read in chunks; each chunk costs one query to find the invoices (or payments) it
already names, and writes go in batches, so a million rows take seconds per hundred thousand
rather than a query each. Payments are applied by the same pure rule as
:func:`huikuan.ledger.services.payment_allocate` (``allocation_order`` / ``plan_allocation``)
and the derived balances refreshed by the same set-based functions.
See ``docs/import-formats.md`` for the columns and the rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from huikuan.core.bulk import chunked, indexes_deferred, rows_insert, rows_update
from huikuan.core.money import format_minor
from huikuan.core.tabular import (
    CellError,
    Column,
    Header,
    ImportResult,
    Table,
    amount_minor_parse,
    cell_text,
    currency_parse,
    date_parse,
    import_run,
)
from huikuan.customers.imports import customers_insert
from huikuan.customers.models import Customer
from huikuan.ledger.allocation import OpenItem, allocation_order, plan_allocation
from huikuan.ledger.models import Allocation, Invoice, InvoiceStatus, Payment, PaymentMethod, ShortPayment
from huikuan.ledger.services import invoice_balances_refresh, payment_balances_refresh

#: From about this many rows on, a file is loaded with the invoice indexes rebuilt at the end.
BULK_ROWS = 50_000

CUSTOMER_CODE = Column("customer_code", ("客户编码", "客户代码", "客户编号"), required=True)
CURRENCY = Column("currency", ("币种", "货币"), required=True)

INVOICE_COLUMNS = (
    Column("invoice_number", ("发票号", "发票号码", "发票编号"), required=True),
    CUSTOMER_CODE,
    Column("issue_date", ("开票日期", "发票日期"), required=True),
    Column("due_date", ("到期日", "到期日期"), required=True),
    CURRENCY,
    Column("amount", ("金额", "发票金额", "价税合计"), required=True),
    Column("description", ("描述", "摘要")),
    Column("po_number", ("订单号", "合同号", "采购订单号")),
    Column("customer_name", ("客户名称", "客户名")),
)

PAYMENT_COLUMNS = (
    Column("payment_date", ("付款日期", "收款日期", "到账日期"), required=True),
    CUSTOMER_CODE,
    CURRENCY,
    Column("amount", ("金额", "付款金额", "收款金额"), required=True),
    Column("reference", ("参考号", "流水号", "银行流水号")),
    Column("method", ("付款方式", "收款方式")),
    Column("invoice_number", ("发票号", "发票号码", "发票编号")),
    Column("payment_id", ("付款编号", "收款编号")),
)

_METHOD_WORDS = {
    PaymentMethod.BANK_TRANSFER: (
        "bank transfer", "bank_transfer", "transfer", "wire", "wire transfer", "bank", "ach", "sepa", "swift",
        "eft", "银行转账", "转账", "电汇", "网银", "银行汇款", "汇款",
    ),
    PaymentMethod.CASH: ("cash", "现金"),
    PaymentMethod.CHEQUE: ("cheque", "check", "支票", "银行支票"),
    PaymentMethod.BANK_ACCEPTANCE_BILL: (
        "bank acceptance bill", "bank_acceptance_bill", "acceptance bill", "bank acceptance", "bill",
        "banker's acceptance", "承兑汇票", "银行承兑汇票", "银承", "汇票", "商业承兑汇票",
    ),
    PaymentMethod.CARD: ("card", "credit card", "debit card", "pos", "刷卡", "银行卡", "信用卡", "借记卡"),
    PaymentMethod.OTHER: ("other", "其他", "其它"),
}  # fmt: skip
METHODS = {word.casefold(): method for method, words in _METHOD_WORDS.items() for word in words}


def method_parse(value: object) -> str | None:
    """Return the payment method a cell names (our values, English words or Chinese terms), None if empty."""
    text = " ".join(cell_text(value).split())
    if not text:
        return None
    method = METHODS.get(text.casefold())
    if method is None:
        known = ", ".join(m.value for m in PaymentMethod)
        raise CellError(
            f'"{text}" is not a payment method; use one of {known} (or 银行转账, 现金, 支票, 承兑汇票, 刷卡, 其他)'
        )
    return method


def _amount_minor(value: object, currency: str, what: str) -> int:
    """Return a positive amount in minor units, checking a currency written beside it."""
    minor, written = amount_minor_parse(value, currency)
    if written and written != currency:
        raise CellError(f'"{cell_text(value)}" is in {written}, but the currency column says {currency}')
    if minor < 0:
        raise CellError(f'"{cell_text(value)}" is negative; {what} takes only amounts above zero')
    if minor == 0:
        raise CellError(f"the amount must be greater than zero, not {cell_text(value)}")
    return minor


def _limit(text: str, length: int) -> str:
    if len(text) > length:
        raise CellError(f"is {len(text)} characters long; at most {length} fit")
    return text


# --- invoices ----------------------------------------------------------------------------


def invoices_import(
    path: Path | str,
    *,
    dry_run: bool = False,
    encoding: str | None = None,
    date_format: str | None = None,
    progress: bool = False,
) -> ImportResult:
    """Create or update invoices from a file; nothing is written unless every row is right.

    Invoices are matched by number. A changed amount updates the invoice and its open
    balance; an unknown customer code with a ``customer_name`` creates the customer.
    Raises ImportRejected listing every problem.
    """
    return import_run(
        path,
        kind="invoices",
        columns=INVOICE_COLUMNS,
        run=functools.partial(_invoices_pass, date_format=date_format),
        dry_run=dry_run,
        encoding=encoding,
        progress=progress,
    )


# (row, number, customer code, issue date, due date, currency, amount minor, description, PO)
_InvoiceRow = tuple[int, str, str, date, date, str, int, str, str]


class _Recheck(Exception):
    """The fast path met something it does not decide; the careful path looks at the row."""


@dataclass(slots=True)
class _InvoiceContext:
    header: Header
    text: Callable[[Any], str]
    date_format: str | None
    result: ImportResult
    customers: dict[str, int]
    new_customers: dict[str, tuple[str, str]]  # code → (name, currency), created by this file
    new_codes: list[str]  # the same, in the order met
    seen: dict[str, int]
    dates: dict[Any, date]  # cell → date, so that each distinct date is parsed once
    currencies: dict[Any, str]


def _invoices_pass(
    *,
    table: Table,
    header: Header,
    result: ImportResult,
    write: bool,
    progress: bool,
    date_format: str | None,
) -> None:
    context = _InvoiceContext(
        header=header,
        text=str.strip if table.text_only else cell_text,
        date_format=date_format,
        result=result,
        customers=dict(Customer.objects.values_list("code", "id")),
        new_customers={},
        new_codes=[],
        seen={},
        dates={},
        currencies={},
    )
    # A ledger without invoices needs no look-ups at all (the first import of a large file).
    look_up = Invoice.objects.exists()
    # Rebuilding the indexes once beats updating them row by row when the file is large
    # next to what is already there.
    rebuild = not look_up or table.rows_estimate >= max(BULK_ROWS, Invoice.objects.count() // 4)
    now = timezone.now()
    label = "importing invoices" if write else "checking invoices"
    with indexes_deferred(Invoice) if write and rebuild else nullcontext():
        for chunk in table.chunks(progress=progress, label=label):
            _invoices_chunk(chunk, context, look_up=look_up, write=write, now=now)


def _invoices_chunk(
    chunk: list, context: _InvoiceContext, *, look_up: bool, write: bool, now: datetime
) -> None:
    """Check one chunk of invoice rows, and write it when writing and nothing is wrong so far."""
    index, label, text = context.header.index, context.header.label, context.text
    result, problem = context.result, context.result.problem
    customers, new_customers, seen = context.customers, context.new_customers, context.seen
    dates, currencies = context.dates, context.currencies
    i_number, i_code, i_issue, i_due = (
        index[n] for n in ("invoice_number", "customer_code", "issue_date", "due_date")
    )
    i_currency, i_amount, i_description, i_po = (
        index[n] for n in ("currency", "amount", "description", "po_number")
    )
    rows: list[_InvoiceRow] = []
    known = len(context.new_codes)
    for row, cells in chunk:
        # The fast path takes rows that are certainly right and leaves the rest, and every
        # explanation, to _invoice_row_check.
        try:
            number = text(cells[i_number])
            code = text(cells[i_code])
            currency = currencies[cells[i_currency]]
            issue = dates[cells[i_issue]]
            due = dates[cells[i_due]]
            minor, written = amount_minor_parse(cells[i_amount], currency)
            description = text(cells[i_description])
            po_number = text(cells[i_po])
            if (
                not number or len(number) > 64 or number in seen or written or minor <= 0 or due < issue
                or len(description) > 500 or len(po_number) > 100
                or not code or (code not in customers and code not in new_customers)
            ):  # fmt: skip
                raise _Recheck
        except (KeyError, CellError, _Recheck):
            item = _invoice_row_check(context, row, cells)
            if item is not None:
                rows.append(item)
            continue
        seen[number] = row
        rows.append((row, number, code, issue, due, currency, minor, description, po_number))
    result.rows += len(chunk)
    chunk_customers = context.new_codes[known:]

    existing = _invoices_existing([r[1] for r in rows]) if look_up and rows else {}
    creates: list[_InvoiceRow] = []
    updates: list[tuple[int, _InvoiceRow]] = []
    for item in rows:
        row, number, code, issue, due, currency, minor, description, po_number = item
        found = existing.get(number)
        if found is None:
            creates.append(item)
            continue
        pk, customer_code, f_issue, f_due, f_currency, f_amount, f_open, f_description, f_po = found
        if customer_code != code:
            problem(row, label["customer_code"], f"invoice {number} belongs to customer {customer_code}; "
                    "an import cannot move it to another customer")  # fmt: skip
            continue
        if f_currency != currency:
            problem(
                row, label["currency"], f"invoice {number} is in {f_currency}; its currency cannot change"
            )
            continue
        settled = f_amount - f_open
        if minor < settled:
            problem(row, label["amount"], f"invoice {number} already has {format_minor(settled, currency)} "
                    f"{currency} paid or credited, more than {format_minor(minor, currency)}")  # fmt: skip
            continue
        changed = (
            (issue, due, minor) != (f_issue, f_due, f_amount)
            or (description and description != f_description)
            or (po_number and po_number != f_po)
        )
        if changed:
            updates.append((pk, (row, number, code, issue, due, currency, minor,
                                 description or f_description, po_number or f_po)))  # fmt: skip
        else:
            result.unchanged += 1
    result.created += len(creates)
    result.updated += len(updates)
    result.count("customers_created", len(chunk_customers))
    if write and result.ok:
        customers.update(
            customers_insert(
                [{"code": code, "name": new_customers[code][0], "currency": new_customers[code][1]}
                 for code in chunk_customers],
                now=now,
            )
        )  # fmt: skip
        _invoices_insert(creates, customers, now)
        _invoices_update(updates, now)


def _invoice_row_check(context: _InvoiceContext, row: int, cells: list) -> _InvoiceRow | None:
    """Check one invoice row cell by cell; report every problem and return the row if it has none."""
    index, label, text, problem = (
        context.header.index,
        context.header.label,
        context.text,
        context.result.problem,
    )
    bad = False
    number = text(cells[index["invoice_number"]])
    if not number:
        problem(row, label["invoice_number"], "an invoice number is required")
        bad = True
    elif len(number) > 64:
        problem(row, label["invoice_number"], f"is {len(number)} characters long; at most 64 fit")
        bad = True
    elif number in context.seen:
        problem(row, label["invoice_number"], f'invoice "{number}" is also on row {context.seen[number]}')
        bad = True
    currency = ""
    try:
        currency = currency_parse(cells[index["currency"]])
        context.currencies[cells[index["currency"]]] = currency
    except CellError as error:
        problem(row, label["currency"], str(error))
        bad = True
    minor = 0
    if currency:
        try:
            minor = _amount_minor(cells[index["amount"]], currency, "an invoice import")
        except CellError as error:
            problem(row, label["amount"], str(error))
            bad = True
    found: dict[str, date] = {}
    for column in ("issue_date", "due_date"):
        cell = cells[index[column]]
        try:
            found[column] = date_parse(cell, date_format=context.date_format)
        except CellError as error:
            problem(row, label[column], str(error))
            bad = True
        else:
            if len(context.dates) < 100_000:
                context.dates[cell] = found[column]
    issue, due = found.get("issue_date"), found.get("due_date")
    if issue and due and due < issue:
        problem(row, label["due_date"], f"the due date {due} is before the issue date {issue}")
        bad = True
    texts = {}
    for column, length in (("description", 500), ("po_number", 100)):
        try:
            texts[column] = _limit(text(cells[index[column]]), length)
        except CellError as error:
            problem(row, label[column], str(error))
            bad = True
    code = text(cells[index["customer_code"]])
    new_customer = None
    if not code:
        problem(row, label["customer_code"], "a customer code is required")
        bad = True
    elif code not in context.customers and code not in context.new_customers:
        name = text(cells[index["customer_name"]])
        if not name:
            problem(row, label["customer_code"],
                    f'customer "{code}" does not exist; import it first, or give a customer_name to create it')  # fmt: skip
            bad = True
        elif len(code) > 64 or len(name) > 255:
            problem(row, label["customer_code"], "the customer code (at most 64) or name (255) is too long")
            bad = True
        else:
            new_customer = (name, currency)
    if bad:
        return None
    if new_customer:
        context.new_customers[code] = new_customer
        context.new_codes.append(code)
    context.seen[number] = row
    assert issue is not None and due is not None
    return (row, number, code, issue, due, currency, minor, texts["description"], texts["po_number"])


def _invoices_existing(numbers: Sequence[str]) -> dict[str, tuple]:
    """Return the stored invoices among ``numbers`` (one query)."""
    fields = ("pk", "customer__code", "issue_date", "due_date", "currency", "amount_minor", "open_minor",
              "description", "po_number")  # fmt: skip
    return {
        row[0]: row[1:] for row in Invoice.objects.filter(number__in=numbers).values_list("number", *fields)
    }


_INVOICE_INSERT_FIELDS = ("number", "customer", "issue_date", "due_date", "currency", "amount_minor", "open_minor",
                          "status", "settled_date", "description", "po_number", "created_at", "updated_at")  # fmt: skip
_INVOICE_UPDATE_FIELDS = ("issue_date", "due_date", "amount_minor", "description", "po_number", "updated_at")


def _invoices_insert(rows: Sequence[_InvoiceRow], customers: dict[str, int], now: datetime) -> None:
    """Insert new invoices in one executemany: open for their whole amount, nothing allocated yet."""
    adapt_date = functools.lru_cache(maxsize=4096)(connection.ops.adapt_datefield_value)
    stamp = connection.ops.adapt_datetimefield_value(now)
    status = InvoiceStatus.OPEN.value
    rows_insert(
        Invoice,
        _INVOICE_INSERT_FIELDS,
        [
            (number, customers[code], adapt_date(issue), adapt_date(due), currency, minor, minor, status, None,
             description, po_number, stamp, stamp)
            for _row, number, code, issue, due, currency, minor, description, po_number in rows
        ],
    )  # fmt: skip


def _invoices_update(updates: Sequence[tuple[int, _InvoiceRow]], now: datetime) -> None:
    """Write changed invoices, then recompute their open amount and status from the ledger."""
    if not updates:
        return
    adapt_date = connection.ops.adapt_datefield_value
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows_update(
        Invoice,
        _INVOICE_UPDATE_FIELDS,
        [
            (adapt_date(issue), adapt_date(due), minor, description, po_number, stamp, pk)
            for pk, (_row, _number, _code, issue, due, _currency, minor, description, po_number) in updates
        ],
    )
    invoice_balances_refresh([pk for pk, _item in updates])


# --- payments ----------------------------------------------------------------------------


def payments_import(
    path: Path | str,
    *,
    dry_run: bool = False,
    encoding: str | None = None,
    date_format: str | None = None,
    progress: bool = False,
) -> ImportResult:
    """Record payments from a file and apply them; nothing is written unless every row is right.

    A payment is matched by ``payment_id``, else by (customer, date, amount, reference); a
    matched payment is left as it is. New payments are applied in date order like
    ``payment_allocate``: the invoices named with it first, then the oldest due first, the
    rest on account; an invoice left partly open records a short payment.
    Raises ImportRejected listing every problem.
    """
    return import_run(
        path,
        kind="payments",
        columns=PAYMENT_COLUMNS,
        run=functools.partial(_payments_pass, date_format=date_format),
        dry_run=dry_run,
        encoding=encoding,
        progress=progress,
    )


@dataclass(slots=True)
class _NewPayment:
    row: int
    customer_id: int
    received_date: date
    currency: str
    amount_minor: int
    method: str
    reference: str
    external_id: str | None
    named: tuple[int, ...]  # invoice ids, in the order given
    pk: int | None = None


def _payments_pass(
    *,
    table: Table,
    header: Header,
    result: ImportResult,
    write: bool,
    progress: bool,
    date_format: str | None,
) -> None:
    index, label = header.index, header.label
    customers: dict[str, int] = dict(Customer.objects.values_list("code", "id"))
    codes = {pk: code for code, pk in customers.items()}
    seen_ids: dict[str, int] = {}
    seen_keys: dict[tuple, int] = {}
    new: list[_NewPayment] = []
    updates: list[tuple[int, str, str]] = []
    text = str.strip if table.text_only else cell_text
    problem = result.problem
    label_text = "checking" if not write else "importing"

    for chunk in table.chunks(progress=progress, label=f"{label_text} payments"):
        parsed = []
        for row, cells in chunk:
            result.rows += 1
            bad = False
            try:
                received = date_parse(cells[index["payment_date"]], date_format=date_format)
            except CellError as error:
                problem(row, label["payment_date"], str(error))
                bad = True
            code = text(cells[index["customer_code"]])
            customer_id = customers.get(code)
            if not code:
                problem(row, label["customer_code"], "a customer code is required")
                bad = True
            elif customer_id is None:
                problem(row, label["customer_code"], f'customer "{code}" does not exist; import it first')
                bad = True
            try:
                currency = currency_parse(cells[index["currency"]])
            except CellError as error:
                problem(row, label["currency"], str(error))
                bad, currency = True, ""
            if currency:
                try:
                    minor = _amount_minor(cells[index["amount"]], currency, "a payment import")
                except CellError as error:
                    problem(row, label["amount"], str(error))
                    bad = True
            try:
                method = method_parse(cells[index["method"]])
            except CellError as error:
                problem(row, label["method"], str(error))
                bad = True
            reference = text(cells[index["reference"]])
            if len(reference) > 255:
                problem(row, label["reference"], f"is {len(reference)} characters long; at most 255 fit")
                bad = True
            external_id = text(cells[index["payment_id"]]) or None
            if external_id and len(external_id) > 100:
                problem(row, label["payment_id"], f"is {len(external_id)} characters long; at most 100 fit")
                bad = True
            numbers_text = text(cells[index["invoice_number"]]).replace("；", ";")
            numbers = [n.strip() for n in numbers_text.split(";") if n.strip()]
            if bad:
                continue
            assert customer_id is not None  # a row without a known customer is bad
            if external_id:
                if external_id in seen_ids:
                    problem(
                        row,
                        label["payment_id"],
                        f'payment "{external_id}" is also on row {seen_ids[external_id]}',
                    )
                    continue
                seen_ids[external_id] = row
            else:
                key = (customer_id, received, currency, minor, reference)
                if key in seen_keys:
                    problem(row, label["payment_id"], f"the same payment (customer, date, amount and reference) "
                            f"is also on row {seen_keys[key]}; give each a payment_id or a distinct reference")  # fmt: skip
                    continue
                seen_keys[key] = row
            parsed.append(
                (row, customer_id, received, currency, minor, method, reference, external_id, numbers)
            )
        if not parsed:
            continue

        invoices = {
            number: (pk, customer_id, currency)
            for number, pk, customer_id, currency in Invoice.objects.filter(
                number__in={n for item in parsed for n in item[8]}
            ).values_list("number", "pk", "customer_id", "currency")
        }
        by_id, by_key = _payments_existing(parsed)
        for row, customer_id, received, currency, minor, method, reference, external_id, numbers in parsed:
            found = (
                by_id.get(external_id)
                if external_id
                else by_key.get((customer_id, received, currency, minor, reference))
            )
            if found is not None:
                pk, f_customer, f_date, f_currency, f_minor, f_method, f_reference = found
                if (f_customer, f_date, f_currency, f_minor) != (customer_id, received, currency, minor):
                    problem(row, label["payment_id"], f'payment "{external_id}" is already recorded for '
                            f"{codes.get(f_customer, f_customer)} on {f_date}, {format_minor(f_minor, f_currency)} "
                            f"{f_currency}; an import cannot change a recorded payment")  # fmt: skip
                    continue
                if (method or f_method, reference or f_reference) != (f_method, f_reference):
                    updates.append((pk, method or f_method, reference or f_reference))
                    result.updated += 1
                else:
                    result.unchanged += 1
                continue
            named: list[int] = []
            for number in numbers:
                invoice = invoices.get(number)
                if invoice is None:
                    problem(row, label["invoice_number"], f'invoice "{number}" does not exist')
                elif invoice[1] != customer_id:
                    problem(row, label["invoice_number"], f'invoice "{number}" belongs to customer '
                            f"{codes.get(invoice[1], invoice[1])}, not {codes[customer_id]}")  # fmt: skip
                elif invoice[2] != currency:
                    problem(
                        row,
                        label["invoice_number"],
                        f'invoice "{number}" is in {invoice[2]}, this payment in {currency}',
                    )
                elif invoice[0] not in named:
                    named.append(invoice[0])
            if len(named) == len(set(numbers)):
                new.append(_NewPayment(row, customer_id, received, currency, minor,
                                       method or PaymentMethod.BANK_TRANSFER, reference, external_id,
                                       tuple(named)))  # fmt: skip

    result.created += len(new)
    if not result.ok:
        return
    allocations, shorts = _payments_plan(new, result)
    if write:
        _payments_write(new, updates, allocations, shorts)


def _payments_existing(parsed: list[tuple]) -> tuple[dict[str, tuple], dict[tuple, tuple]]:
    """Return stored payments the chunk may repeat, by payment id and by (customer, date, amount, reference)."""
    fields = ("pk", "customer_id", "received_date", "currency", "amount_minor", "method", "reference")
    external_ids = [item[7] for item in parsed if item[7]]
    by_id = {
        row[0]: row[1:]
        for row in Payment.objects.filter(external_id__in=external_ids).values_list("external_id", *fields)
    } if external_ids else {}  # fmt: skip
    keyless = [item for item in parsed if not item[7]]
    by_key: dict[tuple, tuple] = {}
    if keyless:
        dates = [item[2] for item in keyless]
        queryset = Payment.objects.filter(
            customer_id__in={item[1] for item in keyless}, received_date__range=(min(dates), max(dates))
        ).values_list(*fields)
        for row in queryset:
            by_key.setdefault((row[1], row[2], row[3], row[4], row[6]), row)
    return by_id, by_key


def _payments_plan(new: list[_NewPayment], result: ImportResult) -> tuple[list[tuple], list[tuple]]:
    """Apply the new payments in date order to the open invoices, in memory, by the pure rule.

    Returns (payment, invoice id, amount, date) allocations and (payment, invoice id, short
    amount, date) short payments: exactly what payment_allocate would write one payment at a time.
    """
    groups: dict[tuple[int, str], list[tuple[int, date, date]]] = {}
    open_minor: dict[int, int] = {}
    customer_ids = sorted({p.customer_id for p in new})
    for ids in chunked(customer_ids):
        rows = Invoice.objects.filter(customer_id__in=ids, open_minor__gt=0).values_list(
            "pk", "customer_id", "currency", "open_minor", "due_date", "issue_date"
        )
        for pk, customer_id, currency, minor, due, issue in rows:
            groups.setdefault((customer_id, currency), []).append((pk, due, issue))
            open_minor[pk] = minor
    allocations: list[tuple] = []
    shorts: list[tuple] = []
    paid = 0
    for payment in sorted(new, key=lambda p: (p.received_date, p.row)):
        group = groups.get((payment.customer_id, payment.currency), [])
        named = set(payment.named)
        items = [
            OpenItem(key=pk, open_minor=open_minor[pk], due_date=due)
            for pk, due, issue in group
            if open_minor[pk] > 0 and (issue <= payment.received_date or pk in named)
        ]
        plan = plan_allocation(payment.amount_minor, allocation_order(items, payment.named))
        for pk, take in plan:
            open_minor[pk] -= take
            allocations.append((payment, pk, take, payment.received_date))
            if open_minor[pk] > 0:
                shorts.append((payment, pk, open_minor[pk], payment.received_date))
            else:
                paid += 1
        if plan and any(open_minor[pk] == 0 for pk, _take in plan):
            groups[(payment.customer_id, payment.currency)] = [g for g in group if open_minor[g[0]] > 0]
    result.count("allocations", len(allocations))
    result.count("invoices_paid", paid)
    result.count("short_payments", len(shorts))
    return allocations, shorts


def _payments_write(
    new: list[_NewPayment], updates: list[tuple[int, str, str]], allocations: list[tuple], shorts: list[tuple]
) -> None:
    """Insert the payments, their allocations and short payments, then refresh derived balances."""
    for batch in chunked(new):
        created = Payment.objects.bulk_create(
            [
                Payment(customer_id=p.customer_id, received_date=p.received_date, currency=p.currency,
                        amount_minor=p.amount_minor, unapplied_minor=p.amount_minor, method=p.method,
                        reference=p.reference, external_id=p.external_id)
                for p in batch
            ]
        )  # fmt: skip
        for payment, stored in zip(batch, created, strict=True):
            payment.pk = stored.pk
    adapt_date = functools.lru_cache(maxsize=4096)(connection.ops.adapt_datefield_value)
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    rows_insert(
        Allocation,
        ("payment", "invoice", "amount_minor", "allocation_date", "reverses", "created_at"),
        [(payment.pk, pk, take, adapt_date(on), None, stamp) for payment, pk, take, on in allocations],
    )
    rows_update(
        Payment, ("method", "reference"), [(method, reference, pk) for pk, method, reference in updates]
    )
    for ids in chunked(sorted({pk for _payment, pk, _take, _on in allocations})):
        invoice_balances_refresh(ids)
    for ids in chunked(sorted({payment.pk for payment, _pk, _take, _on in allocations})):
        payment_balances_refresh(ids)
    # New payments have no short payments yet, so no (payment, invoice) pair can clash.
    rows_insert(
        ShortPayment,
        ("payment", "invoice", "currency", "short_minor", "event_date", "created_at"),
        [
            (payment.pk, pk, payment.currency, short, adapt_date(on), stamp)
            for payment, pk, short, on in shorts
        ],
    )
