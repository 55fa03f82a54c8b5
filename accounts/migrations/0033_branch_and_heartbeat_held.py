"""XFER-10, XFER-12, LEDGER-7, issue 14 (outside review dbprobe27 F1, F5, F9).

F1, F5 — our branches (``accounts_branch``) are reference data: the migrations write them as
the owner (``ensure_reference_data``, 0003; a test flush restores them as the owner). The app's
role could rewrite them: a 支店名（カナ） '本店営業部' (kanji) refused the 全銀 file's header
(``_our_header``) on every day, and swapping two branch codes inside one transaction sent a
transfer the record says is for 002-3456789 to 003-3456789 (the guards join on the code).

* the app's role has no INSERT, UPDATE or DELETE on accounts_branch (accounts/db_roles.py);
* whoever writes (the owner too), a 店番 is three digits (23514 ``accounts_branch_code_digits``)
  and a 支店名（カナ） is made only of characters the 全銀 writer takes after ``zengin_kana``
  (23514 ``accounts_branch_name_kana_zengin``): full-width katakana but ヮ ヰ ヱ, ー, full-width
  letters, digits, space and （）．／－, or the half-width Zengin set of CI212 (transfers 0021).

F9 — a worker heartbeat the app's role writes is dated by the database's clock
(``accounts_workerheartbeat_now``), whatever its INSERT or UPDATE says: a beat dated 8999 made
/health/ report a live worker for ever (-220048690614 s). /health/ reads only beats not ahead of
the database's clock and reports one ahead as an error (cosei_ib.views.health).
"""

import importlib

from django.db import migrations

TIMESTAMPS = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

# what transfers.zengin's writer takes after zengin_kana (ヮ ヰ ヱ have no half-width form)
# — the full-width forms of the code list, and the half-width set itself (CI212's ZENGIN)
KANA = "[ァ-ロワヲ-ヶー　Ａ-Ｚａ-ｚ０-９（）．／－ｦ-ﾟA-Za-z0-9 ()./-]"

BRANCH = f"""
ALTER TABLE public.accounts_branch ADD CONSTRAINT accounts_branch_code_digits CHECK (code ~ '^[0-9]{{3}}$');
ALTER TABLE public.accounts_branch ADD CONSTRAINT accounts_branch_name_kana_zengin CHECK (name_kana ~ '^{KANA}+$');
"""
BRANCH_REVERSE = """
ALTER TABLE public.accounts_branch DROP CONSTRAINT IF EXISTS accounts_branch_name_kana_zengin;
ALTER TABLE public.accounts_branch DROP CONSTRAINT IF EXISTS accounts_branch_code_digits;
"""

HEARTBEAT = f"""
CREATE FUNCTION public.accounts_workerheartbeat_now() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {TIMESTAMPS.not_owner()} THEN
        NEW.beat_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER accounts_workerheartbeat_now
    BEFORE INSERT OR UPDATE ON public.accounts_workerheartbeat
    FOR EACH ROW EXECUTE FUNCTION public.accounts_workerheartbeat_now();
"""
HEARTBEAT_REVERSE = """
DROP TRIGGER IF EXISTS accounts_workerheartbeat_now ON public.accounts_workerheartbeat;
DROP FUNCTION IF EXISTS public.accounts_workerheartbeat_now();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0032_ledger_post_call_cap")]

    operations = [
        migrations.RunSQL(BRANCH, BRANCH_REVERSE),
        migrations.RunSQL(HEARTBEAT, HEARTBEAT_REVERSE),
    ]
