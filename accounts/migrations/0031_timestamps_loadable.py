"""ACCT-1, SEC-13, LEDGER-7 (outside review dbprobe26 F6): a date or time Python cannot load
stops the pages that read it. As the app's role the review INSERTed a customer account
with 開設日時 'infinity' (every balance page of that customer: DataError, for ever) and set
accounts_customer.previous_login_at = 'infinity' (the 入出金 notice batch read the
customer with every posting to them, died inside outbox_drain, and no mail went out).

* 開設日時 is the database's: for the app's role an account INSERT takes clock_timestamp()
  whatever it says (``Account.opened_at`` is auto_now_add; nothing of the app sets it);
* for the app's role a customer's 最終ログイン, 前回ログイン and 登録日時 are not later than
  five minutes past the database's clock (CI113; ``security.services`` writes now);
* those five minutes — how far the app's clock may be from the database's — are
  ``cosei_clock_slack()``, also read by security 0012 and payeasy 0008, and the
  臨時休業日 window (0030) widens by it. The tests travel in time with the app's clock
  (time_machine) and the database's does not move: the test database alone has it widened
  to 100 years (tests/conftest.py), and the tests of these rules put five minutes back;
* every date/time column of the accounts tables the app writes and Python reads is
  within the years 1900–8999 (CHECK ``<table>_<column>_loadable``, 23514): no 'infinity',
  no BC date, nothing psycopg or the time-zone conversion cannot turn into a datetime.
  The journal and entry times are the ledger's (CI013/CI014), the 臨時休業日 dates CI112.

``loadable_checks`` is shared with the payeasy and security migrations (dbprobe26 F6).
The owner (a DBA loading records) is not bound by the two rules, only by the CHECKs.
"""

import importlib

from django.db import migrations

window_0030 = importlib.import_module("accounts.migrations.0030_closing_day_window")

FIRST, END = "1900-01-01", "9000-01-01"


def loadable_checks(columns: dict[str, tuple[str, ...]]) -> tuple[str, str]:
    """The CHECKs keeping ``columns`` ({table: (column, …)}) within the years 1900–8999,
    and their reverse."""
    forward, reverse = [], []
    for table, names in columns.items():
        for column in names:
            name = f"{table}_{column}_loadable"
            assert len(name) <= 63, name
            forward.append(f"ALTER TABLE public.{table} ADD CONSTRAINT {name} CHECK "
                           f"({column} >= '{FIRST} 00:00+00' AND {column} < '{END} 00:00+00');")
            reverse.append(f"ALTER TABLE public.{table} DROP CONSTRAINT IF EXISTS {name};")
    return "\n".join(forward), "\n".join(reverse)


def not_owner() -> str:
    """SQL true when the session is not the table's owner's (the app's role) — payeasy 0005."""
    return ("session_user <> pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c"
            " WHERE c.oid = TG_RELID))")


COLUMNS = {
    "accounts_account": ("opened_at", "last_entry_at", "status_changed_at"),
    "accounts_accountstatechange": ("changed_at", "xact_started_at"),
    "accounts_bankclosingday": ("created_at",),
    "accounts_customer": ("created_at", "last_login_at", "previous_login_at"),
    "accounts_workerheartbeat": ("beat_at",),
}
CHECKS, CHECKS_REVERSE = loadable_checks(COLUMNS)

SLACK = """
CREATE OR REPLACE FUNCTION public.cosei_clock_slack() RETURNS interval
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
    RETURN interval '5 minutes';  -- how far the app's clock may be from the database's
END $$;
"""

WINDOW_0030 = "IF NEW.date IS NULL OR NEW.date < v_today - interval '1 year' OR NEW.date > v_today + interval '3 years' THEN"
WINDOW = ("IF NEW.date IS NULL OR NEW.date < v_today - interval '1 year' - public.cosei_clock_slack()\n"
          "       OR NEW.date > v_today + interval '3 years' + public.cosei_clock_slack() THEN")


def closing_day_window_0030() -> str:
    return window_0030.FORWARD.split("CREATE TRIGGER", 1)[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def closing_day_window() -> str:
    source = closing_day_window_0030()
    if source.count(WINDOW_0030) != 1:
        raise RuntimeError("accounts_closing_day_window() has no single window test")
    return source.replace(WINDOW_0030, WINDOW)


FORWARD = SLACK + closing_day_window() + f"""
CREATE FUNCTION public.accounts_account_opened_now() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {not_owner()} THEN
        NEW.opened_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_account_opened_now
    BEFORE INSERT ON public.accounts_account
    FOR EACH ROW EXECUTE FUNCTION public.accounts_account_opened_now();

CREATE FUNCTION public.accounts_customer_times_held() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_latest constant timestamptz := clock_timestamp() + public.cosei_clock_slack();
BEGIN
    IF {not_owner()} AND (NEW.last_login_at > v_latest OR NEW.previous_login_at > v_latest
                            OR NEW.created_at > v_latest) THEN
        RAISE EXCEPTION 'customer %: a login or registration time after the database''s clock', NEW.id
            USING ERRCODE = 'CI113';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_customer_times_held
    BEFORE INSERT OR UPDATE OF last_login_at, previous_login_at, created_at ON public.accounts_customer
    FOR EACH ROW EXECUTE FUNCTION public.accounts_customer_times_held();

{CHECKS}
"""

REVERSE = closing_day_window_0030() + f"""
{CHECKS_REVERSE}
DROP TRIGGER IF EXISTS accounts_customer_times_held ON public.accounts_customer;
DROP FUNCTION IF EXISTS public.accounts_customer_times_held();
DROP TRIGGER IF EXISTS accounts_account_opened_now ON public.accounts_account;
DROP FUNCTION IF EXISTS public.accounts_account_opened_now();
DROP FUNCTION IF EXISTS public.cosei_clock_slack();
"""


class Migration(migrations.Migration):

    dependencies = [("accounts", "0030_closing_day_window")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
