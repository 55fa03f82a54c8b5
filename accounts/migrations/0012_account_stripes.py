"""Issue 14: hot internal accounts split into stripes (Account.stripe_of). ledger_post()
puts a line on a striped internal account on one of its open stripes, so postings that
all touch the fee income or the Pay-easy collection account no longer queue on one row
lock; the stripes themselves (accounts.reference_data.STRIPES) are created here."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q

from accounts.reference_data import ensure_reference_data

SQL_DIR = Path(__file__).resolve().parent / "sql"


def previous_ledger_post() -> str:
    """The reverse: ledger_post() as migration 0010 made it."""
    source = (SQL_DIR / "0010_ledger_lockdown.sql").read_text()
    start = source.index("CREATE FUNCTION ledger_post(")
    end = source.index("END $$;", start) + len("END $$;")
    return source[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def stripes_create(apps, schema_editor):
    ensure_reference_data(apps.get_model("accounts", "Branch"), apps.get_model("accounts", "Account"),
                          using=schema_editor.connection.alias)


def stripes_delete(apps, schema_editor):
    """Reversible only while no stripe has an entry: dropping the column would otherwise
    leave the fee income and the collections on orphaned accounts."""
    Account = apps.get_model("accounts", "Account")
    stripes = Account.objects.using(schema_editor.connection.alias).filter(purpose="stripe")
    if stripes.filter(entries__isnull=False).exists():
        raise RuntimeError("stripes hold entries: post them back to their accounts before reversing 0012")
    stripes.delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0011_passkeys")]

    operations = [
        # The column, its index, then the foreign key: Django's AddField would create the
        # index after the deferred key's check, which PostgreSQL refuses in one transaction
        # ("pending trigger events").
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(
                sql="""
                    ALTER TABLE accounts_account ADD COLUMN stripe_of_id bigint NULL;
                    CREATE INDEX accounts_account_stripe_of_id_e4d858e8 ON accounts_account (stripe_of_id);
                    ALTER TABLE accounts_account ADD CONSTRAINT accounts_account_stripe_of_id_fk
                        FOREIGN KEY (stripe_of_id) REFERENCES accounts_account (id) DEFERRABLE INITIALLY DEFERRED;
                """,
                reverse_sql="ALTER TABLE accounts_account DROP COLUMN stripe_of_id;",
            )],
            state_operations=[migrations.AddField(
                model_name="account",
                name="stripe_of",
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                        related_name="stripes", to="accounts.account",
                                        verbose_name="分割元の口座"),
            )],
        ),
        migrations.AlterField(
            model_name="account",
            name="purpose",
            field=models.CharField(
                choices=[("customer", "お客様口座"), ("fee_income", "手数料収入"),
                         ("zengin_settlement", "為替決済（全銀）"), ("payeasy_collection", "ペイジー収納"),
                         ("cash", "現金（窓口）"), ("stripe", "分割勘定")],
                default="customer", max_length=32, verbose_name="区分"),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=Q(purpose="stripe", stripe_of__isnull=False)
                | (~Q(purpose="stripe") & Q(stripe_of__isnull=True)),
                name="account_stripe_iff_stripe_purpose",
            ),
        ),
        migrations.RunSQL(sql=(SQL_DIR / "0012_ledger_stripes.sql").read_text(), reverse_sql=previous_ledger_post()),
        migrations.RunPython(stripes_create, stripes_delete),
    ]
