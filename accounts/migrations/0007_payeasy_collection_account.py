"""LEDGER-4: the internal Pay-easy collection account."""

from django.db import migrations

from accounts.reference_data import ensure_reference_data


def load(apps, schema_editor):
    ensure_reference_data(apps.get_model("accounts", "Branch"), apps.get_model("accounts", "Account"),
                          using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_staff_permissions")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
