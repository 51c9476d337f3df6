"""Writing many rows at once without a model instance per row: COPY on PostgreSQL, executemany
(or multi-row VALUES … RETURNING) on SQLite. The credit run writes 100,000 ratings in seconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

# SQLite allows 32,766 parameters per statement; keep well below.
SQLITE_PARAMETERS = 30_000


def rows_write(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (values in ``columns`` order, already adapted for the database)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)


def rows_insert_returning(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Insert ``rows`` and return their new ids in order.

    PostgreSQL: the ids are drawn from the table's sequence first and the rows copied in with
    them. SQLite: multi-row VALUES … RETURNING id, in insert order as Django's bulk_create relies on.
    """
    if not rows:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            rows_write(table, ("id", *columns), [(pk, *row) for pk, row in zip(ids, rows, strict=True)])
            return ids
        ids = []
        per_statement = max(1, min(1000, SQLITE_PARAMETERS // len(columns)))
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholders] * len(part))} "
                "RETURNING id",
                [value for row in part for value in row],
            )
            ids.extend(row[0] for row in cursor.fetchall())
        return ids
