"""Install the shipped message templates (zh-hans and en) for every stage of the shipped policies."""

from django.db import migrations


def install(apps, schema_editor):
    from huikuan.messaging.defaults import template_install_defaults

    template_install_defaults(template_model=apps.get_model("messaging", "Template"))


class Migration(migrations.Migration):

    dependencies = [
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
