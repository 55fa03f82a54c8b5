"""PAY-2, STAFF-1, LEDGER-7 (outside review dbprobe32 F4): CI247 (0012) took two kinds of
evidence too widely. As the app's role the review had both accepted:

* a new biller (77777, with the attacker's 情報リンク key) with an audit row of actor
  ``seed_demo`` — the demo seed's exception held on every database, a bank's included;
* ``UPDATE payeasy_biller SET number = '99999' WHERE id = 1`` with a row naming 99999 only:
  searching the 操作ログ for 00100 then found nothing of the change.

So, for the app's role, in ``payeasy_biller_by_staff()`` (the trigger of 0012):

* ``seed_demo`` adds a biller only where ``public.cosei_demo_database()`` is true. It is the
  owner's function, false here; the owner alone redefines it (the app's role may not:
  42501, it is not the function's owner). ``python3 dev.py run`` (and ``dev.py manage
  seed_demo``) set it true before the demo seed, and the test database has it true
  (tests/conftest.py), as ``cosei_clock_slack()`` is widened there; a bank's database
  (deploy/, ``docker compose``) never sets it;
* a change of the number needs the row naming both numbers, old first:
  「変更 収納機関 <旧番号>→<新番号> …」, as the admin writes it (``payeasy.admin``); any other
  change still 「変更 収納機関 <番号> …」, an addition 「追加 収納機関 <番号> …」.

Still accepted (docs/payeasy.md): a forged row naming a real, active staff member — the app's
role writes audit rows too; the change is no longer silent, it stands in the 操作ログ under
that name.

SQL functions: CREATE FUNCTION public.cosei_demo_database(); CREATE OR REPLACE FUNCTION
public.payeasy_biller_by_staff() (0012's, which the reverse puts back).
"""

import importlib

from django.db import migrations

taken_0012 = importlib.import_module("payeasy.migrations.0012_counter_nonce_biller_taken_by_their_service")

DEMO_DATABASE = """
CREATE OR REPLACE FUNCTION public.cosei_demo_database() RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    RETURN false;  -- a bank's database; the owner sets true where the demo is seeded (dev.py)
END $$;
"""

# 0012's function with three changes, each found once (``biller_by_staff``)
CHANGES = [
    # the summary a row starts with: for a new number the old and the new, old first
    ("""    v_summary text := CASE WHEN TG_OP = 'INSERT' THEN '追加 ' ELSE '変更 ' END || '収納機関 ' || NEW.number || ' %';""",
     """    v_summary text := CASE WHEN TG_OP = 'INSERT' THEN '追加 収納機関 ' || NEW.number
                           WHEN NEW.number <> OLD.number THEN '変更 収納機関 ' || OLD.number || '→' || NEW.number
                           ELSE '変更 収納機関 ' || NEW.number END || ' %';"""),
    # the demo seed's additions only on a demo database
    ("(TG_OP = 'INSERT' AND a.actor = 'seed_demo')",
     "(TG_OP = 'INSERT' AND a.actor = 'seed_demo' AND public.cosei_demo_database())"),
    ("""        RAISE EXCEPTION 'biller %: % without the staff audit row (staff_biller_change) of its transaction',
            NEW.number, lower(TG_OP) USING ERRCODE = 'CI247';""",
     """        RAISE EXCEPTION 'biller %: % without the staff audit row (staff_biller_change 「%」) of its transaction%',
            NEW.number, lower(TG_OP), v_summary,
            CASE WHEN TG_OP = 'INSERT' AND NOT public.cosei_demo_database()
                 THEN ' (seed_demo adds billers only on a demo database: cosei_demo_database())' ELSE '' END
            USING ERRCODE = 'CI247';"""),
]


def biller_by_staff_0012() -> str:
    source = taken_0012.FORWARD
    start = source.index("CREATE FUNCTION public.payeasy_biller_by_staff()")
    end = source.index("CREATE CONSTRAINT TRIGGER payeasy_biller_by_staff")
    return source[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def biller_by_staff() -> str:
    source = biller_by_staff_0012()
    for old, new in CHANGES:
        if source.count(old) != 1:
            raise RuntimeError(f"payeasy_biller_by_staff() of 0012 has no single {old.strip()[:40]!r}")
        source = source.replace(old, new)
    return source


FORWARD = DEMO_DATABASE + biller_by_staff()
REVERSE = biller_by_staff_0012() + "\nDROP FUNCTION IF EXISTS public.cosei_demo_database();\n"


class Migration(migrations.Migration):

    dependencies = [("payeasy", "0012_counter_nonce_biller_taken_by_their_service")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
