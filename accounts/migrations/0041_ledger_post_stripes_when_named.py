"""LEDGER-3, issue 14 (session 35): ``ledger_post()`` looks for stripes only when the posting
names an account that can have them.

Every posting ran the stripe look-up of 0012 (one statement: a LATERAL self-join of
accounts_account per line, numbering the account's open stripes): ~30 µs of the server's
~600 µs a posting (bench/ledger_cost.py, RESULTS.md session 35), though only a posting that
names an open fee income or Pay-easy collection account (the accounts 0012 stripes) ever
finds one. Now a plain key look-up of the named accounts' purpose and status comes first
(``STRIPED_NAMED``, the look-up's own condition on the account), and the look-up runs only
when it finds such an account; otherwise the lines' accounts are the named ones, as the
look-up would have left them (it changes only a line on such an account).

No rule moves: the locks (still in id order), the funds check, the entries and their
trigger are as before, and a posting to a striped account takes the same stripe as before.
"""

import importlib

from django.db import migrations

ledger_0039 = importlib.import_module("accounts.migrations.0039_ledger_post_service_keys_only")

LOOKUP_START = "    -- Hot internal accounts are split into stripes, exactly as in 0012 (see there).\n"
LOOKUP_END = "             WHERE x.n = pg_backend_pid() % x.k) AS s ON true;\n"

# the look-up's own condition on the named account, as 0039's text has it: the look-up must
# contain it (ledger_post_stripes_when_named checks), so the two cannot drift apart unnoticed
STRIPED_PURPOSE = "p.purpose IN ('fee_income', 'payeasy_collection')"
STRIPED_STATUS = "p.status = 'open'"
STRIPED_NAMED = f"""    -- Hot internal accounts are split into stripes, exactly as in 0012 (see there); the
    -- look-up runs only for a posting that names an account that can have them (0041).
    IF EXISTS (SELECT 1 FROM public.accounts_account p
                WHERE p.id = ANY (p_accounts) AND {STRIPED_PURPOSE}
                  AND {STRIPED_STATUS}) THEN
"""
NONE_NAMED = """    ELSE
        v_accounts := p_accounts;
    END IF;
"""


def ledger_post_stripes_when_named() -> str:
    source = ledger_0039.ledger_post_service_keys_only()
    if source.count(LOOKUP_START) != 1 or source.count(LOOKUP_END) != 1:
        raise RuntimeError("ledger_post() has no single stripe look-up (accounts 0012/0013)")
    start = source.index(LOOKUP_START)
    end = source.index(LOOKUP_END) + len(LOOKUP_END)
    lookup = source[start + len(LOOKUP_START):end]
    if f"{STRIPED_PURPOSE} AND {STRIPED_STATUS}" not in lookup:
        raise RuntimeError("the stripe look-up's condition on the named account is not STRIPED_NAMED's: "
                           "update STRIPED_PURPOSE / STRIPED_STATUS with it (accounts 0041)")
    indented = "".join("    " + line if line.strip() else line for line in lookup.splitlines(keepends=True))
    return source[:start] + STRIPED_NAMED + indented + NONE_NAMED + source[end:]


class Migration(migrations.Migration):
    dependencies = [("accounts", "0040_closing_day_by_staff_who_may")]

    operations = [
        migrations.RunSQL(sql=ledger_post_stripes_when_named(),
                          reverse_sql=ledger_0039.ledger_post_service_keys_only()),
    ]
