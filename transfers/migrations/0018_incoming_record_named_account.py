"""XFER-12, LEDGER-7 (dbprobe25 F8): as the app's role, a 被仕向 record was marked credited to
an account other than the one it names, or with the money on a "stripe" the app made of the
customer's account, and a file's SHA-256 was never compared with its bytes. The database now
holds (CI207):

* a record's account (入金済, and 名義相違/入金保留 when set) is the customer account its own
  支店番号, 科目 and 口座番号 name — on insert and on release (入金保留 → 入金済);
* ``transfers_interbank_journal_moves`` compares the payee side on the plain account id: only
  the 為替決済 side may be a stripe of it (accounts 0012 stripes fee income and Pay-easy
  collection only; a customer account is never striped), so money on a stripe is not the
  payee's;
* a new file's ``sha256`` is its identity computed here from its stored bytes
  (``transfers_incoming_identity``: the same rule as ``zengin_file.file_identity`` — the
  records as read whatever the line ends, a final Ctrl-Z and blank lines not counted, the
  data records sorted as bytes, each + CRLF), so a file row names the content it stores.
"""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("transfers.migrations.0008_interbank_records_held").FORWARD
MOVES_BEFORE = "CREATE OR REPLACE" + PREVIOUS[len("\nCREATE"):PREVIOUS.index("-- 仕向 ---")]

FORWARD = r"""
CREATE OR REPLACE FUNCTION public.transfers_interbank_journal_moves(p_journal bigint, p_key text, p_to bigint,
                                                                    p_amount bigint) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    -- the journal of key p_key moves exactly p_amount from 為替決済 (or a stripe of it) to the
    -- account p_to itself
    WITH s AS (SELECT s.id FROM public.accounts_account s WHERE s.purpose = 'zengin_settlement')
    SELECT coalesce(EXISTS (SELECT 1 FROM public.accounts_journal j
                             WHERE j.id = p_journal AND j.idempotency_key = p_key)
       AND (SELECT array_agg(ARRAY[CASE WHEN a.stripe_of_id = (SELECT id FROM s) THEN a.stripe_of_id ELSE a.id END,
                                   e.amount] ORDER BY e.amount, a.id)
              FROM public.accounts_entry e JOIN public.accounts_account a ON a.id = e.account_id
             WHERE e.journal_id = p_journal)
           = ARRAY[ARRAY[(SELECT id FROM s), -p_amount], ARRAY[p_to, p_amount]], false)
$$;

CREATE FUNCTION public.transfers_interbankincomingrecord_account() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.account_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM public.accounts_account a JOIN public.accounts_branch b ON b.id = a.branch_id
            WHERE a.id = NEW.account_id AND a.purpose = 'customer' AND b.code = NEW.branch_code
              AND a.type = NEW.account_type AND a.number = NEW.account_number) THEN
        RAISE EXCEPTION 'incoming record: its account is the customer account it names (% % %)',
            NEW.branch_code, NEW.account_type, NEW.account_number USING ERRCODE = 'CI207';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankincomingrecord_account
    BEFORE INSERT OR UPDATE ON public.transfers_interbankincomingrecord
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankincomingrecord_account();

-- zengin_file.file_identity, in SQL: the same bytes give the same digest
CREATE FUNCTION public.transfers_incoming_identity(p_content bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v bytea := p_content;
    v_lines bytea[];
    n integer;
    v_crlf constant bytea := '\x0d0a'::bytea;
BEGIN
    IF v IS NULL OR position('\x00'::bytea IN v) > 0 THEN
        RETURN NULL;  -- not a 全銀 file (and no text can hold it)
    END IF;
    IF length(v) > 0 AND substring(v FROM length(v) FOR 1) = '\x1a'::bytea THEN
        v := substring(v FROM 1 FOR length(v) - 1);
    END IF;
    IF position('\x0a'::bytea IN v) = 0 AND position('\x0d'::bytea IN v) = 0 THEN
        SELECT coalesce(array_agg(substring(v FROM i FOR 120) ORDER BY i), '{}') INTO v_lines
          FROM generate_series(1, length(v), 120) AS i;
    ELSE
        -- LATIN1: one character a byte, both ways
        SELECT array_agg(convert_to(l, 'LATIN1') ORDER BY o) INTO v_lines
          FROM unnest(string_to_array(replace(convert_from(v, 'LATIN1'), E'\r\n', E'\n'), E'\n'))
               WITH ORDINALITY AS x(l, o);
        n := coalesce(cardinality(v_lines), 0);
        WHILE n > 0 AND v_lines[n] = ''::bytea LOOP
            n := n - 1;
        END LOOP;
        v_lines := v_lines[1:n];
    END IF;
    n := coalesce(cardinality(v_lines), 0);
    IF n < 4 THEN
        RETURN NULL;  -- not a file: header, data, trailer, end
    END IF;
    RETURN encode(sha256(
        v_lines[1] || v_crlf
        || coalesce((SELECT string_agg(l || v_crlf, ''::bytea ORDER BY l) FROM unnest(v_lines[2:n - 2]) AS l),
                    ''::bytea)
        || v_lines[n - 1] || v_crlf || v_lines[n] || v_crlf), 'hex');
END $$;

CREATE FUNCTION public.transfers_interbankincomingfile_identity() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NEW.sha256 IS DISTINCT FROM public.transfers_incoming_identity(NEW.content) THEN
        RAISE EXCEPTION 'incoming file: its SHA-256 is the identity of its bytes' USING ERRCODE = 'CI207';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_interbankincomingfile_identity
    BEFORE INSERT ON public.transfers_interbankincomingfile
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankincomingfile_identity();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_interbankincomingfile_identity ON public.transfers_interbankincomingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankincomingfile_identity();
DROP FUNCTION IF EXISTS public.transfers_incoming_identity(bytea);
DROP TRIGGER IF EXISTS transfers_interbankincomingrecord_account ON public.transfers_interbankincomingrecord;
DROP FUNCTION IF EXISTS public.transfers_interbankincomingrecord_account();
""" + MOVES_BEFORE


class Migration(migrations.Migration):

    dependencies = [("transfers", "0017_incoming_record_identity")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
