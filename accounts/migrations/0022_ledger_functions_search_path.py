"""LEDGER-7 (outside review, low): the first ledger functions (0002) ran with the caller's
search_path — unexploitable today, since the app's role can create nothing anywhere (no
CREATE on a schema, no TEMP), but a later grant would have let a look-alike function or
table shadow what they call. Pinned as every later function is."""

from django.db import migrations

FUNCTIONS = ("ledger_append_only()", "ledger_assert_journal_balanced(bigint)", "ledger_journal_balanced()",
             "ledger_no_truncate()", "notifications_entry_notice()")


class Migration(migrations.Migration):

    dependencies = [("accounts", "0021_account_state_no_cover"), ("notifications", "0008_notice_inserts_held")]

    operations = [
        migrations.RunSQL(
            [f"ALTER FUNCTION public.{function} SET search_path = pg_catalog, public, pg_temp"
             for function in FUNCTIONS],
            [f"ALTER FUNCTION public.{function} RESET search_path" for function in FUNCTIONS],
        ),
    ]
