"""Our bank's branches (XFER-2) and the internal accounts (LEDGER-4)."""

from django.db import migrations

from accounts.reference_data import INTERNAL_ACCOUNTS, ensure_reference_data


def load(apps, schema_editor):
    ensure_reference_data(apps.get_model("accounts", "Branch"), apps.get_model("accounts", "Account"),
                          using=schema_editor.connection.alias)


def unload(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    Account.objects.using(schema_editor.connection.alias).filter(
        number__in=[row[1] for row in INTERNAL_ACCOUNTS], entries__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_ledger_sql")]

    operations = [migrations.RunPython(load, unload)]
