"""Drop single-column foreign-key indexes that a composite index starting with the column covers."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_contact_personality_database_default"),
        ("ledger", "0003_statement"),
    ]

    operations = [
        # The indexes are dropped as such: Django would rebuild each SQLite table to drop one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="allocation",
                    name="invoice",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="allocations",
                        to="ledger.invoice",
                    ),
                ),
                migrations.AlterField(
                    model_name="invoice",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="invoices",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="shortpayment",
                    name="payment",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="short_payments",
                        to="ledger.payment",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS ledger_allocation_invoice_id_ee14c251",
                    reverse_sql="CREATE INDEX ledger_allocation_invoice_id_ee14c251 ON ledger_allocation (invoice_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS ledger_invoice_customer_id_0ef025d2",
                    reverse_sql="CREATE INDEX ledger_invoice_customer_id_0ef025d2 ON ledger_invoice (customer_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS ledger_payment_customer_id_7f43fe63",
                    reverse_sql="CREATE INDEX ledger_payment_customer_id_7f43fe63 ON ledger_payment (customer_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS ledger_shortpayment_payment_id_dc409456",
                    reverse_sql="CREATE INDEX ledger_shortpayment_payment_id_dc409456 ON ledger_shortpayment (payment_id)",
                ),
            ],
        ),
    ]
