"""Load the published reference rates shipped in dunning/data/reference_rates.csv.

Only (series, date) pairs not yet stored are added: a rate the user entered or corrected is never
replaced, and running the migration again adds nothing. The CSV is read here directly (not through
dunning.rates) so that later changes to the services cannot break this migration.
"""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import migrations

RATES_CSV = Path(__file__).resolve().parent.parent / "data" / "reference_rates.csv"


def load_shipped_rates(apps, schema_editor):
    ReferenceRate = apps.get_model("dunning", "ReferenceRate")
    alias = schema_editor.connection.alias
    with RATES_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [
            (row["series"].strip(), date.fromisoformat(row["effective_date"].strip()), row)
            for row in csv.DictReader(handle)
        ]
    stored = set(ReferenceRate.objects.using(alias).values_list("series", "effective_date"))
    new = [
        ReferenceRate(
            series=series,
            effective_date=effective,
            rate_percent=f"{Decimal(row['rate_percent'].strip()):f}",
            source=(row.get("source") or "").strip()[:200],
        )
        for series, effective, row in rows
        if (series, effective) not in stored
    ]
    ReferenceRate.objects.using(alias).bulk_create(new, batch_size=500)


def unload_nothing(apps, schema_editor):
    """Going back keeps the rates: they may have been edited and are harmless."""


class Migration(migrations.Migration):

    # After the default policies only so that the app's migrations stay one line (0001 first).
    dependencies = [
        ("dunning", "0001_initial"),
        ("dunning", "0002_default_policies"),
    ]

    operations = [
        migrations.RunPython(load_shipped_rates, unload_nothing),
    ]
