# The holidays (0024_bank_closing_day) and the app-role guards (0024–0028) branches met here.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0024_bank_closing_day'),
        ('accounts', '0028_account_no_cover_stripes'),
    ]

    operations = [
    ]
