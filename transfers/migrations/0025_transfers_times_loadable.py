"""XFER-5, XFER-8, XFER-12, LEDGER-7 (outside review dbprobe27 F2): a date or time Python
cannot load stops the pages and jobs that read it. dbprobe26 F6's CHECKs (accounts 0031,
transfers 0020 for transfers_transfer only) missed the other transfers tables; as the app's
role the review wrote 'infinity' into them:

* 利用限度額 ``updated_at`` (or ``pending_from``): the nightly batch's claim loads the row
  with the transfer — every run of ``transfers_execute_due`` died (DataError), for every
  customer behind that row; 振込の設定 ``updated_at``: ``bank_max_daily_limit()`` and so
  利用限度額変更 for everyone;
* a 仕向 file's 作成日時: the day's file could not be downloaded nor listed, and its
  records (送信済, never changed: CI206) never left; a 仕向 record's 決済日 (F3): the
  仕向明細 list failed for ever;
* a 被仕向 file's or 入金不能 record's 取込・処理日時: staff's 入金不能 list (return and
  release) failed for ever (neither row is changed nor deleted: CI207);
* and the same for 振込資金返却, 登録振込先 and 口座名義確認 rows.

The database now holds:

* every date/time column of these tables is within the years 1900–8999 (CHECK
  ``<table>_<column>_loadable``, 23514, every role and the rows already there —
  accounts 0031's ``loadable_checks``): 利用限度額 (更新日時, 変更後の適用日), 振込の設定
  (更新日時), 仕向ファイル (取組日, 作成日時), 他行宛振込データ (決済日, 作成日時),
  被仕向ファイル (取込日時), 振込入金明細 (処理日時), 振込資金返却 (登録日時), 登録振込先
  (登録日時), 口座名義確認 (日時). 振込手数料 is another migration's (dbprobe27 F2c/F4);
* the tables with an insert guard take their 作成・登録・取込・処理日時 from the database's
  clock for the app's role, whatever the INSERT says (``clock_timestamp()``, trigger
  ``<table>_created_now``, as accounts 0031 does for an account's 開設日時): 仕向ファイル,
  他行宛振込データ, 振込資金返却, 被仕向ファイル, 振込入金明細, 登録振込先. Nothing of the
  app sets them (``auto_now_add``). The owner (a DBA loading records) is not bound.

SQL functions/triggers: CREATE FUNCTION public.transfers_created_now(); CREATE TRIGGER
``<table>_created_now`` (BEFORE INSERT) on the six tables. Nothing replaced.
"""

import importlib

from django.db import migrations

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

COLUMNS = {
    "transfers_transferlimit": ("updated_at", "pending_from"),
    "transfers_transfersettings": ("updated_at",),
    "transfers_interbankoutgoingfile": ("created_at", "business_day"),
    "transfers_outgoingtransfer": ("created_at", "settlement_date"),
    "transfers_interbankincomingfile": ("created_at",),
    "transfers_interbankincomingrecord": ("created_at",),
    "transfers_interbankreturn": ("created_at",),
    "transfers_payee": ("created_at",),
    "transfers_namelookup": ("created_at",),
}
CHECKS, CHECKS_REVERSE = loadable.loadable_checks(COLUMNS)

# the tables with an insert guard (transfers 0008, 0022): their created_at is the database's
CREATED_NOW = ("transfers_interbankoutgoingfile", "transfers_outgoingtransfer", "transfers_interbankreturn",
               "transfers_interbankincomingfile", "transfers_interbankincomingrecord", "transfers_payee")

FORWARD = f"""
CREATE FUNCTION public.transfers_created_now() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF {loadable.not_owner()} THEN
        NEW.created_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$;
""" + "".join(f"""
CREATE TRIGGER {table}_created_now
    BEFORE INSERT ON public.{table}
    FOR EACH ROW EXECUTE FUNCTION public.transfers_created_now();
""" for table in CREATED_NOW)

REVERSE = "".join(f"DROP TRIGGER IF EXISTS {table}_created_now ON public.{table};\n" for table in CREATED_NOW) + """
DROP FUNCTION IF EXISTS public.transfers_created_now();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("transfers", "0024_merge_fee_incoming_and_batch_row_guards"),
        ("accounts", "0031_timestamps_loadable"),
    ]

    operations = [
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
