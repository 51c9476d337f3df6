"""The worklist finds a collector's messages awaiting approval customer by customer.

Without this index it read every message awaiting approval (a hundred thousand after a run on
a large portfolio) to keep a collector's thousand. Partial: only messages awaiting approval are
in it, so the run's inserts of queued messages do not pay for it.

The index is the database's only: declared here and not on the model, the model's state is
unchanged (``makemigrations`` sees nothing to do).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_fewer_run_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AddIndex(
                    model_name="outboxmessage",
                    index=models.Index(
                        fields=["customer"],
                        condition=models.Q(status="AWAITING_APPROVAL"),
                        name="outbox_awaiting_approval",
                    ),
                ),
            ],
            state_operations=[],
        ),
    ]
