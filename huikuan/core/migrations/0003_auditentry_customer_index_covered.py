"""Drop the audit trail's customer index: the (customer, at) index covers it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_auditentry"),
        ("customers", "0006_contact_personality_database_default"),
    ]

    operations = [
        # The indexes are dropped as such: Django would rebuild each SQLite table to drop one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditentry",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="audit_entries",
                        to="customers.customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS core_auditentry_customer_id_6e8cd454",
                    reverse_sql="CREATE INDEX core_auditentry_customer_id_6e8cd454 ON core_auditentry (customer_id)",
                ),
            ],
        ),
    ]
