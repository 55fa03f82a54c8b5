"""LEDGER-7, LEDGER-5 (review H3): the history of every account's status and hold, written
by the database alone (sql/0018_account_state_history.sql), from which ledger_check proves
that no debit was made while its account was frozen or closed or beyond its hold."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL_DIR = Path(__file__).resolve().parent / "sql"


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0017_account_status_rules'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountStateChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_status', models.CharField(blank=True, max_length=16, verbose_name='変更前の状態')),
                ('new_status', models.CharField(max_length=16, verbose_name='変更後の状態')),
                ('old_hold_amount', models.BigIntegerField(blank=True, null=True, verbose_name='変更前の拘束額')),
                ('new_hold_amount', models.BigIntegerField(verbose_name='変更後の拘束額')),
                ('changed_at', models.DateTimeField(verbose_name='変更日時')),
                ('xact_id', models.BigIntegerField(verbose_name='トランザクションID')),
                ('xact_started_at', models.DateTimeField(verbose_name='トランザクション開始日時')),
                ('last_entry_id', models.BigIntegerField(verbose_name='直前の明細ID')),
                ('db_user', models.CharField(max_length=64, verbose_name='DBユーザー')),
                ('account', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='state_changes', to='accounts.account', verbose_name='口座')),
            ],
            options={
                'verbose_name': '口座状態の変更履歴',
                'verbose_name_plural': '口座状態の変更履歴',
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['account', 'last_entry_id', 'id'], name='account_state_change_idx')],
            },
        ),
        migrations.RunSQL(
            sql=(SQL_DIR / "0018_account_state_history.sql").read_text(),
            reverse_sql=(SQL_DIR / "0018_account_state_history_reverse.sql").read_text(),
        ),
    ]
