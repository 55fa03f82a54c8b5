"""LEDGER-7 (outside review dbprobe25 F16): CI109 (accounts 0021) — a freeze or hold lifted,
a debit, and the freeze put back in one transaction — also counts the debits of the
account's stripes. It read the account's own entries only: lifting the freeze of the fee
income, debiting one of its stripes (where its money is) and freezing it again was accepted,
and only ledger_check saw it the next night. A stripe takes the status of its account when
that is worse (ledger_post()), so a debit of a stripe is a debit of the account. Since
accounts 0025 only the owner changes the status of the bank's own accounts; this holds for
the owner too, as CI109 always did."""

import importlib

from django.db import migrations

ledger_0021 = importlib.import_module("accounts.migrations.0021_account_state_no_cover")

OWN_ENTRIES = "         WHERE e.account_id = NEW.id AND e.id > v_first.last_entry_id AND e.amount < 0\n"
OWN_AND_STRIPES_ENTRIES = (
    "         WHERE e.account_id IN (SELECT NEW.id UNION ALL\n"
    "                                SELECT s.id FROM public.accounts_account s WHERE s.stripe_of_id = NEW.id)\n"
    "           AND e.id > v_first.last_entry_id AND e.amount < 0\n"
)


def no_cover_0021() -> str:
    function = ledger_0021.NO_COVER[:ledger_0021.NO_COVER.index("CREATE TRIGGER")]
    return function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def no_cover_with_stripes() -> str:
    source = no_cover_0021()
    if source.count(OWN_ENTRIES) != 1:
        raise RuntimeError("0021's ledger_account_no_cover() has no single look-up of the account's entries")
    return source.replace(OWN_ENTRIES, OWN_AND_STRIPES_ENTRIES)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0027_ledger_post_line_cap")]

    operations = [
        migrations.RunSQL(sql=no_cover_with_stripes(), reverse_sql=no_cover_0021()),
    ]
