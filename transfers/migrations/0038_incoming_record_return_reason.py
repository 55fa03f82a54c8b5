"""XFER-12, LEDGER-7 (walk30 F4): a 振込入金明細 returned to the 仕向金融機関 showed who
returned it but not why nor when — the 返却理由 staff must type (walk29 F1) lived only in
the 操作ログ, so whoever answered the sending bank later searched the audit log to learn
why a 20,000,000円 line went back. The record now keeps 返却理由 and 返却日時, and the
time a 入金保留 was released.

Record guard (CI207, replaces transfers 0017's): as before, plus

* 入金不能・入金保留 → 返却済 also needs a 返却理由 (not blank), and only these three,
  status, 返却登録者 and 返却理由, change with 返却日時;
* 入金保留 → 入金済 also sets 入金保留の解除日時;
* the database stamps both times (``clock_timestamp()``, whatever the UPDATE says), as
  transfers 0025 stamps a record's 処理日時; a record is added with neither time and no
  返却理由.

Both times are CHECKed within the years 1900–8999 (``<table>_<column>_loadable``, as
transfers 0025). Rows returned or released before this migration keep blank reasons and no times (the 操作ログ
has them). SQL functions/triggers: replaces public.transfers_interbankincomingrecord_guard()
(the reverse restores 0017's).
"""

import importlib

from django.db import migrations, models

REVERSE = importlib.import_module("transfers.migrations.0017_incoming_record_identity").FORWARD
# the times within the years Python loads, as every date/time of these tables (transfers 0025)
CHECKS, CHECKS_REVERSE = importlib.import_module("accounts.migrations.0031_timestamps_loadable").loadable_checks(
    {"transfers_interbankincomingrecord": ("returned_at", "released_at")})

FORWARD = r"""
CREATE OR REPLACE FUNCTION public.transfers_interbankincomingrecord_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    f public.transfers_interbankincomingfile%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'incoming record % is never deleted', OLD.id USING ERRCODE = 'CI207';
    END IF;
    SELECT * INTO f FROM public.transfers_interbankincomingfile WHERE id = NEW.file_id;
    IF TG_OP = 'UPDATE' THEN
        IF to_jsonb(NEW) - ARRAY['status', 'returned_by', 'return_reason', 'returned_at']
              = to_jsonb(OLD) - ARRAY['status', 'returned_by', 'return_reason', 'returned_at']
           AND OLD.status IN ('unapplied', 'held') AND NEW.status = 'returned' AND OLD.returned_by = ''
           AND NEW.returned_by <> '' AND btrim(NEW.return_reason) <> '' THEN
            NEW.returned_at := clock_timestamp();
            RETURN NEW;  -- returned by staff, with why
        END IF;
        IF to_jsonb(NEW) - ARRAY['status', 'journal_id', 'account_id', 'reason', 'released_by', 'released_at']
              = to_jsonb(OLD) - ARRAY['status', 'journal_id', 'account_id', 'reason', 'released_by', 'released_at']
           AND OLD.status = 'held' AND NEW.status = 'credited' AND NEW.reason = '' AND OLD.released_by = ''
           AND NEW.released_by <> '' AND NEW.account_id IS NOT NULL
           AND public.transfers_interbank_journal_moves(
                   NEW.journal_id, 'interbank-in:' || f.sha256 || ':' || NEW.line, NEW.account_id, NEW.amount) THEN
            NEW.released_at := clock_timestamp();
            RETURN NEW;  -- released by staff: credited as on upload
        END IF;
        RAISE EXCEPTION 'incoming record %: only unapplied or held -> returned, with who returned it and why, or held -> credited with its journal, with who released it',
            OLD.id USING ERRCODE = 'CI207';
    END IF;
    IF NOT FOUND OR f.status <> 'processing' OR NEW.line NOT BETWEEN 2 AND f.record_count + 1
       OR NEW.amount <= 0 OR NEW.returned_by <> '' OR NEW.released_by <> ''
       OR NEW.return_reason <> '' OR NEW.returned_at IS NOT NULL OR NEW.released_at IS NOT NULL
       OR NOT (CASE NEW.status
           WHEN 'credited' THEN NEW.reason = '' AND NEW.account_id IS NOT NULL
                                AND public.transfers_interbank_journal_moves(
                                    NEW.journal_id, 'interbank-in:' || f.sha256 || ':' || NEW.line,
                                    NEW.account_id, NEW.amount)
           WHEN 'unapplied' THEN NEW.reason <> '' AND NEW.journal_id IS NULL
           WHEN 'held' THEN NEW.reason <> '' AND NEW.journal_id IS NULL
           ELSE false
       END) THEN
        RAISE EXCEPTION 'incoming record: only credited with the journal its upload posts, or unapplied or held with a reason, to a file 処理中'
            USING ERRCODE = 'CI207';
    END IF;
    RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('transfers', '0037_limit_moved_by_its_service'),
    ]

    operations = [
        migrations.AddField(
            model_name='interbankincomingrecord',
            name='released_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='入金保留の解除日時'),
        ),
        migrations.AddField(
            model_name='interbankincomingrecord',
            name='return_reason',
            field=models.CharField(blank=True, db_default='', max_length=100, verbose_name='返却理由'),
        ),
        migrations.AddField(
            model_name='interbankincomingrecord',
            name='returned_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='返却日時'),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
    ]
