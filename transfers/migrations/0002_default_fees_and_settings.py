"""The default fee table (XFER-4, documented in docs/transfers.md) and the bank maximum
limit (XFER-8); staff change both in admin."""

import datetime as dt

from django.db import migrations


def create(apps, schema_editor):
    FeeSchedule = apps.get_model("transfers", "FeeSchedule")
    TransferSettings = apps.get_model("transfers", "TransferSettings")
    using = schema_editor.connection.alias  # the owner's connection (LEDGER-7)
    FeeSchedule.objects.using(using).get_or_create(effective_from=dt.date(2000, 1, 1))
    TransferSettings.objects.using(using).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("transfers", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
