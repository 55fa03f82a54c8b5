"""XFER-12, LEDGER-7 (outside review dbprobe28 F6): a 仕向 file is the one
``outgoing_file_create`` writes. As the app's role the review "sent" the day's pending record
(2,000円, debited with its 330円 fee) in a file of its own dated 2001-01-01 with a header of
'1' and blanks and no 受取人名: it committed, the record became 送信済 for ever (CI206), the
day's file found nothing to send, /health/ reported nothing overdue, and the payee was never
paid. 0008's ``transfers_interbankoutgoingfile_whole`` checked the data lines' account,
amount and record-id columns, the counts and the trailer — not the day, the header or the
payee's name.

``transfers_interbankoutgoingfile_written_as_ours`` (new constraint trigger, AFTER INSERT ON
transfers_interbankoutgoingfile, DEFERRABLE INITIALLY DEFERRED: the items are written after
the file; its name sorts after 0008's ``…_whole``, so a file whose lines are not its records
is still CI206), for the app's role (the owner, a DBA loading records, is not bound), CI227:

* every item's record settles on the file's 決済日 (``settlement_date = business_day``):
  ``outgoing_file_create(day=…)`` takes the pending records of that day only;
* the 決済日 is a day the staff page may make a file for: a weekday, not Dec 31 – Jan 3,
  not one of the bank's closing days, and not later than 14 days (plus the closing days in
  between) after today by the database's clock (+ ``cosei_clock_slack()``) — the bound of a
  record's 決済日 (transfers 0026, CI221);
* the header record (bytes 1–120) is the one ``header_line(_our_header(day))`` writes:
  データ区分 1, 種別コード 21, コード区分 0, 依頼人コード = our bank code, 依頼人名 = the
  為替決済 account's ``holder_kana``, 振込指定日 = MMDD of the 決済日, our bank code and row
  kana (transfers_bank), the account's branch code and ``name_kana``, 預金種目 1, its number,
  17 blanks — built here from the same rows, normalised as ``transfers.zengin.zengin_normalize``
  does (``transfers_zengin_text`` below: full-width and hiragana → half-width katakana,
  letters up, dashes → '-', spaces collapsed) and compared in Shift_JIS, as the file is written;
* each data line's 受取人名 (columns 51–80) is its record's ``payee_kana``, the same way.

/health/ reports ``outgoing_records_misfiled`` (transfers.selectors.overdue_counts): 送信済
records in a file whose 決済日 is not theirs (a file written before this rule, or by the owner).

SQL functions/triggers: CREATE FUNCTION public.transfers_zengin_text(text),
public.transfers_interbankoutgoingfile_written_as_ours(); CREATE CONSTRAINT TRIGGER
transfers_interbankoutgoingfile_written_as_ours. Nothing replaced.
"""

import importlib

from django.db import migrations

from accounts.reference_data import BANK_CODE

loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

SETTLES_WITHIN = 14  # as transfers 0026 (CI221)

# zengin_normalize's mapping of one character, frozen here (transfers/zengin.py): full-width
# and hiragana kana → half-width (a voiced one → kana + ﾞ), small → large, full-width
# letters, digits and signs → ASCII, dashes → '-', the voicing marks → ﾞ ﾟ
ONE_TO_ONE = {}
ONE_TO_TWO = {}


def _mapping() -> None:
    from transfers.zengin import DASHES, zengin_normalize

    chars = [chr(code) for code in [*range(0x3001, 0x3100), *range(0xFF01, 0xFF5F), *range(0xFF61, 0xFFA0)]]
    for char in [*chars, *DASHES]:
        normal = zengin_normalize(char)
        if normal and normal != char:
            (ONE_TO_ONE if len(normal) == 1 else ONE_TO_TWO)[char] = normal


_mapping()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def zengin_text_sql() -> str:
    expression = "coalesce(p, '')"
    for char, normal in ONE_TO_TWO.items():
        expression = f"replace({expression}, {_literal(char)}, {_literal(normal)})"
    expression = (f"translate({expression}, {_literal(''.join(ONE_TO_ONE) + chr(0x3000))}, "
                  f"{_literal(''.join(ONE_TO_ONE.values()) + ' ')})")
    return f"""
CREATE FUNCTION public.transfers_zengin_text(p text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
    -- transfers.zengin.zengin_normalize of a stored name (no check of the character set)
    SELECT btrim(regexp_replace(upper({expression}), ' +', ' ', 'g'))
$$;
"""


FORWARD = zengin_text_sql() + f"""
CREATE FUNCTION public.transfers_interbankoutgoingfile_written_as_ours() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_interbankoutgoingfile%ROWTYPE;
    v_to date := ((clock_timestamp() + public.cosei_clock_slack()) AT TIME ZONE 'Asia/Tokyo')::date;
    v_header text;
    v_problem text;
BEGIN
    IF NOT {loadable.not_owner()} THEN
        RETURN NULL;  -- the owner: a DBA loading files
    END IF;
    SELECT * INTO f FROM public.transfers_interbankoutgoingfile WHERE id = NEW.id;
    IF EXISTS (SELECT 1 FROM public.transfers_interbankoutgoingitem i
                 JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id
                WHERE i.file_id = f.id AND o.settlement_date IS DISTINCT FROM f.business_day) THEN
        v_problem := 'a record settles on another day';
    ELSIF extract(isodow FROM f.business_day) > 5
          OR to_char(f.business_day, 'MM-DD') IN ('12-31', '01-01', '01-02', '01-03')
          OR EXISTS (SELECT 1 FROM public.accounts_bankclosingday c WHERE c.date = f.business_day)
          OR f.business_day > v_to + {SETTLES_WITHIN} + (
               SELECT count(*)::integer FROM public.accounts_bankclosingday c
                WHERE c.date > v_to AND c.date <= f.business_day) THEN
        v_problem := 'not a day the file can be made for';
    ELSE
        SELECT '1' || '21' || '0' || lpad('{BANK_CODE}', 10, '0')
               || rpad(public.transfers_zengin_text(a.holder_kana), 40)
               || to_char(f.business_day, 'MMDD') || lpad('{BANK_CODE}', 4, '0')
               || rpad(public.transfers_zengin_text(coalesce(
                       (SELECT k.kana FROM public.transfers_bank k WHERE k.code = '{BANK_CODE}'), '')), 15)
               || lpad(ltrim(b.code, '0'), 3, '0') || rpad(public.transfers_zengin_text(b.name_kana), 15)
               || '1' || lpad(ltrim(a.number, '0'), 7, '0') || repeat(' ', 17)
          INTO v_header
          FROM public.accounts_account a JOIN public.accounts_branch b ON b.id = a.branch_id
         WHERE a.purpose = 'zengin_settlement';
        BEGIN
            IF v_header IS NULL OR length(v_header) <> 120
               OR substring(f.content FROM 1 FOR 120) IS DISTINCT FROM convert_to(v_header, 'SJIS') THEN
                v_problem := 'the header is not ours for that day';
            ELSIF EXISTS (SELECT 1 FROM public.transfers_interbankoutgoingitem i
                            JOIN public.transfers_outgoingtransfer o ON o.id = i.outgoing_id
                           WHERE i.file_id = f.id
                             AND substring(f.content FROM (i.line - 1) * 122 + 51 FOR 30) IS DISTINCT FROM
                                 convert_to(rpad(public.transfers_zengin_text(o.payee_kana), 30), 'SJIS')) THEN
                v_problem := 'a line does not name its record''s payee';
            END IF;
        EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
            v_problem := 'a name is not in the file''s characters';
        END;
    END IF;
    IF v_problem IS NOT NULL THEN
        RAISE EXCEPTION 'outgoing file % of %: not the file outgoing_file_create writes (%)', f.id, f.business_day,
            v_problem USING ERRCODE = 'CI227';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER transfers_interbankoutgoingfile_written_as_ours
    AFTER INSERT ON public.transfers_interbankoutgoingfile DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.transfers_interbankoutgoingfile_written_as_ours();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_interbankoutgoingfile_written_as_ours ON public.transfers_interbankoutgoingfile;
DROP FUNCTION IF EXISTS public.transfers_interbankoutgoingfile_written_as_ours();
DROP FUNCTION IF EXISTS public.transfers_zengin_text(text);
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0028_merge_dbprobe27")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
