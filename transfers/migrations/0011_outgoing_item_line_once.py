"""XFER-12, LEDGER-7: a 仕向ファイル's lines without a count per line (review of 0008) —
0008's guard counted the file's lines already inserted for every line of the file's one
bulk INSERT: n²/2 index reads while the day's records are locked (12.5 million for 5,000
transfers). A line now takes a number of its file's data lines (2 … 件数 + 1) once
(UNIQUE (file, line)), which holds the same "never more lines than 件数" per row; the
commit-time check of 0008 still proves the file whole. CI206, as 0008."""

from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION public.transfers_interbankoutgoingitem_guard() RETURNS trigger
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
    -- one of the file's data lines (the header is line 1), each once (outgoing_item_line_once)
    IF NEW.line IS NULL OR NEW.line < 2 OR NEW.line > (
           SELECT f.record_count + 1 FROM public.transfers_interbankoutgoingfile f WHERE f.id = NEW.file_id) THEN
        RAISE EXCEPTION 'outgoing file %: line % is not one of its data lines', NEW.file_id, NEW.line
            USING ERRCODE = 'CI206';
    END IF;
    RETURN NEW;
END $$;
"""

GUARD_0008 = """
CREATE OR REPLACE FUNCTION public.transfers_interbankoutgoingitem_guard() RETURNS trigger
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
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0010_fee_labels_follow_threshold")]

    operations = [
        migrations.AddConstraint(
            model_name="interbankoutgoingitem",
            constraint=models.UniqueConstraint(fields=("file", "line"), name="outgoing_item_line_once"),
        ),
        migrations.RunSQL(GUARD, GUARD_0008),
    ]
