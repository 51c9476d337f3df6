"""Drop the prefix-search (varchar_pattern_ops) indexes PostgreSQL gets beside the unique ones.

Django adds one for every unique text column, for ``startswith`` lookups; nothing searches an
invoice number or a payment id by prefix (the admin's search is a case-insensitive ``contains``,
which no b-tree serves), and each index is one more entry to write for every invoice update.
"""

from django.db import migrations

PATTERN_INDEXES = {
    "ledger_invoice_number_68b64dd3_like": ("ledger_invoice", "number"),
    "ledger_payment_external_id_a7f8a111_like": ("ledger_payment", "external_id"),
}


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in PATTERN_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, (table, column) in PATTERN_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_indexes_covered")]

    operations = [migrations.RunPython(drop, create, elidable=False)]
