"""XFER-12, LEDGER-7 (outside review dbprobe29 F1; dbprobe28 F6 completed): a 仕向 file is,
byte for byte, the one ``file_build`` writes from its records. As the app's role the review
wrote the day's file with the right header and payee name but 新規コード 'X': CI206 (0008:
the account, amount and record-id columns, the counts, trailer bytes 1–19) and CI227 (0029:
the 決済日, header bytes 1–120, data columns 51–80) held, so it committed — the record 送信済
for ever, the customer debited, and the file one the app's own reader (``file_read``)
refuses, as the 全銀 centre would; nothing else (bank/branch kana, 手形交換所番号, 新規コード,
顧客コード2, 振込区分, 識別表示, dummies, the trailer's and end record's blanks, line ends,
the ``sha256`` column) was compared.

``transfers_interbankoutgoingfile_zengin_bytes`` (new constraint trigger, AFTER INSERT ON
transfers_interbankoutgoingfile, DEFERRABLE INITIALLY DEFERRED: the items are written after
the file; its name sorts after 0008's ``…_whole`` and 0029's ``…_written_as_ours``, so what
those refuse is still CI206/CI227), for the app's role (the owner, a DBA, is not bound),
CI233 — by commit:

* the items' lines are 2, 3, … in order, one per record (``enumerate(outgoing, start=2)``);
* ``content`` is exactly what ``transfers.interbank.zengin_file.file_build(_our_header(day),
  [_data_record(record) …])`` writes, rebuilt here field by field: the header (as 0029),
  each item's data record from its 仕向 record — データ区分 2, bank code and kana, branch
  code and kana, 手形交換所番号 0000, 預金種目, 口座番号, 受取人名, 金額, 新規コード 0,
  顧客コード1 = the record's id, 顧客コード2 0000000000, 振込区分 7 (テレ振込), 識別表示
  blank, 7 blanks — the trailer (8, count, total, 101 blanks), the end record (9, 119 blanks),
  each record + CRLF, in Shift_JIS;
* ``sha256 = encode(sha256(content), 'hex')``.

Fields as ``record_build`` writes them: a number (``transfers_zengin_number``) is digits,
right-aligned and zero-padded, refused (NULL) when it does not fit; a text
(``transfers_zengin_field``) is normalised as ``zengin_normalize`` (0029's
``transfers_zengin_text``), refused (NULL) when any character is outside the 全銀 set
(``transfers.zengin.ALLOWED``: half-width katakana with ﾞ ﾟ, A–Z, 0–9, space, ``( ) . / -``),
then cut to its width and padded with blanks. A file naming a record ``file_build`` cannot
write (it holds such a record back) is refused. One difference, on the safe side: Python's
``int()`` takes full-width digits (and blanks, '+', '_'), the SQL number only ASCII ones; a
record's codes are its transfer's (0008) and those are ASCII digits (0020's CHECK
``transfer_payee_codes_digits``), so no file the service writes differs.

SQL functions/triggers: CREATE FUNCTION public.transfers_zengin_field(text, integer),
public.transfers_zengin_number(text, integer), public.transfers_zengin_data_line(text, …, bigint, bigint),
public.transfers_interbankoutgoingfile_zengin_bytes();
CREATE CONSTRAINT TRIGGER transfers_interbankoutgoingfile_zengin_bytes. Nothing replaced.
"""

import importlib

from django.db import migrations

from accounts.reference_data import BANK_CODE

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

FORWARD = f"""
CREATE FUNCTION public.transfers_zengin_field(p text, p_width integer) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    -- transfers.interbank.zengin_file._text: NULL where file_build raises ZenginFieldError
    SELECT CASE WHEN v ~ '^[ｦｱ-ﾝﾞﾟA-Z0-9 ()./-]*$' THEN rpad(v, p_width) END
      FROM (SELECT public.transfers_zengin_text(p) AS v) AS s
$$;

CREATE FUNCTION public.transfers_zengin_number(p text, p_width integer) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    -- transfers.interbank.zengin_file._number: NULL where file_build raises
    SELECT CASE WHEN v ~ '^[0-9]*$' AND length(ltrim(v, '0')) <= p_width THEN lpad(ltrim(v, '0'), p_width, '0') END
      FROM (SELECT coalesce(p, '') AS v) AS s
$$;

CREATE FUNCTION public.transfers_zengin_data_line(
    p_bank_code text, p_bank_kana text, p_branch_code text, p_branch_kana text, p_account_type text,
    p_account_number text, p_payee_kana text, p_amount bigint, p_id bigint) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public AS $$
    -- transfers.interbank.zengin_file.data_line(services._data_record(record)), without CRLF;
    -- NULL where it raises ZenginFieldError
    SELECT '2' || public.transfers_zengin_number(p_bank_code, 4) || public.transfers_zengin_field(p_bank_kana, 15)
           || public.transfers_zengin_number(p_branch_code, 3) || public.transfers_zengin_field(p_branch_kana, 15)
           || '0000' || public.transfers_zengin_number(p_account_type, 1)
           || public.transfers_zengin_number(p_account_number, 7) || public.transfers_zengin_field(p_payee_kana, 30)
           || public.transfers_zengin_number(p_amount::text, 10) || '0' || public.transfers_zengin_number(p_id::text, 10)
           || '0000000000' || '7' || ' ' || repeat(' ', 7)
$$;

CREATE FUNCTION public.transfers_interbankoutgoingfile_zengin_bytes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_interbankoutgoingfile%ROWTYPE;
    v_count integer;
    v_total bigint;
    v_lines integer[];
    v_header text;
    v_data text;
    v_unwritable boolean;
    v_expected bytea;
    v_problem text;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA loading files
    END IF;
    SELECT * INTO f FROM public.transfers_interbankoutgoingfile WHERE id = NEW.id;
    SELECT '1' || '21' || '0' || public.transfers_zengin_number('{BANK_CODE}', 10)
           || public.transfers_zengin_field(a.holder_kana, 40) || to_char(f.business_day, 'MMDD')
           || public.transfers_zengin_number('{BANK_CODE}', 4)
           || public.transfers_zengin_field(
                  (SELECT k.kana FROM public.transfers_bank k WHERE k.code = '{BANK_CODE}'), 15)
           || public.transfers_zengin_number(b.code, 3) || public.transfers_zengin_field(b.name_kana, 15)
           || '1' || public.transfers_zengin_number(a.number, 7) || repeat(' ', 17)
      INTO v_header
      FROM public.accounts_account a JOIN public.accounts_branch b ON b.id = a.branch_id
     WHERE a.purpose = 'zengin_settlement';
    SELECT count(*), coalesce(sum(o.amount), 0), array_agg(i.line ORDER BY i.line),
           string_agg(l.line || E'\\r\\n', '' ORDER BY i.line), coalesce(bool_or(l.line IS NULL), false)
      INTO v_count, v_total, v_lines, v_data, v_unwritable
      FROM public.transfers_interbankoutgoingitem i
      JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id
      CROSS JOIN LATERAL (SELECT public.transfers_zengin_data_line(
               o.bank_code, o.bank_kana, o.branch_code, o.branch_kana, o.account_type, o.account_number,
               o.payee_kana, o.amount, o.id) AS line) AS l
     WHERE i.file_id = f.id;
    IF v_count = 0 OR v_lines IS DISTINCT FROM ARRAY(SELECT generate_series(2, v_count + 1)) THEN
        v_problem := 'its lines are not 2, 3, … one per record';
    ELSIF v_unwritable OR v_header IS NULL
          OR public.transfers_zengin_number(v_count::text, 6) IS NULL
          OR public.transfers_zengin_number(v_total::text, 12) IS NULL THEN
        v_problem := 'a field file_build cannot write';
    ELSE
        BEGIN
            v_expected := convert_to(
                v_header || E'\\r\\n' || v_data
                || '8' || public.transfers_zengin_number(v_count::text, 6)
                || public.transfers_zengin_number(v_total::text, 12) || repeat(' ', 101) || E'\\r\\n'
                || '9' || repeat(' ', 119) || E'\\r\\n', 'SJIS');
        EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
            v_problem := 'a name is not in the file''s characters';
        END;
        IF v_problem IS NULL AND f.content IS DISTINCT FROM v_expected THEN
            v_problem := 'its bytes are not the ones file_build writes from its records';
        ELSIF v_problem IS NULL AND f.sha256 IS DISTINCT FROM encode(sha256(f.content), 'hex') THEN
            v_problem := 'sha256 is not that of its bytes';
        END IF;
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'outgoing file % of %: not the file file_build writes (%)', f.id, f.business_day,
            v_problem USING ERRCODE = 'CI233';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_interbankoutgoingfile_zengin_bytes
    AFTER INSERT ON public.transfers_interbankoutgoingfile DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankoutgoingfile_zengin_bytes();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_interbankoutgoingfile_zengin_bytes ON public.transfers_interbankoutgoingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankoutgoingfile_zengin_bytes();
DROP FUNCTION IF EXISTS public.transfers_zengin_data_line(text, text, text, text, text, text, text, bigint, bigint);
DROP FUNCTION IF EXISTS public.transfers_zengin_number(text, integer);
DROP FUNCTION IF EXISTS public.transfers_zengin_field(text, integer);
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0034_batch_result_told")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
