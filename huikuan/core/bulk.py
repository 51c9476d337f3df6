"""Set-based writing and reading of many rows: the one place the imports, the credit run, early
warnings and bank matching write through.

A model instance and a statement per row would cost minutes for a million rows, and the ORM's
``bulk_create``/``bulk_update`` still adapt every value in Python and bind it as a parameter.
Here rows arrive as database-ready values (``connection.ops.adapt_*``, validated by the caller)
and go in the cheapest way each database has:

- **PostgreSQL** copies inserted rows in (``COPY … FROM STDIN``), several times faster than a
  statement a row; updates and lists read one JSON text on the server;
- **SQLite** runs ``executemany`` — twice as fast as reading the rows from JSON for a
  million-row insert — except where the caller asks for ``one_statement``: ``executemany``
  gives up the interpreter after every row, and in a process whose other thread is busy
  (bank matching weighs on one thread while it writes on another) each row then waits for it.

Lists of keys go as one parameter too (:func:`values_subquery`): thousands of separate
parameters cost more to bind than the query costs to run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Field, JSONField, Model
from psycopg.types.json import Jsonb

#: Rows a batch holds: for IN lists, batched writes and the imports' chunks.
CHUNK_ROWS = 5000
#: SQLite allows 32,766 parameters a statement; multi-row VALUES stay well below.
SQLITE_PARAMETERS = 30_000


def model_field(model: type[Model], name: str) -> Field:
    """Return a model's concrete field by name or attname (``customer`` or ``customer_id``)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a concrete field")
    return field


def _column(model: type[Model], name: str) -> str:
    column = model_field(model, name).column
    if column is None:
        raise TypeError(f"{model.__name__}.{name} has no column")
    return column


def chunked(items: Sequence[Any], size: int = CHUNK_ROWS) -> Iterator[Sequence[Any]]:
    """Yield consecutive slices of at most ``size`` items (for IN lists and batched writes)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- lists and rows as one parameter ---------------------------------------------------------


def values_subquery(values: Sequence[int] | Sequence[str]) -> tuple[str, list[str]]:
    """Return SQL selecting the values, and its single parameter.

    A list passed as an array is adapted element by element in Python: integers go as one array
    literal on PostgreSQL, text (and anything on SQLite) as one JSON document.
    """
    listed: list[Any] = list(values)
    if connection.vendor != "postgresql":
        return "SELECT value FROM json_each(%s)", [json.dumps(listed)]
    if listed and not isinstance(listed[0], int):
        return "SELECT json_array_elements_text(%s::json)", [json.dumps(listed)]
    return "SELECT unnest(%s::bigint[])", [integers_literal(listed)]


def integers_literal(values: Iterable[int]) -> str:
    """Return PostgreSQL's text of an integer array ("{1,2,3}"), to pass as one ``::bigint[]`` parameter."""
    return "{" + ",".join(str(int(value)) for value in values) + "}"


def json_rows(model: type[Model], fields: Sequence[str]) -> tuple[str, list[str]]:
    """Return a FROM item reading rows from one JSON text parameter (a list of lists, see
    :func:`json_text`), and the SQL of each of their values as the model's fields."""
    concrete = [model_field(model, name) for name in fields]
    if connection.vendor == "postgresql":
        return "json_array_elements(%s::json) AS r", [
            f"(r -> {index})"
            if isinstance(field, JSONField)
            else f"(r ->> {index})::{field.db_type(connection)}"
            for index, field in enumerate(concrete)
        ]
    return "json_each(%s) AS r", [f"(r.value ->> {index})" for index in range(len(concrete))]


def json_text(rows: Sequence[Sequence[Any]]) -> str:
    """The rows of database-ready values as one JSON text for :func:`json_rows`."""
    return json.dumps(rows, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    """A JSON column's value adapted for PostgreSQL as its content; dates, times and decimals as text."""
    return value.obj if isinstance(value, Jsonb) else str(value)


# --- writing -----------------------------------------------------------------------------------


def table_rows_insert(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, one_statement: bool = False
) -> None:
    """Insert ``rows`` (values in ``columns`` order, database-ready) into a table by its name.

    For tables without a model (a run's temporary tables) as well as model tables. Errors are
    Django's (``IntegrityError`` for a duplicate key), on both databases. ``one_statement``:
    SQLite reads the rows from one JSON text (see the module).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        elif one_statement:
            values = ", ".join(f"r.value ->> {index}" for index in range(len(columns)))
            cursor.execute(
                f"INSERT INTO {quote(table)} ({names}) SELECT {values} FROM json_each(%s) AS r",
                [json_text(rows)],
            )
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})", rows)


def rows_insert(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *, one_statement: bool = False
) -> None:
    """Insert rows of database-ready values in the order of the model's ``fields``."""
    columns = [_column(model, name) for name in fields]
    table_rows_insert(model._meta.db_table, columns, rows, one_statement=one_statement)


def rows_insert_returning(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert rows and return their new primary keys, in the rows' order.

    PostgreSQL draws the keys from the table's sequence first and copies the rows in with them;
    SQLite inserts with multi-row VALUES … RETURNING, in insert order as Django's bulk_create
    relies on.
    """
    if not rows:
        return []
    meta = model._meta
    assert meta.pk is not None
    columns = [_column(model, name) for name in fields]
    if connection.vendor == "postgresql":
        keys = ids_reserve(model, len(rows))
        table_rows_insert(
            meta.db_table,
            [str(meta.pk.column), *columns],
            [(key, *row) for key, row in zip(keys, rows, strict=True)],
        )
        return keys
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    keys = []
    with connection.cursor() as cursor:
        for part in chunked(rows, max(1, min(1000, SQLITE_PARAMETERS // len(columns)))):
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES {', '.join([placeholders] * len(part))} "
                f"RETURNING {quote(str(meta.pk.column))}",
                [value for row in part for value in row],
            )
            keys.extend(row[0] for row in cursor.fetchall())
    return keys


def rows_update(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    unless_changed: str | None = None,
    one_statement: bool = False,
) -> int:
    """Update rows by primary key; return how many were updated.

    Each row is the new values in ``fields`` order, then the key — then, with ``unless_changed``,
    the value that field had when it was read: the row is updated only if it still holds it (a
    row someone changed meanwhile is left alone, and the count tells). PostgreSQL (and SQLite
    with ``one_statement``) reads the rows from one JSON text in one statement, given the keys'
    range as well: a batch's rows are often neighbours, and PostgreSQL's planner then reads them
    by index instead of hashing the whole table.
    """
    if not rows:
        return 0
    quote = connection.ops.quote_name
    key = model._meta.pk
    assert key is not None
    table = quote(model._meta.db_table)
    if connection.vendor != "postgresql" and not one_statement:
        assignments = ", ".join(f"{quote(_column(model, name))} = %s" for name in fields)
        condition = f"{quote(str(key.column))} = %s"
        if unless_changed:
            condition += f" AND {quote(_column(model, unless_changed))} = %s"
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {condition}", rows)
            return int(cursor.rowcount)
    guarded = [unless_changed] if unless_changed else []
    names = [f"v{index}" for index in range(len(fields))] + ["k"] + (["was"] if guarded else [])
    source, values = json_rows(model, [*fields, key.name, *guarded])
    column = f"{table}.{quote(str(key.column))}"
    assignments = ", ".join(
        f"{quote(_column(model, name))} = u.{alias}" for name, alias in zip(fields, names, strict=False)
    )
    selected = ", ".join(f"{value} AS {alias}" for value, alias in zip(values, names, strict=True))
    condition = f"{column} = u.k AND {column} BETWEEN %s AND %s"
    if unless_changed:
        condition += f" AND {table}.{quote(_column(model, unless_changed))} = u.was"
    keys = [row[len(fields)] for row in rows]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM (SELECT {selected} FROM {source}) AS u WHERE {condition}",
            [json_text(rows), min(keys), max(keys)],
        )
        return int(cursor.rowcount)


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """Return ``count`` new primary keys for rows the caller inserts with them, in its transaction.

    Knowing the keys before the rows exist lets rows that point at them be written first, and
    spares reading the keys back. PostgreSQL draws them from the table's sequence; SQLite, whose
    transactions take the write lock at BEGIN (settings), continues the table's AUTOINCREMENT
    counter, which the inserted rows then move on.
    """
    if count <= 0:
        return []
    meta = model._meta
    assert meta.pk is not None
    table, column = meta.db_table, str(meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence looked up once (a scalar subquery), the keys read back as one text.
            cursor.execute(
                "SELECT string_agg(nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass)::text, ',') "
                "FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return [int(key) for key in cursor.fetchone()[0].split(",")]
        if not connection.in_atomic_block:
            raise RuntimeError("ids_reserve needs a transaction")
        quote = connection.ops.quote_name
        cursor.execute(
            f"SELECT MAX(n) FROM (SELECT seq AS n FROM sqlite_sequence WHERE name = %s "
            f"UNION ALL SELECT MAX({quote(column)}) FROM {quote(table)})",
            [table],
        )
        start = int(cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


@contextmanager
def indexes_deferred(model: type[Model]) -> Iterator[None]:
    """Drop a table's secondary indexes on SQLite for a bulk load and build them again after it.

    SQLite builds an index from a million rows in a fraction of the time it takes to update
    it a row at a time. Only inside a transaction: a rollback restores the indexes with
    everything else, and readers (WAL) keep seeing the indexed table until the commit. Other
    databases keep their indexes.
    """
    if connection.vendor != "sqlite":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_deferred needs a transaction")
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # Unique constraints and the primary key (sql IS NULL) stay: they guard the data.
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL "
            "AND sql NOT LIKE 'CREATE UNIQUE%%'",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, sql in indexes:
            cursor.execute(sql)
