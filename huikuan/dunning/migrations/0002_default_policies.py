from django.db import migrations

from huikuan.dunning.defaults import policy_install_defaults


def install(apps, schema_editor):
    policy_install_defaults(policy_model=apps.get_model("dunning", "Policy"), stage_model=apps.get_model("dunning", "Stage"))


class Migration(migrations.Migration):
    dependencies = [("dunning", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
