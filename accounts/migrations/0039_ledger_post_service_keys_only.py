"""LEDGER-7, LEDGER-5 (outside review probe34 F4): ``ledger_post()`` took any balanced journal
of a known kind from the app's role. Connected as the app's role, the review committed
+1,000,000円 from 現金 to a customer (kind 入金, no 窓口入金, no staff), 1,000円 between two
customers (kind 振込, no Transfer) and 500円 out of 手数料収入 (kind 訂正) — under keys of
its own (``probe34:…``), which CI005 (payeasy 0006, 0010) never looks at.

Every journal the app's services post is under its service's key, and CI005 ties such a
journal to its record at the commit: ``transfer:`` / ``scheduled-transfer:`` (its Transfer),
``payeasy:`` (its Payment), ``interbank-return:`` / ``interbank-in:`` (their file rows),
``counter-deposit:`` (the 窓口入金's shape and the staff's audit row). So, for the app's role
(``session_user <> current_user``; the owner's loads and migrations are not bound) on a
bank's database (``cosei_demo_database()`` false, payeasy 0013), ``ledger_post()`` refuses a
key under none of these prefixes: CI316 — CI315 is left to security's session-34 work.

The demo seed (``demo:<契約者番号>:…``, as the app's role, backdated) and the tests' fixtures
post loaded history under other keys; the rule is off only while a demo database is being
loaded (``cosei_demo_loading()``, new here: the owner sets it true for ``seed_demo`` and false
again when the seed is done — ``dev.py run``; the test database keeps it true, its tests of
the rule set it false). A demo served to customers and reviewers is held as a bank's
database is, and the nightly ``ledger_check`` ("every journal is backed by its business
record") finds any journal that came in another way. The owner's loads of old data on a bank's database go under
``load:`` (docs/operations.md).

Cost: none measurable on a posting — the rule is folded into 0019's kind check (CI010): one
IF, as before, whose condition also reads the key's prefix (``SERVICE_KEYS``);
``cosei_demo_loading()`` is called only for a key under no service's prefix, i.e. never on
a service's posting.
"""

import importlib

from django.db import migrations

ledger_0019 = importlib.import_module("accounts.migrations.0019_ledger_post_known_kind")
ledger_0032 = importlib.import_module("accounts.migrations.0032_ledger_post_call_cap")

# the services' key prefixes when this was written (CI005: payeasy 0006, 0010), the 振込's
# first: a LIKE each, stopping at the first that matches — some 0.01 µs for a 振込, 0.4 µs
# for a 窓口入金 (a regular expression took 2 µs)
SERVICE_KEYS = ("transfer:", "scheduled-transfer:", "payeasy:", "interbank-return:", "interbank-in:",
                "counter-deposit:")
UNDER_A_SERVICE_KEY = "(" + " OR ".join(f"p_key LIKE '{prefix}%'" for prefix in SERVICE_KEYS) + ")"

KINDS = ", ".join(f"'{kind}'" for kind in ledger_0019.KINDS)

KIND_AND_KEY_CHECK = f"""    IF p_kind <> ALL (ARRAY[{KINDS}])
       OR (session_user <> current_user AND NOT {UNDER_A_SERVICE_KEY}
           AND NOT public.cosei_demo_loading()) THEN
        IF p_kind <> ALL (ARRAY[{KINDS}]) THEN
            RAISE EXCEPTION 'unknown journal kind %', p_kind USING ERRCODE = 'CI010';
        END IF;
        -- probe34 F4: a journal of the app's role is its service's, held to its record by CI005
        RAISE EXCEPTION 'journal % (%): the app''s role posts only under a service''s key (%)',
            p_key, p_kind, '{", ".join(SERVICE_KEYS)}' USING ERRCODE = 'CI316';
    END IF;
"""


# true only while the owner loads a demo database (dev.py: seed_demo), false everywhere else
DEMO_LOADING = """
CREATE FUNCTION public.cosei_demo_loading() RETURNS boolean LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog AS $$ BEGIN RETURN false; END $$;
"""


def ledger_post_service_keys_only() -> str:
    source = ledger_0032.ledger_post_with_call_cap()
    if source.count(ledger_0019.KIND_CHECK) != 1:
        raise RuntimeError("ledger_post() has no single CI010 kind check (accounts 0019)")
    return source.replace(ledger_0019.KIND_CHECK, KIND_AND_KEY_CHECK)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0038_closing_day_read_committed"),
        ("payeasy", "0013_biller_demo_seed_and_renumbering_audited"),  # cosei_demo_database() (ledger_check)
    ]

    operations = [
        migrations.RunSQL(sql=DEMO_LOADING, reverse_sql="DROP FUNCTION public.cosei_demo_loading();"),
        migrations.RunSQL(sql=ledger_post_service_keys_only(), reverse_sql=ledger_0032.ledger_post_with_call_cap()),
    ]
