"""Install the shipped templates added since: the statement e-mail and the discount or settlement
offer, which are now message templates a user can edit like the dunning ones."""

from django.db import migrations


def install(apps, schema_editor):
    from huikuan.messaging.defaults import template_install_defaults

    template_install_defaults(template_model=apps.get_model("messaging", "Template"))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0006_outbox_keys_bytewise"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
