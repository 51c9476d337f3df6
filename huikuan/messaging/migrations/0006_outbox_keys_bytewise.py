"""PostgreSQL compares the outbox's two unique keys byte by byte.

The keys are ASCII identifiers that are only ever looked up by equality; under a locale's
collation every insertion into their unique indexes still pays for locale-aware comparisons
while it descends the tree, which a dunning run writing a hundred thousand messages feels.
SQLite already compares bytewise. The model does not declare the collation (SQLite has no "C").
"""

from django.db import migrations

COLUMNS = (("idempotency_key", 120), ("message_id", 200))


def bytewise(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column, length in COLUMNS:
            schema_editor.execute(
                f'ALTER TABLE "messaging_outboxmessage" ALTER COLUMN "{column}" TYPE varchar({length}) COLLATE "C"'
            )


def by_locale(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column, length in COLUMNS:
            schema_editor.execute(
                f'ALTER TABLE "messaging_outboxmessage" ALTER COLUMN "{column}" TYPE varchar({length}) COLLATE "default"'
            )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_outbox_awaiting_approval")]

    operations = [migrations.RunPython(bytewise, by_locale)]
