"""XFER-4, LEDGER-7 (dbprobe25 F15): the fee guards of 0007 (a row in force is never changed
nor deleted, nor dated back) and 0008 (a new row is not dated back while one is in force)
took the bank's day from ``now()`` — the start of the transaction. A transaction the app's
role opened at 23:59 and held past midnight in Tokyo still saw yesterday: it could change or
delete the row that came into force at 0:00, or insert one dated yesterday.

They now take the bank's day from ``transfers_bank_day()``: the wall clock
(``clock_timestamp()``, not ``now()`` nor ``statement_timestamp()``, which a multi-statement
query string or a DO block sent before midnight would also keep) in Asia/Tokyo — the day
the admin's form and ``cosei_ib.bankcalendar`` take (``timezone.localdate()`` when the
check runs), and the rule accounts 0020 uses for the ledger's bank-day floor.
"""

import importlib

from django.db import migrations

HELD_0007 = importlib.import_module("transfers.migrations.0007_confirmed_records_held").FORWARD
HELD_0008 = importlib.import_module("transfers.migrations.0008_interbank_records_held").FORWARD

TODAY_BY_XACT = "v_today date := (now() AT TIME ZONE 'Asia/Tokyo')::date;"
TODAY_BY_CLOCK = "v_today date := public.transfers_bank_day();"

BANK_DAY = """
CREATE FUNCTION public.transfers_bank_day() RETURNS date
LANGUAGE sql VOLATILE SET search_path = pg_catalog, public, pg_temp AS $$
    -- the bank's day now, by the clock (not the transaction's start), in Tokyo
    SELECT (clock_timestamp() AT TIME ZONE 'Asia/Tokyo')::date
$$;
"""


def function_of(forward: str, name: str) -> str:
    """``CREATE OR REPLACE`` of function ``name`` as an earlier migration's SQL created it."""
    start = forward.index(f"CREATE FUNCTION public.{name}()")
    end = forward.index("END $$;", start) + len("END $$;")
    return forward[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1) + "\n"


def by_clock(function: str) -> str:
    assert function.count(TODAY_BY_XACT) == 1, "not the function text expected"
    return function.replace(TODAY_BY_XACT, TODAY_BY_CLOCK)


GUARDS = [function_of(HELD_0007, "transfers_feeschedule_guard"),
          function_of(HELD_0008, "transfers_feeschedule_insert_guard")]

FORWARD = BANK_DAY + "".join(by_clock(guard) for guard in GUARDS)
REVERSE = "".join(GUARDS) + "DROP FUNCTION IF EXISTS public.transfers_bank_day();\n"


class Migration(migrations.Migration):

    dependencies = [("transfers", "0019_bank_max_limit_within_bounds")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
