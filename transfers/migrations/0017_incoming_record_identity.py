"""XFER-12, LEDGER-7 (walk25 F8): exactly once per RECORD, not per file. Each 被仕向 record
keeps its own identity (``record_key``, transfers.interbank.zengin_file.record_keys); a
record alike in another file (the same 為替 again: a regenerated file, one extra record, the
records split over two files) is 入金保留 (``held``) until staff release it (credited, with
who released it) or return it. The records already stored get their identity from their
file's stored bytes (the record guard is off for that one update, in the open).

Record guard (CI207, replaces transfers 0008's): a record is added 入金済 with the journal its
upload posts, 入金不能 or 入金保留 with a reason and no journal; then only 入金不能/入金保留 →
返却済 with who returned it, or 入金保留 → 入金済 with the journal of its key (as on upload)
and who released it; never changed otherwise nor deleted.
"""

import importlib

from django.db import migrations, models

PREVIOUS = importlib.import_module("transfers.migrations.0008_interbank_records_held").FORWARD
START = "CREATE FUNCTION public.transfers_interbankincomingrecord_guard()"
REVERSE = "CREATE OR REPLACE" + PREVIOUS[PREVIOUS.index(START) + len("CREATE"):
                                         PREVIOUS.index("CREATE TRIGGER transfers_interbankincomingrecord_guard")]

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
        IF to_jsonb(NEW) - ARRAY['status', 'returned_by'] = to_jsonb(OLD) - ARRAY['status', 'returned_by']
           AND OLD.status IN ('unapplied', 'held') AND NEW.status = 'returned' AND OLD.returned_by = ''
           AND NEW.returned_by <> '' THEN
            RETURN NEW;  -- returned by staff
        END IF;
        IF to_jsonb(NEW) - ARRAY['status', 'journal_id', 'account_id', 'reason', 'released_by']
              = to_jsonb(OLD) - ARRAY['status', 'journal_id', 'account_id', 'reason', 'released_by']
           AND OLD.status = 'held' AND NEW.status = 'credited' AND NEW.reason = '' AND OLD.released_by = ''
           AND NEW.released_by <> '' AND NEW.account_id IS NOT NULL
           AND public.transfers_interbank_journal_moves(
                   NEW.journal_id, 'interbank-in:' || f.sha256 || ':' || NEW.line, NEW.account_id, NEW.amount) THEN
            RETURN NEW;  -- released by staff: credited as on upload
        END IF;
        RAISE EXCEPTION 'incoming record %: only unapplied or held -> returned, with who returned it, or held -> credited with its journal, with who released it',
            OLD.id USING ERRCODE = 'CI207';
    END IF;
    IF NOT FOUND OR f.status <> 'processing' OR NEW.line NOT BETWEEN 2 AND f.record_count + 1
       OR NEW.amount <= 0 OR NEW.returned_by <> '' OR NEW.released_by <> ''
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


def record_keys_fill(apps, schema_editor):
    """The identity of each record already stored, from its file's bytes (as read on upload)."""
    from transfers.interbank.zengin_file import file_read, record_keys

    File = apps.get_model("transfers", "InterbankIncomingFile")  # noqa: N806 - a model class
    Record = apps.get_model("transfers", "InterbankIncomingRecord")  # noqa: N806
    alias = schema_editor.connection.alias
    schema_editor.execute("ALTER TABLE transfers_interbankincomingrecord DISABLE TRIGGER transfers_interbankincomingrecord_guard")
    for file in File.objects.using(alias).order_by("id"):
        parsed = file_read(bytes(file.content))
        for (line, _), key in zip(parsed.records, record_keys(parsed), strict=True):
            Record.objects.using(alias).filter(file=file, line=line).update(record_key=key)
    schema_editor.execute("ALTER TABLE transfers_interbankincomingrecord ENABLE TRIGGER transfers_interbankincomingrecord_guard")


class Migration(migrations.Migration):

    dependencies = [
        ('transfers', '0016_payee_account_held'),
    ]

    operations = [
        migrations.AddField(
            model_name='interbankincomingrecord',
            name='record_key',
            field=models.CharField(blank=True, db_index=True, max_length=80, verbose_name='明細の識別'),
        ),
        migrations.AddField(
            model_name='interbankincomingrecord',
            name='released_by',
            field=models.CharField(blank=True, max_length=150, verbose_name='入金保留の解除者'),
        ),
        migrations.AlterField(
            model_name='interbankincomingrecord',
            name='status',
            field=models.CharField(choices=[('credited', '入金済'), ('unapplied', '入金不能'), ('held', '入金保留'), ('returned', '返却済')], max_length=16, verbose_name='状態'),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
        migrations.RunPython(record_keys_fill, migrations.RunPython.noop),
    ]
