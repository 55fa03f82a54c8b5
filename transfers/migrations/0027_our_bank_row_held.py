"""XFER-2, XFER-10, XFER-12, LEDGER-7 (dbprobe27 F1, the bank part): our bank's row of the
Zengin directory is one the 全銀 file header can carry. ``_our_header``
(transfers/interbank/services.py) writes the header's 仕向金融機関名 from
``transfers_bank.kana`` of our code (1633); the app's role set it to 'ｵｵｻｶ漢' and every
day's 仕向 file was refused (「全銀形式で書けないデータがあるため…」) — no other-bank
transfer could leave, and staff cannot repair the row (the Bank admin is read-only).

``transfers_bank_ours_held`` (new trigger, BEFORE INSERT OR UPDATE OR DELETE ON
transfers_bank; the app's role — ``zengin_load`` writes the table as the app and keeps
working: it writes our row with the package's kana; the owner is not bound), CI226:

* our bank's row (code 1633) is never deleted, keeps its code, and no other row takes it;
* its kana (a new row of code 1633, or a change) is in the characters the header writer
  takes after ``zengin_kana`` — the Zengin set itself (as transfers 0021, CI212) or the
  full-width katakana, letters, digits, space and （）．／－ it converts into that set — and
  not blank (``OUR_KANA`` below; tests/transfers check each of them converts).

SQL functions/triggers: CREATE FUNCTION public.transfers_bank_ours_held(), CREATE TRIGGER
transfers_bank_ours_held. Nothing replaced.
"""

import importlib

from django.db import migrations

from accounts.reference_data import BANK_CODE

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

# what transfers.zengin.zengin_kana turns into the Zengin characters, as a bracket
# expression's content (the half-width set of 0021, then the full-width forms); '-' last
OUR_KANA = "ｦ-ﾟA-Za-z0-9 ()./ァ-ロワヲ-ヶー　Ａ-Ｚａ-ｚ０-９（）．／－-"

FORWARD = f"""
CREATE FUNCTION public.transfers_bank_ours_held() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;  -- the owner: a DBA
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF OLD.code = '{BANK_CODE}' THEN
            RAISE EXCEPTION 'bank %: our bank''s row is never deleted', OLD.code USING ERRCODE = 'CI226';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.code IS DISTINCT FROM OLD.code AND '{BANK_CODE}' IN (OLD.code, NEW.code) THEN
        RAISE EXCEPTION 'bank %: our bank''s row keeps its code (%)', OLD.code, '{BANK_CODE}' USING ERRCODE = 'CI226';
    END IF;
    IF NEW.code = '{BANK_CODE}' AND NOT (NEW.kana ~ '^[{OUR_KANA}]+$' AND NEW.kana ~ '[^ 　]') THEN
        RAISE EXCEPTION 'bank %: our bank''s kana (the 全銀 file header) in the Zengin characters only', NEW.code
            USING ERRCODE = 'CI226';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_bank_ours_held
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_bank
    FOR EACH ROW EXECUTE FUNCTION public.transfers_bank_ours_held();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_bank_ours_held ON public.transfers_bank;
DROP FUNCTION IF EXISTS public.transfers_bank_ours_held();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0026_transfer_within_daily_limit")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
