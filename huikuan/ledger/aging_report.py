"""The point-in-time aging report: one aggregate query, then light shaping in Python.

``aging_build`` returns the JSON contract the CLI, the REST API and the demo share;
``aging_table_text`` renders it as the fixed-width table ``huikuan aging`` prints.

As of a date D an invoice counts when it was issued on or before D, and its open amount is
what allocations and adjustments dated on or before D left of it. The query reads that as
``open_minor`` (today's open amount) plus whatever was settled *after* D, so its cost follows
the activity since D — nothing for today's report — instead of the whole settlement history.
Invoices settled on or before D (``settled_date``) are skipped outright.
"""

from __future__ import annotations

import gc
import json
import unicodedata
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain, pairwise, repeat
from operator import add, call, itemgetter
from queue import SimpleQueue
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet

from huikuan.core.errors import HuikuanError
from huikuan.core.money import exponent
from huikuan.customers.models import Customer
from huikuan.ledger.aging import (
    DEFAULT_BUCKETS,
    Month,
    bucket_due_dates,
    bucket_labels,
    buckets_validate,
    dso_count_back,
    month_key,
    month_shift,
    share,
)
from huikuan.ledger.models import Allocation, Invoice, InvoiceAdjustment

GROUPINGS = ("customer", "collector", "grade", "currency")

# A restriction to some customers: "AND i.customer_id IN (...)" and its parameters, or None.
Scope = tuple[str, list[Any]] | None


def _scope_sql(customers: QuerySet[Customer] | None) -> Scope:
    """Return the SQL that keeps invoices of these customers only (None: every customer)."""
    if customers is None:
        return None
    try:
        sql, params = customers.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # a queryset known to be empty (.none())
        return "AND 1 = 0", []
    return f"AND i.customer_id IN ({sql})", list(params)


class AgingGroupingInvalid(HuikuanError):
    code = "aging_grouping_invalid"


# --- SQL ---------------------------------------------------------------------------------


def _db_date(day: date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _open_amounts_sql(
    *,
    as_of: date,
    bounds: Sequence[int],
    later_only: bool,
    by: str,
    scope: Scope = None,
    customer_ids: tuple[int, int] | None = None,
) -> tuple[str, list[Any]]:
    """Return a query of open amounts as of the date, one row per customer and currency.

    With ``later_only`` false it sums invoices open today, read from the invoice_open_for_aging
    index in customer order so that grouping streams. With ``later_only`` true it sums, per
    invoice with allocations or adjustments dated after D, the correction that turns today's
    open amount into the one as of D (never below zero: nothing open is nothing owed); its cost
    follows the activity since D, nothing for today's report. Invoices settled on or before D
    appear in neither. A ``scope`` keeps only some customers' invoices.

    Rows hold code, name, currency, the grouping key (the collector's username or the grade
    when grouped by those, else null: the customer report needs no join with users), the bucket
    amounts, then the total. Invoices are summed cumulatively: ``d0`` is what falls due on or
    after the first bucket edge (the as-of date: not yet due), ``d1`` on or after the second,
    and so on; one comparison per edge and invoice instead of two is most of the query's cost.
    Bucket amounts are the differences, taken once per customer.

    ``customer_ids`` (first, after last; SQLite) reads one slice of today's open amounts, the
    customers whose ids are in that range, and hands its rows back as one JSON array of arrays
    in a single row (see ``_open_amount_batches``).
    """
    invoice, allocation = Invoice._meta.db_table, Allocation._meta.db_table
    adjustment, customer = InvoiceAdjustment._meta.db_table, Customer._meta.db_table
    edges = [_db_date(edge) for edge in bucket_due_dates(as_of, bounds)]
    columns = [f"d{k}" for k in range(len(edges))] + ["total"]
    day = _db_date(as_of)
    # SQLite gives date columns numeric affinity, so comparing one with a parameter tries to read
    # both dates as numbers on every row before comparing them as text. A unary plus takes the
    # column's affinity away: the dates compare as the text they are, the same answer for about
    # a fifth less of the query's time. PostgreSQL has no unary plus for dates, nor the cost.
    plus = "+" if connection.vendor == "sqlite" else ""
    due_date, issue_date = f"{plus}i.due_date", f"{plus}i.issue_date"
    if later_only:
        amount = "(CASE WHEN i.open_minor + later.amount > 0 THEN i.open_minor + later.amount ELSE 0 END - i.open_minor)"
        source = f"""
            (
                SELECT s.invoice_id, SUM(s.amount_minor) AS amount
                FROM (
                    SELECT invoice_id, amount_minor FROM {allocation} WHERE allocation_date > %s
                    UNION ALL
                    SELECT invoice_id, amount_minor FROM {adjustment} WHERE adjustment_date > %s
                ) s
                GROUP BY s.invoice_id
            ) later
            JOIN {invoice} i ON i.id = later.invoice_id
            WHERE {issue_date} <= %s AND (i.settled_date IS NULL OR i.settled_date > %s)"""
        source_params = [day, day, day, day]
    else:
        amount = "i.open_minor"
        source = f"{invoice} i WHERE i.settled_date IS NULL AND {issue_date} <= %s"
        source_params = [day]
        if customer_ids is not None:
            source = f"{source} AND i.customer_id >= %s AND i.customer_id < %s"
            source_params = [*source_params, *customer_ids]
    if scope is not None:
        source = f"{source} {scope[0]}"
        source_params = [*source_params, *scope[1]]
    # FILTER sums are NULL where nothing matches; CAST gives PostgreSQL's sums back as ints.
    sums = [
        f"CAST(COALESCE(SUM({amount}) FILTER (WHERE {due_date} >= %s), 0) AS BIGINT) AS d{k}"
        for k in range(len(edges))
    ]
    # The outer query turns the cumulative sums of the grouped rows into bucket amounts.
    buckets = ["g.d0", *(f"g.{later} - g.{earlier}" for earlier, later in pairwise(columns))]
    key, users = "NULL", ""
    if by == "grade":
        key = "c.grade"
    elif by == "collector":
        user_model = get_user_model()
        key = f"u.{user_model.USERNAME_FIELD}"
        users = f"LEFT JOIN {user_model._meta.db_table} u ON u.id = c.collector_id"
    select = f"c.code, c.name, g.currency, {key}, {', '.join(buckets)}, g.total"
    if customer_ids is not None:
        select = f"json_group_array(json_array({select}))"
    sql = f"""
        SELECT {select}
        FROM (
            SELECT i.customer_id, i.currency, {", ".join(sums)}, CAST(SUM({amount}) AS BIGINT) AS total
            FROM {source}
            GROUP BY i.customer_id, i.currency
        ) g
        JOIN {customer} c ON c.id = g.customer_id
        {users}
        {"" if _sorted_in_python() or customer_ids is not None else "ORDER BY c.code, g.currency"}
    """
    return sql, [*edges, *source_params]


def _sorted_in_python() -> bool:
    """Return whether the rows are put in order here rather than by the database.

    SQLite compares text as Python does (by code point), and sorting the fetched tuples here
    costs a fraction of its sorting the wide result rows. PostgreSQL orders by the database's
    collation, which Python cannot reproduce, so it keeps its ORDER BY.
    """
    return connection.vendor == "sqlite"


Rows = list[tuple]


def _open_amount_rows(*, as_of: date, bounds: Sequence[int], by: str, scope: Scope = None) -> Rows:
    """Return (code, name, currency, grouping key, *bucket amounts, total), by code, where total > 0.

    Today's open amounts come from one query, read in one go; the corrections for activity
    after the as-of date, usually none, are merged in.
    """
    corrections = _corrections(as_of=as_of, bounds=bounds, by=by, scope=scope)
    rows = _fetch_all(*_open_amounts_sql(as_of=as_of, bounds=bounds, later_only=False, by=by, scope=scope))
    if _sorted_in_python():
        rows.sort(key=itemgetter(0, 2))  # code, currency
    if corrections:
        merged = {row[:4]: row[4:] for row in rows}
        for key, extra in corrections.items():
            merged[key] = tuple(map(add, merged.get(key, (0,) * len(extra)), extra))
        ordered = sorted(merged.items(), key=lambda item: (item[0][0], item[0][2]))  # code, currency
        rows = [(*key, *amounts) for key, amounts in ordered]
    return _owing(rows)


def _corrections(*, as_of: date, bounds: Sequence[int], by: str, scope: Scope) -> dict[tuple, tuple]:
    """Return what activity after the as-of date changes, keyed by (code, name, currency, key)."""
    sql, params = _open_amounts_sql(as_of=as_of, bounds=bounds, later_only=True, by=by, scope=scope)
    return {row[:4]: row[4:] for row in _fetch_all(sql, params)}


def _owing(rows: Rows) -> Rows:
    """Return the rows whose total is more than zero."""
    if rows and min(map(itemgetter(-1), rows)) <= 0:
        return [row for row in rows if row[-1] > 0]
    return rows


# A large report on SQLite reads today's open amounts in _SLICES slices of the customer ids, one
# after the other in a second thread on the report's own connection, while this thread shapes
# the slices already read: SQLite lets go of the GIL while it sums, so the two overlap on two
# cores. Each slice comes back as one JSON text in one row. Row by row, the reading thread would
# need the GIL back for every row while this thread holds it for shaping, and would wait for it
# each time. From _SLICE_MIN_INVOICES invoices on; below, one query is as quick. (Two connections
# summing at once were tried: SQLite's allocator takes a process-wide lock for every group's
# sums, and the two threads spent the second core waiting on it.)
_SLICES = 16
_SLICE_MIN_INVOICES = 50_000


def _customer_id_ranges() -> list[tuple[int, int]] | None:
    """Return the customer id ranges (first, after last) to read as slices, or None for one query.

    The invoice count and the id range come from the ends of two indexes, whatever the tables'
    sizes. Slices need SQLite's JSON functions; Django asks SQLite about them once per
    connection, and only a large report asks.
    """
    if connection.vendor != "sqlite":
        return None
    customer = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT (SELECT MAX(id) FROM {Invoice._meta.db_table}),
                       (SELECT MIN(id) FROM {customer}), (SELECT MAX(id) FROM {customer})"""
        )
        invoices, first, last = cursor.fetchone()
    if invoices is None or invoices < _SLICE_MIN_INVOICES or first is None or last - first < _SLICES:
        return None
    if not connection.features.supports_json_field:
        return None
    edges = [first + (last + 1 - first) * k // _SLICES for k in range(_SLICES + 1)]
    return list(pairwise(edges))


def _open_amount_batches(
    *,
    as_of: date,
    bounds: Sequence[int],
    by: str,
    scope: Scope,
    cursor: CursorWrapper,
    executor: ThreadPoolExecutor,
) -> Iterator[tuple[Rows, bool]]:
    """Yield batches of rows as ``_open_amount_rows`` returns them, each with whether it is the last.

    A small report, and any report on PostgreSQL, is one batch in code order. A large one on
    SQLite is a batch per slice of customer ids (see ``_customer_id_ranges``), each read by
    ``executor``'s thread through ``cursor`` while the caller shapes the one before; their rows
    are in no order, and a last batch holds the customers that only the corrections make owing.
    Nothing else may use the connection until the batches are done.
    """
    ranges = _customer_id_ranges()
    if ranges is None:
        yield _open_amount_rows(as_of=as_of, bounds=bounds, by=by, scope=scope), True
        return
    corrections = _corrections(as_of=as_of, bounds=bounds, by=by, scope=scope)
    queries = [
        _open_amounts_sql(as_of=as_of, bounds=bounds, later_only=False, by=by, scope=scope, customer_ids=ids)
        for ids in ranges
    ]
    texts: SimpleQueue[str | BaseException] = SimpleQueue()

    def read() -> None:
        try:
            for sql, params in queries:
                cursor.execute(sql, params)
                texts.put(cursor.fetchone()[0])
        except BaseException as error:  # raised in the caller's thread
            texts.put(error)

    executor.submit(read)
    for number in range(1, len(queries) + 1):
        text = texts.get()
        if isinstance(text, BaseException):
            raise text
        rows: Rows = list(map(tuple, json.loads(text)))
        if corrections:
            rows = [
                (*row[:4], *map(add, row[4:], extra)) if (extra := corrections.pop(row[:4], None)) else row
                for row in rows
            ]
        last = number == len(queries)
        yield _owing(rows), last and not corrections
    if corrections:  # customers with nothing open today that owed something on the date
        yield _owing([(*key, *extra) for key, extra in corrections.items()]), True


def _monthly_sales(
    cursor: CursorWrapper,
    *,
    since: date | None,
    until: date,
    currencies: Sequence[str],
    scope: Scope = None,
) -> dict[str, dict[Month, int]]:
    """Return invoiced amounts per currency and month, issued from ``since`` (or ever) to ``until``.

    The query groups by day, in the order of the invoice_sales_by_day index it reads alone,
    which spares the database a sort of the invoices; the days are summed into months. SQLite
    sums them itself, a sort of a few hundred rows: it hands back each row in a step of its own,
    and this runs in a thread next to one that shapes customers, where every step waits for the
    GIL (up to 5 ms each). Summed into months, the query hands back a row per month, not per day.
    """
    adapt = cursor.db.ops.adapt_datefield_value
    marks = ", ".join(["%s"] * len(currencies))
    params: list[Any] = [adapt(until), *currencies]
    after = ""
    if since is not None:
        after = "AND i.issue_date >= %s"
        params.append(adapt(since))
    if scope is not None:
        after = f"{after} {scope[0]}"
        params.extend(scope[1])
    sql = f"""
        SELECT i.issue_date AS day, i.currency AS currency, CAST(SUM(i.amount_minor) AS BIGINT) AS amount
        FROM {Invoice._meta.db_table} i
        WHERE i.issue_date <= %s AND i.currency IN ({marks}) {after}
        GROUP BY i.issue_date, i.currency
    """
    if cursor.db.vendor == "sqlite":  # dates are ISO text there: the month is the first 7 characters
        sql = f"SELECT substr(d.day, 1, 7), d.currency, SUM(d.amount) FROM ({sql}) d GROUP BY 1, 2"
    sales: dict[str, dict[Month, int]] = {currency: {} for currency in currencies}
    cursor.execute(sql, params)
    for day, currency, amount in cursor.fetchall():
        key = (int(day[:4]), int(day[5:7])) if isinstance(day, str) else (day.year, day.month)
        months = sales[currency]
        months[key] = months.get(key, 0) + amount
    return sales


# How many months of sales each successive query reads for the count-back. Most portfolios are
# covered by the first; a few more queries, never one per month, reach further back.
_SALES_WINDOWS: tuple[int | None, ...] = (3, 12, None)


def _dso_by_currency(
    cursor: CursorWrapper, *, as_of: date, receivables: dict[str, int], scope: Scope = None
) -> dict[str, Decimal | None]:
    """Return the count-back DSO of each currency's receivable, reading only the months it needs.

    Queries go through the given cursor, so that the work can run in another thread on the
    report's own connection and transaction (see ``_aging_build``).
    """
    result: dict[str, Decimal | None] = {}
    sales: dict[str, dict[Month, int]] = {currency: {} for currency in receivables}
    pending = sorted(receivables)
    until, covered = as_of, 0
    for window in _SALES_WINDOWS:
        if not pending:
            break
        earliest: Month | None = None
        since = None
        if window is not None:
            covered += window
            earliest = month_shift(month_key(as_of), -(covered - 1))
            since = date(earliest[0], earliest[1], 1)
        for currency, months in _monthly_sales(
            cursor, since=since, until=until, currencies=pending, scope=scope
        ).items():
            sales[currency].update(months)
        for currency in list(pending):
            dso = dso_count_back(
                as_of=as_of,
                receivable_minor=receivables[currency],
                monthly_sales=sales[currency],
                earliest=earliest,
            )
            if dso is not None or window is None:
                result[currency] = dso
                pending.remove(currency)
        if since is not None:
            until = since - timedelta(days=1)
    return result


# PostgreSQL planner settings for the report's queries. The grouped query would otherwise get a
# parallel join in which every worker computes the whole aggregate over all open invoices again
# (twice the work, on a small server twice the time), and the sales queries parallel scans that
# cost more than reading their index in order. JIT compilation costs more than it saves here.
_POSTGRESQL_SETTINGS = {"max_parallel_workers_per_gather": "0", "jit": "off"}


@contextmanager
def _planner_settings() -> Iterator[None]:
    """Apply _POSTGRESQL_SETTINGS for the report's queries, then restore what was there.

    The settings are the session's (Django runs in autocommit): one query reads the old values
    and sets the new ones, one puts the old ones back; a fraction of a millisecond each.
    """
    if connection.vendor != "postgresql":
        yield
        return
    names = list(_POSTGRESQL_SETTINGS)
    # The select list is evaluated in order: the old values are read before they are replaced.
    reads = ", ".join(["current_setting(%s)"] * len(names))
    writes = ", ".join(["set_config(%s, %s, false)"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {reads}, {writes}", [*names, *chain.from_iterable(_POSTGRESQL_SETTINGS.items())]
        )
        previous = dict(zip(names, cursor.fetchone()[: len(names)], strict=True))
    try:
        yield
    except BaseException:
        # A transaction that a failed query aborted takes no more queries; its rollback undoes
        # the settings anyway.
        if not _transaction_aborted():
            _settings_restore(previous)
        raise
    _settings_restore(previous)


def _transaction_aborted() -> bool:
    """Return whether the PostgreSQL connection is gone or in a failed transaction."""
    from psycopg.pq import TransactionStatus

    raw = connection.connection
    return raw is None or raw.info.transaction_status == TransactionStatus.INERROR


def _settings_restore(values: dict[str, str]) -> None:
    writes = ", ".join(["set_config(%s, %s, false)"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {writes}", list(chain.from_iterable(values.items())))


def _fetch_all(sql: str, params: list[Any]) -> list[tuple]:
    """Return all rows of a query as tuples, fetched in one call (no per-batch round trips)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- shaping -----------------------------------------------------------------------------


def _formatter(currency: str) -> Callable[[int], str]:
    """Return a fast minor-units-to-decimal-string function for one currency (as format_minor).

    The report formats a few amounts per customer for every customer, so this avoids Decimal.
    """
    places = exponent(currency)
    if places == 0:
        return str
    scale = 10**places

    zero = "0." + "0" * places

    def format_amount(minor: int) -> str:
        if not minor:
            return zero
        if minor >= scale:
            digits = str(minor)
            return digits[:-places] + "." + digits[-places:]
        whole, part = divmod(abs(minor), scale)
        return f"{'-' if minor < 0 else ''}{whole}.{part:0{places}d}"

    return format_amount


def _column_formatter(currency: str) -> Callable[[Sequence[int]], list[str]]:
    """Return a function that formats a whole column of amounts in one currency (as _formatter).

    Amounts of zero or more, nearly all of them, are split into whole units and the fraction
    by ``divmod`` mapped in C, and joined in one f-string with the fraction's digits from a
    table, without a function call each; the rest go through _formatter.
    """
    places = exponent(currency)
    if places == 0:
        return lambda column: list(map(str, column))
    scale, fmt = 10**places, _formatter(currency)
    fractions = [f"{part:0{places}d}" for part in range(scale)]

    def format_column(column: Sequence[int]) -> list[str]:
        return [
            f"{whole}.{fractions[part]}" if whole >= 0 else fmt(whole * scale + part)
            for whole, part in map(divmod, column, repeat(scale))
        ]

    return format_column


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Pause the cycle collector while building a large tree of new, acyclic objects.

    A report of 100,000 customers creates about a million dicts and strings; each batch of
    new objects would otherwise set off a collection that walks all of them again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def aging_build(
    *,
    as_of: date,
    by: str = "customer",
    buckets: Sequence[int] = DEFAULT_BUCKETS,
    customer_scope: QuerySet[Customer] | None = None,
) -> dict:
    """Return the aging of receivables as of a date, per customer and currency, with totals.

    Amounts are decimal strings. ``by`` other than ``customer`` adds a ``groups`` list keyed by
    the customer's collector (username, null when unassigned), grade or the currency.
    ``customer_scope`` (see ``huikuan.accounts.access.customer_scope_or_none``) limits the
    report, totals and DSO included, to those customers; None reports on every customer
    without any extra condition.
    """
    scope = _scope_sql(customer_scope)
    with _garbage_collection_paused(), _planner_settings():
        return _aging_build(as_of=as_of, by=by, buckets=buckets, scope=scope)


def _aging_build(*, as_of: date, by: str, buckets: Sequence[int], scope: Scope = None) -> dict:
    if by not in GROUPINGS:
        raise AgingGroupingInvalid(f"cannot group aging by {by!r}; choose one of {', '.join(GROUPINGS)}")
    bounds = buckets_validate(buckets)
    labels = bucket_labels(bounds)
    keys = ("code", "name", "currency", *labels, "total")
    customers: list[dict[str, Any]] = []
    totals: dict[str, list[int]] = {}
    groups: dict[tuple, list[int]] = {}
    formatters: dict[str, Callable[[int], str]] = {}
    sliced = False
    # The sales for DSO are read while this thread shapes the customers: the database works
    # (SQLite and psycopg let go of the GIL while they wait for it) as Python builds strings.
    # The other thread uses this thread's connection, so it sees the same transaction; nothing
    # else touches the connection until it is done. A large report on SQLite also reads its
    # slices in that thread (see _open_amount_batches); the sales come after them.
    with connection.cursor() as cursor, ThreadPoolExecutor(max_workers=1) as executor:
        batches = _open_amount_batches(
            as_of=as_of, bounds=bounds, by=by, scope=scope, cursor=cursor, executor=executor
        )
        for rows, last in batches:
            sliced = sliced or not last
            # Shaped column by column: each step is one pass in C over a column (zip, map, sum)
            # instead of a handful of Python operations per customer.
            columns = list(zip(*rows, strict=True)) if rows else [()] * (len(labels) + 5)
            codes, names, currencies, group_keys = columns[:4]
            amounts = columns[4:]  # the buckets, then the total
            for currency in set(currencies) - formatters.keys():
                formatters[currency] = _formatter(currency)
            _sums_add(totals, _column_sums(amounts, currencies))
            if by != "customer":
                group_of = currencies if by == "currency" else group_keys
                _sums_add(groups, _column_sums(amounts, list(zip(group_of, currencies, strict=True))))
            if last:
                receivables = {currency: sums[-2] for currency, sums in totals.items()}
                dso_pending = executor.submit(
                    _dso_by_currency, cursor, as_of=as_of, receivables=receivables, scope=scope
                )
            if len({exponent(currency) for currency in set(currencies)}) == 1:
                format_column = _column_formatter(currencies[0])
                texts = [format_column(column) for column in amounts]
            else:  # currencies with different decimals, or no rows at all
                row_formatters = [formatters[currency] for currency in currencies]
                texts = [list(map(call, row_formatters, column)) for column in amounts]
            # Every row has as many values as there are keys: zip needs no check per row here.
            customers += map(dict, map(zip, repeat(keys), zip(codes, names, currencies, *texts, strict=True)))
        dso = dso_pending.result()
    if sliced:  # slices of customer ids come in no particular order of codes
        customers.sort(key=itemgetter("code", "currency"))
    report: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "buckets": labels,
        "totals": {},
        "customers": customers,
    }
    for currency in sorted(totals):
        sums = totals[currency]
        row = _summary_row(sums, labels, formatters[currency])
        row["dso"] = None if dso[currency] is None else str(dso[currency])
        row["overdue_share"] = str(share(sums[-2] - sums[0], sums[-2]))
        report["totals"][currency] = row
    if by != "customer":
        report["by"] = by
        report["groups"] = [
            {"key": key, "currency": currency, **_summary_row(sums, labels, formatters[currency])}
            for (key, currency), sums in sorted(groups.items(), key=lambda item: _group_order(*item[0]))
        ]
    return report


def _sums_add(into: dict[Any, list[int]], sums: dict[Any, list[int]]) -> None:
    """Add per-key sums (as ``_column_sums`` returns them) into running ones."""
    for key, values in sums.items():
        into[key] = list(map(add, into[key], values)) if key in into else values


def _column_sums(columns: Sequence[Sequence[int]], keys: Sequence[Hashable]) -> dict[Any, list[int]]:
    """Return, per key, the sum of each column over the rows with that key, then the row count.

    Sums run in C over whole columns; a single key (the usual one currency) needs no selecting.
    """
    positions: dict[Any, list[int]] = {}
    if len(set(keys)) == 1:
        return {keys[0]: [*map(sum, columns), len(keys)]}
    for position, key in enumerate(keys):
        positions.setdefault(key, []).append(position)
    return {
        key: [*(sum(map(column.__getitem__, chosen)) for column in columns), len(chosen)]
        for key, chosen in positions.items()
    }


def _summary_row(sums: list[int], labels: list[str], fmt: Callable[[int], str]) -> dict[str, Any]:
    """Return bucket amounts, overdue, total and customer count from summed customer rows.

    ``sums`` holds the bucket sums, then the total, then the number of customers.
    """
    row: dict[str, Any] = dict(zip(labels, map(fmt, sums), strict=False))
    row["overdue"] = fmt(sums[-2] - sums[0])
    row["total"] = fmt(sums[-2])
    row["customer_count"] = sums[-1]
    return row


def _group_order(key: Any, currency: str) -> tuple:
    return (key is None, str(key or ""), currency)


# --- the table ---------------------------------------------------------------------------


def _display_width(text: str) -> int:
    """Return how many terminal columns the text takes (CJK characters take two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """Cut the text to ``width`` columns, ending in an ellipsis when it had to be shortened."""
    if _display_width(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        step = _display_width(ch)
        if used + step > width - 1:
            break
        out.append(ch)
        used += step
    return "".join(out) + "…"


def amount_grouped(amount: str) -> str:
    """Return a decimal string with thousands separators: ``1234567.50`` → ``1,234,567.50``."""
    whole, dot, fraction = amount.partition(".")
    if len(whole) <= 3:
        return amount
    return f"{int(whole):,}{dot}{fraction}"


def _table(headers: list[str], rows: list[list[str]], right_from: int) -> list[str]:
    """Lay rows out in columns: text left-aligned, columns from ``right_from`` on right-aligned."""
    cell_widths = [
        [len(cell) if cell.isascii() else _display_width(cell) for cell in row] for row in (headers, *rows)
    ]
    widths = [max(column) for column in zip(*cell_widths, strict=True)]
    lines = []
    for row, row_widths in zip((headers, *rows), cell_widths, strict=True):
        cells = [
            # ljust/rjust count characters; a CJK character takes two columns, hence the offset.
            (cell.rjust if c >= right_from else cell.ljust)(widths[c] - used + len(cell))
            for c, (cell, used) in enumerate(zip(row, row_widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def aging_table_text(report: dict) -> str:
    """Render an aging report as a fixed-width text table: the rows, then totals per currency."""
    labels: list[str] = report["buckets"]
    by = report.get("by", "customer")
    lines = [f"Aging as of {report['as_of']}" + ("" if by == "customer" else f", by {by}"), ""]
    if by == "customer":
        headers = ["Code", "Name", "Currency", *labels, "Total"]
        body = [
            [row["code"], _fit(row["name"], 30), row["currency"], *(amount_grouped(row[b]) for b in labels)]
            + [amount_grouped(row["total"])]
            for row in report["customers"]
        ]
        right_from = 3
    else:
        headers = [by.capitalize(), "Currency", *labels, "Total", "Customers"]
        body = [
            [_fit(str(row["key"] if row["key"] is not None else "—"), 30), row["currency"]]
            + [amount_grouped(row[b]) for b in labels]
            + [amount_grouped(row["total"]), str(row["customer_count"])]
            for row in report["groups"]
        ]
        right_from = 2
    if body:
        lines += _table(headers, body, right_from)
    else:
        lines.append("Nothing is open.")
    if report["totals"]:
        lines += ["", "Totals per currency", ""]
        total_rows = [
            [currency, *(amount_grouped(t[b]) for b in labels)]
            + [
                amount_grouped(t["overdue"]),
                amount_grouped(t["total"]),
                f"{Decimal(t['overdue_share']):.2%}",
                t["dso"] or "—",
            ]
            + [str(t["customer_count"])]
            for currency, t in report["totals"].items()
        ]
        lines += _table(
            ["Currency", *labels, "Overdue", "Total", "Overdue %", "DSO", "Customers"], total_rows, 1
        )
    return "\n".join(lines) + "\n"
