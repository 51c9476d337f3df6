"""Drop indexes that another index starting with the same columns covers."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("banking", "0001_initial"),
        ("customers", "0006_contact_personality_database_default"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="payeralias",
            name="banking_pay_kind_425fc5_idx",
        ),
        # The indexes are dropped as such: Django would rebuild each SQLite table to drop one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="bankstatementline",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="banking.bankaccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="bankstatementline",
                    name="customer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="bank_lines",
                        to="customers.customer",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS banking_bankstatementline_account_id_572704e8",
                    reverse_sql="CREATE INDEX banking_bankstatementline_account_id_572704e8 ON banking_bankstatementline (account_id)",
                ),
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS banking_bankstatementline_customer_id_5a0b20ab",
                    reverse_sql="CREATE INDEX banking_bankstatementline_customer_id_5a0b20ab ON banking_bankstatementline (customer_id)",
                ),
            ],
        ),
    ]
