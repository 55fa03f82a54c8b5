"""XFER-12, LEDGER-7 (walk25 F8 remainder): a 為替 is credited once per record identity, held
by the database. Transfers 0017 gave each 被仕向 record its identity (``record_key``) and the
upload holds (入金保留) a record whose identity is already in another file — but only the
service decided it, under an advisory lock; the app's role could INSERT a second record of
an identity already credited, 入金済 with the journal of its own key, and be paid twice.

On INSERT (CI207):

* a record carries its identity (``record_key`` not empty: the upload always sets one);
* it takes the lock the upload takes on its identity (``pg_advisory_xact_lock`` of
  ``interbank-in:<identity>``), so two transactions adding records of one identity run one
  after the other and each sees the other's row (READ COMMITTED: each statement of the
  trigger reads afresh once the lock is held);
* it is 入金済 only when no other record of that identity is there other than 返却済 — the
  rule of the upload (``_same_elsewhere``): otherwise it is added 入金保留 (or 入金不能), and
  it is credited only by staff's release, 入金保留 → 入金済 with who released it
  (``released_by``, audited) and the journal of its own key (0017's guard);
* a record added 入金済 runs under READ COMMITTED (a REPEATABLE READ or SERIALIZABLE
  transaction keeps its first snapshot and would not see a record committed while it
  waited for the lock); the app never raises the isolation level.

The identity is not recomputed here from the stored bytes (as 0018 leaves the records' other
fields): a record under a false identity is a record of a made-up file, which the app's role
can upload anyway; what is held is that the same identity is never credited twice unless
staff released the second.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION public.transfers_interbankincomingrecord_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF coalesce(NEW.record_key, '') = '' THEN
        RAISE EXCEPTION 'incoming record: it carries its identity (record_key)' USING ERRCODE = 'CI207';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('interbank-in:' || NEW.record_key, 0));
    IF NEW.status = 'credited' THEN
        IF current_setting('transaction_isolation') <> 'read committed' THEN
            RAISE EXCEPTION 'incoming record: credited only under READ COMMITTED (it must see the records of its identity)'
                USING ERRCODE = 'CI207';
        END IF;
        IF EXISTS (SELECT 1 FROM public.transfers_interbankincomingrecord r
                    WHERE r.record_key = NEW.record_key AND r.status <> 'returned'
                      AND (r.file_id, r.line) <> (NEW.file_id, NEW.line)) THEN
            RAISE EXCEPTION 'incoming record: identity % is already in another record: 入金保留 until staff release it',
                NEW.record_key USING ERRCODE = 'CI207';
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankincomingrecord_once
    BEFORE INSERT ON public.transfers_interbankincomingrecord
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankincomingrecord_once();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_interbankincomingrecord_once ON public.transfers_interbankincomingrecord;
DROP FUNCTION IF EXISTS public.transfers_interbankincomingrecord_once();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0020_fee_guards_bank_day_by_clock")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
