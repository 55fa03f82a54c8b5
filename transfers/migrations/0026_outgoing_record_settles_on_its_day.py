"""XFER-10, XFER-12, LEDGER-7 (outside review dbprobe27 F3): a 仕向 record settles on its
transfer's settlement day, and an executed transfer to another bank has its record. As the
app's role the review (a) made a full other-bank transfer (2,000円 + 330円 fee debited, held
in 為替決済) whose record settles on 9999-12-31 ('infinity' also broke the 仕向明細 list):
the record is in no day's file, ever, and is never changed (CI206) nor returned (only a
送信済 record is); (b) made the same transfer with no record at all: no file carries it.
0008 only refused a 決済日 before the 振込日; nothing required the record.

* On INSERT by the app's role (CI221, in ``transfers_outgoingtransfer_guard``): the 決済日
  is the settlement day of the day the transfer is executed — ``_outgoing_record`` takes
  ``bankcalendar.settlement_day`` of the 振込日, or of today when the batch executes a
  予約 late. The database does not know the national holidays (``jpholiday``), so it
  holds the bounds of that day: not before the 振込日 nor before today (the database's
  clock in Tokyo, less ``cosei_clock_slack()``: the app's clock may be that much behind);
  not a Saturday or Sunday, nor Dec 31 – Jan 3; at most 14 days after the later of the
  振込日 and today (plus the slack) — the longest run of closed days (Golden Week, the
  year end) is ten — plus one day for each of the bank's own closing days (臨時休業日)
  in between. The owner (a DBA loading records) is bound only by 0008's rule.
* At commit (CI222, constraint trigger ``transfers_transfer_outgoing_by_commit``,
  DEFERRABLE INITIALLY DEFERRED, whoever writes — as payeasy 0009 for a payment's
  posting): a 振込済 transfer to another bank (``route = 'other_bank'``, INSERTed so or
  moved there by the batch) has its 仕向 record. ``transfer_execute`` and the batch write
  the record after the transfer, in the same transaction.

/health/ reports ``outgoing_records_overdue`` (transfers.selectors.health_counts): the
未送信 records whose 決済日 has passed — the day's file did not carry them.

SQL functions/triggers: CREATE OR REPLACE FUNCTION public.transfers_outgoingtransfer_guard()
(trigger unchanged; reverse: 0021's); CREATE FUNCTION
public.transfers_transfer_outgoing_by_commit(), CREATE CONSTRAINT TRIGGER
transfers_transfer_outgoing_by_commit (AFTER INSERT OR UPDATE OF status ON
transfers_transfer).
"""

import importlib

from django.db import migrations

names_0021 = importlib.import_module("transfers.migrations.0021_zengin_names_written")
loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

GUARD_0021 = names_0021.OUTGOING_0008.replace(names_0021.INSERT_END,
                                              names_0021.OUTGOING_NAMES + names_0021.INSERT_END, 1)
DECLARE = "    t public.transfers_transfer%ROWTYPE;\n"
SETTLES_WITHIN = 14  # days after the later of the 振込日 and today, before the bank's own closing days

SETTLES = f"""        -- dbprobe27 F3: the settlement day of the day the transfer is executed (bounds: no holidays here)
        IF {loadable.not_owner()} THEN
            v_from := greatest(t.transfer_date,
                               ((clock_timestamp() - public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date);
            v_to := greatest(t.transfer_date,
                             ((clock_timestamp() + public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date);
            IF NEW.settlement_date IS NULL OR NEW.settlement_date < v_from
               OR extract(isodow FROM NEW.settlement_date) > 5
               OR to_char(NEW.settlement_date, 'MM-DD') IN ('12-31', '01-01', '01-02', '01-03')
               OR NEW.settlement_date > v_to + {SETTLES_WITHIN} + (
                    SELECT count(*)::integer FROM public.accounts_bankclosingday c
                     WHERE c.date > v_to AND c.date <= NEW.settlement_date) THEN
                RAISE EXCEPTION 'outgoing record of transfer %: 決済日 % is not the settlement day of its 振込日 %',
                    NEW.transfer_id, NEW.settlement_date, t.transfer_date USING ERRCODE = 'CI221';
            END IF;
        END IF;
"""


def guard() -> str:
    source = GUARD_0021
    if source.count(DECLARE) != 1 or source.count(names_0021.INSERT_END) != 1:
        raise RuntimeError("transfers_outgoingtransfer_guard() is not the function text expected")
    source = source.replace(DECLARE, DECLARE + "    v_from date;\n    v_to date;\n", 1)
    return source.replace(names_0021.INSERT_END, SETTLES + names_0021.INSERT_END, 1)


BY_COMMIT = """
CREATE FUNCTION public.transfers_transfer_outgoing_by_commit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- the row as it is at commit: 振込済 to another bank, with its 仕向 record
    IF EXISTS (SELECT 1 FROM public.transfers_transfer t
                WHERE t.id = NEW.id AND t.route = 'other_bank' AND t.status = 'executed')
       AND NOT EXISTS (SELECT 1 FROM public.transfers_outgoingtransfer o WHERE o.transfer_id = NEW.id) THEN
        RAISE EXCEPTION 'transfer %: executed to another bank with no outgoing record by commit', NEW.id
            USING ERRCODE = 'CI222';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_transfer_outgoing_by_commit
    AFTER INSERT OR UPDATE OF status ON public.transfers_transfer DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.route = 'other_bank' AND NEW.status = 'executed')
    EXECUTE FUNCTION public.transfers_transfer_outgoing_by_commit();
"""

BY_COMMIT_REVERSE = """
DROP TRIGGER IF EXISTS transfers_transfer_outgoing_by_commit ON public.transfers_transfer;
DROP FUNCTION IF EXISTS public.transfers_transfer_outgoing_by_commit();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0025_transfers_times_loadable")]

    operations = [
        migrations.RunSQL(guard(), GUARD_0021),
        migrations.RunSQL(BY_COMMIT, BY_COMMIT_REVERSE),
    ]
