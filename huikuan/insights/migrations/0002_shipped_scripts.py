"""Install the shipped scripts (话术) for each debtor type, in Chinese and English."""

from django.db import migrations


def install(apps, schema_editor):
    from huikuan.insights.defaults import scripts_install_defaults

    scripts_install_defaults(script_model=apps.get_model("insights", "Script"))


class Migration(migrations.Migration):
    dependencies = [("insights", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
