"""XFER-12, XFER-4, LEDGER-7: the 為替 records are held by the database, whichever role writes
(the outside review rewrote them as the app's role: a 仕向 record pointed at another account
went into the 全銀 file, a sent record was queued again and paid twice, a 被仕向 record
waiting to be returned was relabelled credited). Each table allows the steps the services
take (transfers.interbank.services, transfers.services, transfers.scheduled) and nothing more.

仕向 (CI206):

* ``transfers_outgoingtransfer``: made only for an executed other-bank transfer, with that
  transfer's payee account, 受取人名, amount the payee receives, 依頼人名, state 未送信 and a
  決済日 not before the 振込日; then only 未送信 → 送信済 once a file line names it; every
  other column never changes; never deleted.
* ``transfers_interbankoutgoingitem``: a line is added only for a 未送信 record, to a file
  that still has a free line (its 件数); never changed nor deleted.
* ``transfers_interbankoutgoingfile``: its SHA-256 is that of its bytes; never changed nor
  deleted. At commit (a deferred constraint trigger) the file must be whole: as many lines
  as 件数, each data record carrying its line's record (金融機関・支店番号, 科目, 口座番号,
  金額, 顧客コード1 = the record's id), the trailer's 件数 and 合計, the total the records'
  sum and the 為替決済 amount what the transfers' journals put on that account.
* ``transfers_interbankreturn``: only for a 送信済 record, for its amount, with the journal
  the return posts (key ``interbank-return:<record id>``: 為替決済 → the transfer's debit
  account, that amount, nothing else); never changed nor deleted.

被仕向 (CI207):

* ``transfers_interbankincomingfile``: made 処理中; then only 処理中 → 処理済, when its
  records are all there (件数 and 合計金額); never changed otherwise nor deleted.
* ``transfers_interbankincomingrecord``: added only to a file 処理中, on one of its data
  lines (2 … 件数 + 1); 入金済 with the journal
  its upload posts (key ``interbank-in:<sha>:<line>``: 為替決済 → its account, its amount,
  nothing else), or 入金不能 with a reason and no journal; then only 入金不能 → 返却済 with
  who returned it; never changed otherwise nor deleted.

振込手数料 (CI203, with 0007): a new row is not dated back (適用開始日 before the bank's
day in Tokyo) while a row is in force; the first row of an empty table (migration 0002, or
``reference_ensure`` after a flush) may be.

Row triggers: the owner's flush between tests (TRUNCATE) is not affected.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION public.transfers_interbank_journal_moves(p_journal bigint, p_key text, p_to bigint,
                                                         p_amount bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    -- the journal of key p_key moves exactly p_amount from 為替決済 to the account p_to
    SELECT coalesce(EXISTS (SELECT 1 FROM public.accounts_journal j
                             WHERE j.id = p_journal AND j.idempotency_key = p_key)
       AND (SELECT array_agg(ARRAY[coalesce(a.stripe_of_id, a.id), e.amount] ORDER BY e.amount, a.id)
              FROM public.accounts_entry e JOIN public.accounts_account a ON a.id = e.account_id
             WHERE e.journal_id = p_journal)
           = ARRAY[ARRAY[(SELECT s.id FROM public.accounts_account s WHERE s.purpose = 'zengin_settlement'),
                         -p_amount],
                   ARRAY[p_to, p_amount]], false)
$$;

-- 仕向 -------------------------------------------------------------------------------------

CREATE FUNCTION public.transfers_outgoingtransfer_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    t public.transfers_transfer%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'outgoing record % is never deleted', OLD.id USING ERRCODE = 'CI206';
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO t FROM public.transfers_transfer WHERE id = NEW.transfer_id;
        IF NOT FOUND OR t.route <> 'other_bank' OR t.status <> 'executed' OR t.journal_id IS NULL
           OR (NEW.bank_code, NEW.branch_code, NEW.account_type, NEW.account_number, NEW.payee_kana,
               NEW.amount, NEW.sender_name, NEW.edi, NEW.status)
              IS DISTINCT FROM (t.bank_code, t.branch_code, t.account_type, t.account_number,
                                left(t.holder_kana, 30),
                                CASE WHEN t.fee_borne_by_payee THEN t.amount - t.fee ELSE t.amount END,
                                left(t.sender_name, 40), '', 'pending')
           OR NEW.settlement_date < t.transfer_date THEN
            RAISE EXCEPTION 'outgoing record of transfer %: only the executed other-bank transfer''s own payee and amount, pending',
                NEW.transfer_id USING ERRCODE = 'CI206';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - 'status' IS DISTINCT FROM to_jsonb(OLD) - 'status' THEN
        RAISE EXCEPTION 'outgoing record %: its content never changes', OLD.id USING ERRCODE = 'CI206';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status = 'pending' AND NEW.status = 'sent'
                AND EXISTS (SELECT 1 FROM public.transfers_interbankoutgoingitem i WHERE i.outgoing_id = OLD.id)) THEN
        RAISE EXCEPTION 'outgoing record %: % -> % (only pending -> sent, in a file)', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'CI206';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_outgoingtransfer_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_outgoingtransfer
    FOR EACH ROW EXECUTE FUNCTION public.transfers_outgoingtransfer_guard();

CREATE FUNCTION public.transfers_interbankoutgoingitem_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'line % of outgoing file %: a file line is never changed nor deleted', OLD.line, OLD.file_id
            USING ERRCODE = 'CI206';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM public.transfers_outgoingtransfer o
                    WHERE o.id = NEW.outgoing_id AND o.status = 'pending') THEN
        RAISE EXCEPTION 'outgoing record %: only a pending record goes into a file', NEW.outgoing_id
            USING ERRCODE = 'CI206';
    END IF;
    -- the lines inserted before this one by the same statement are seen here
    IF (SELECT count(*) FROM public.transfers_interbankoutgoingitem i WHERE i.file_id = NEW.file_id)
       >= (SELECT f.record_count FROM public.transfers_interbankoutgoingfile f WHERE f.id = NEW.file_id) THEN
        RAISE EXCEPTION 'outgoing file %: every line is taken, a file is never added to', NEW.file_id
            USING ERRCODE = 'CI206';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankoutgoingitem_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_interbankoutgoingitem
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankoutgoingitem_guard();

CREATE FUNCTION public.transfers_interbankoutgoingfile_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'outgoing file %: a file is never changed nor deleted', OLD.id USING ERRCODE = 'CI206';
    END IF;
    IF NEW.sha256 IS DISTINCT FROM encode(sha256(NEW.content), 'hex') THEN
        RAISE EXCEPTION 'outgoing file: its SHA-256 is that of its bytes' USING ERRCODE = 'CI206';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankoutgoingfile_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_interbankoutgoingfile
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankoutgoingfile_guard();

-- at commit: the file is whole (its lines, trailer and totals are its records')
CREATE FUNCTION public.transfers_interbankoutgoingfile_whole() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_interbankoutgoingfile%ROWTYPE;
    v_lines integer;
    v_total bigint;
    v_settled bigint;
    v_wrong integer;
    v_trailer bytea;
    v_crlf constant bytea := '\x0d0a'::bytea;
BEGIN
    SELECT * INTO f FROM public.transfers_interbankoutgoingfile WHERE id = NEW.id;
    SELECT count(DISTINCT i.line), coalesce(sum(o.amount), 0) INTO v_lines, v_total
      FROM public.transfers_interbankoutgoingitem i
      JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id
     WHERE i.file_id = f.id AND i.line BETWEEN 2 AND f.record_count + 1;
    SELECT coalesce(sum(e.amount), 0) INTO v_settled
      FROM public.transfers_interbankoutgoingitem i
      JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id
      JOIN public.transfers_transfer t ON t.id = o.transfer_id
      JOIN public.accounts_entry e ON e.journal_id = t.journal_id
      JOIN public.accounts_account a ON a.id = e.account_id
     WHERE i.file_id = f.id AND a.purpose = 'zengin_settlement';
    SELECT count(*) INTO v_wrong
      FROM public.transfers_interbankoutgoingitem i
      JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id,
           LATERAL (SELECT substring(f.content FROM (i.line - 1) * 122 + 1 FOR 122) AS r) x
     WHERE i.file_id = f.id
       AND (substring(r FROM 1 FOR 5) IS DISTINCT FROM convert_to('2' || lpad(o.bank_code::bigint::text, 4, '0'), 'UTF8')
            OR substring(r FROM 21 FOR 3) IS DISTINCT FROM convert_to(lpad(o.branch_code::bigint::text, 3, '0'), 'UTF8')
            OR substring(r FROM 43 FOR 8) IS DISTINCT FROM
               convert_to(o.account_type || lpad(o.account_number::bigint::text, 7, '0'), 'UTF8')
            OR substring(r FROM 81 FOR 10) IS DISTINCT FROM convert_to(lpad(o.amount::text, 10, '0'), 'UTF8')
            OR substring(r FROM 92 FOR 10) IS DISTINCT FROM convert_to(lpad(o.id::text, 10, '0'), 'UTF8')
            OR substring(r FROM 121 FOR 2) IS DISTINCT FROM v_crlf);
    v_trailer := substring(f.content FROM (f.record_count + 1) * 122 + 1 FOR 122);
    IF (SELECT count(*) FROM public.transfers_interbankoutgoingitem i WHERE i.file_id = f.id) <> f.record_count
       OR v_lines <> f.record_count OR v_wrong <> 0
       OR length(f.content) <> (f.record_count + 3) * 122
       OR substring(f.content FROM 1 FOR 1) <> '\x31'::bytea
       OR substring(v_trailer FROM 1 FOR 19) IS DISTINCT FROM
          convert_to('8' || lpad(f.record_count::text, 6, '0') || lpad(f.total_amount::text, 12, '0'), 'UTF8')
       OR substring(v_trailer FROM 121 FOR 2) IS DISTINCT FROM v_crlf
       OR substring(f.content FROM (f.record_count + 2) * 122 + 1 FOR 1) <> '\x39'::bytea
       OR f.total_amount <> v_total OR f.settlement_amount <> v_settled THEN
        RAISE EXCEPTION 'outgoing file %: its lines, trailer and totals are not its records''', f.id
            USING ERRCODE = 'CI206';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_interbankoutgoingfile_whole
    AFTER INSERT ON public.transfers_interbankoutgoingfile DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankoutgoingfile_whole();

CREATE FUNCTION public.transfers_interbankreturn_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    o public.transfers_outgoingtransfer%ROWTYPE;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'return %: a 資金返却 is never changed nor deleted', OLD.id USING ERRCODE = 'CI206';
    END IF;
    SELECT * INTO o FROM public.transfers_outgoingtransfer WHERE id = NEW.outgoing_id;
    IF NOT FOUND OR o.status <> 'sent' OR NEW.amount IS DISTINCT FROM o.amount
       OR NOT public.transfers_interbank_journal_moves(
            NEW.journal_id, 'interbank-return:' || o.id,
            (SELECT t.debit_account_id FROM public.transfers_transfer t WHERE t.id = o.transfer_id), o.amount) THEN
        RAISE EXCEPTION 'return of outgoing record %: only a sent record, its amount, with the journal the return posts',
            NEW.outgoing_id USING ERRCODE = 'CI206';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankreturn_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_interbankreturn
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankreturn_guard();

-- 被仕向 -----------------------------------------------------------------------------------

CREATE FUNCTION public.transfers_interbankincomingfile_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'incoming file % is never deleted', OLD.id USING ERRCODE = 'CI207';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'processing' THEN
            RAISE EXCEPTION 'incoming file: a file is stored 処理中 first' USING ERRCODE = 'CI207';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) - 'status' IS DISTINCT FROM to_jsonb(OLD) - 'status'
       OR NOT (OLD.status = 'processing' AND NEW.status = 'done') THEN
        RAISE EXCEPTION 'incoming file %: only its state, processing -> done', OLD.id USING ERRCODE = 'CI207';
    END IF;
    IF (SELECT (count(*), coalesce(sum(r.amount), 0))
          FROM public.transfers_interbankincomingrecord r WHERE r.file_id = OLD.id)
       IS DISTINCT FROM (OLD.record_count::bigint, OLD.total_amount::numeric) THEN
        RAISE EXCEPTION 'incoming file %: done only with all its records (count and total)', OLD.id
            USING ERRCODE = 'CI207';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankincomingfile_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_interbankincomingfile
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankincomingfile_guard();

CREATE FUNCTION public.transfers_interbankincomingrecord_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_interbankincomingfile%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'incoming record % is never deleted', OLD.id USING ERRCODE = 'CI207';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF to_jsonb(NEW) - ARRAY['status', 'returned_by'] IS DISTINCT FROM to_jsonb(OLD) - ARRAY['status', 'returned_by']
           OR NOT (OLD.status = 'unapplied' AND NEW.status = 'returned' AND OLD.returned_by = ''
                   AND NEW.returned_by <> '') THEN
            RAISE EXCEPTION 'incoming record %: only unapplied -> returned, with who returned it', OLD.id
                USING ERRCODE = 'CI207';
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO f FROM public.transfers_interbankincomingfile WHERE id = NEW.file_id;
    IF NOT FOUND OR f.status <> 'processing' OR NEW.line NOT BETWEEN 2 AND f.record_count + 1
       OR NEW.amount <= 0 OR NEW.returned_by <> ''
       OR NOT (CASE NEW.status
           WHEN 'credited' THEN NEW.reason = '' AND NEW.account_id IS NOT NULL
                                AND public.transfers_interbank_journal_moves(
                                    NEW.journal_id, 'interbank-in:' || f.sha256 || ':' || NEW.line,
                                    NEW.account_id, NEW.amount)
           WHEN 'unapplied' THEN NEW.reason <> '' AND NEW.journal_id IS NULL
           ELSE false
       END) THEN
        RAISE EXCEPTION 'incoming record: only credited with the journal its upload posts, or unapplied with a reason, to a file 処理中'
            USING ERRCODE = 'CI207';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankincomingrecord_guard
    BEFORE INSERT OR UPDATE OR DELETE ON public.transfers_interbankincomingrecord
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankincomingrecord_guard();

-- 振込手数料: a new row is not dated back --------------------------------------------------

CREATE FUNCTION public.transfers_feeschedule_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_today date := (now() AT TIME ZONE 'Asia/Tokyo')::date;
BEGIN
    IF NEW.effective_from < v_today
       AND EXISTS (SELECT 1 FROM public.transfers_feeschedule f WHERE f.effective_from <= v_today) THEN
        RAISE EXCEPTION 'fee schedule: a row is not dated back to % (a fee is in force)', NEW.effective_from
            USING ERRCODE = 'CI203';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_feeschedule_insert_guard
    BEFORE INSERT ON public.transfers_feeschedule
    FOR EACH ROW EXECUTE FUNCTION public.transfers_feeschedule_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_feeschedule_insert_guard ON public.transfers_feeschedule;
DROP FUNCTION IF EXISTS public.transfers_feeschedule_insert_guard();
DROP TRIGGER IF EXISTS transfers_interbankincomingrecord_guard ON public.transfers_interbankincomingrecord;
DROP FUNCTION IF EXISTS public.transfers_interbankincomingrecord_guard();
DROP TRIGGER IF EXISTS transfers_interbankincomingfile_guard ON public.transfers_interbankincomingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankincomingfile_guard();
DROP TRIGGER IF EXISTS transfers_interbankreturn_guard ON public.transfers_interbankreturn;
DROP FUNCTION IF EXISTS public.transfers_interbankreturn_guard();
DROP TRIGGER IF EXISTS transfers_interbankoutgoingfile_whole ON public.transfers_interbankoutgoingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankoutgoingfile_whole();
DROP TRIGGER IF EXISTS transfers_interbankoutgoingfile_guard ON public.transfers_interbankoutgoingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankoutgoingfile_guard();
DROP TRIGGER IF EXISTS transfers_interbankoutgoingitem_guard ON public.transfers_interbankoutgoingitem;
DROP FUNCTION IF EXISTS public.transfers_interbankoutgoingitem_guard();
DROP TRIGGER IF EXISTS transfers_outgoingtransfer_guard ON public.transfers_outgoingtransfer;
DROP FUNCTION IF EXISTS public.transfers_outgoingtransfer_guard();
DROP FUNCTION IF EXISTS public.transfers_interbank_journal_moves(bigint, text, bigint, bigint);
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0007_confirmed_records_held")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
