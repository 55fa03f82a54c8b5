"""NOTE-1, NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe33 F1): "the customer is told" means
a mail *written* by the transaction, not one it touched.

Every rule that asks for the mail of its transaction (CI306–CI311, CI229, the posting notice's
CI204 …: security 0014–0019, transfers 0031/0034, notifications 0009/0022/0026/0027) read the mail
row's xmin through ``transfers_row_of_this_xact``. An UPDATE writes a new row version, so an
old mail touched by ``UPDATE notifications_outboxmessage SET status = status`` (0014's guard
lets a change of nothing through), or moved by a step of its delivery (failed → pending, a
pending mail marked sent), counted as the mail of the transaction: the app's role planted a
password and an image card, and switched notices off, with no mail written and nothing sent
(dbprobe33 F1a/F1b, committed and logged in with).

So a mail now carries the transaction that wrote it, ``inserted_xact`` (xid8), which the
database alone sets — on INSERT to the writing transaction (``pg_current_xact_id()``, the
top-level transaction, savepoints included), never changed by an UPDATE (CI204), for the owner
too — and every rule reads that instead of the row version's xmin. Mails written before this
migration have none (NULL), so they are no transaction's.

The rules are many functions of several apps; each keeps its text but this one condition.
This migration rewrites, in the database's own current text of each function
(``pg_get_functiondef``), ``public.transfers_row_of_this_xact(m.xmin)`` — ``m`` is the mail in
each of them — into ``inserted_xact`` compared with the current transaction, and the posting
notice guard's read of ``o.xmin`` into ``o.inserted_xact``. The reverse rewrites them back.
tests/notifications/test_told_by_a_mail_written_here.py holds that no function reads a mail's
xmin again (a later migration that writes one of these functions anew must use
``MAIL_OF_THIS_XACT``).

The address-change request CI310 reads (dbprobe33 F2) is also held to what the service writes:
its 作成日時 within ``cosei_clock_slack()`` of the database's clock when it is written (the app
role wrote '2000-01-01', and then any old ``email_verify`` mail to the address was "its code
mail"), and its 有効期限 not later than a day after it (the service's is 30 minutes,
``NOTIFICATIONS_EMAIL_CODE_SECONDS``). An UPDATE of a request that changes nothing is refused for
the app's role, as every other change of an ended one: a request the customer confirmed long ago
is not "confirmed by this transaction" again.

SQL functions/triggers: CREATE FUNCTION public.notifications_outbox_inserted_xact() and the
trigger notifications_outbox_inserted_xact (BEFORE INSERT OR UPDATE); CREATE OR REPLACE of every
public function whose text reads ``transfers_row_of_this_xact(m.xmin)``; CREATE OR REPLACE
FUNCTION public.notifications_emailchangerequest_kept() (0016's, two checks more).
"""

import importlib

from django.db import migrations

XMIN_CHECK = "public.transfers_row_of_this_xact(m.xmin)"
# NULL (a mail of before this migration) is no transaction's: IS NOT DISTINCT FROM, never NULL
MAIL_OF_THIS_XACT = "(m.inserted_xact IS NOT DISTINCT FROM pg_catalog.pg_current_xact_id())"
# notifications_posting_notice_guard reads its mail into a record
RECORD_READ, RECORD_READ_XACT = "SELECT o.xmin, o.customer_id", "SELECT o.inserted_xact, o.customer_id"

COLUMN = """
ALTER TABLE public.notifications_outboxmessage ADD COLUMN inserted_xact xid8;
COMMENT ON COLUMN public.notifications_outboxmessage.inserted_xact IS
    'the transaction that wrote the mail (set by the database, never changed): the mail of a transaction, for its rules';

CREATE FUNCTION public.notifications_outbox_inserted_xact() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.inserted_xact := pg_current_xact_id();
    ELSIF NEW.inserted_xact IS DISTINCT FROM OLD.inserted_xact THEN
        RAISE EXCEPTION 'mail %: the transaction that wrote it never changes', OLD.id USING ERRCODE = 'CI204';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER notifications_outbox_inserted_xact
    BEFORE INSERT OR UPDATE ON public.notifications_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION public.notifications_outbox_inserted_xact();
"""

COLUMN_REVERSE = """
DROP TRIGGER notifications_outbox_inserted_xact ON public.notifications_outboxmessage;
DROP FUNCTION public.notifications_outbox_inserted_xact();
ALTER TABLE public.notifications_outboxmessage DROP COLUMN inserted_xact;
"""

KEPT_0016 = importlib.import_module("notifications.migrations.0016_email_change_request_kept").KEPT
REQUEST_INSERT_0016 = """        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RETURN NEW;
    END IF;
"""
REQUEST_INSERT = """        IF NEW.created_at NOT BETWEEN clock_timestamp() - public.cosei_clock_slack()
                                  AND clock_timestamp() + public.cosei_clock_slack()
           OR NEW.expires_at > NEW.created_at + interval '1 day' THEN
            RAISE EXCEPTION 'a new address-change request of customer % is dated now and lives at most a day',
                NEW.customer_id USING ERRCODE = 'CI241';
        END IF;
        RETURN NEW;
    END IF;
    IF to_jsonb(NEW) = to_jsonb(OLD) THEN
        RAISE EXCEPTION 'address-change request %: an update changes something', OLD.id USING ERRCODE = 'CI241';
    END IF;
"""


def request_function_0016() -> str:
    """0016's function of the request's rules, as ``CREATE OR REPLACE``."""
    start = KEPT_0016.index("CREATE FUNCTION public.notifications_emailchangerequest_kept()")
    end = KEPT_0016.index("END $$;", start) + len("END $$;")
    function = KEPT_0016[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    assert function.count(REQUEST_INSERT_0016) == 1, "not 0016's function text"
    return function


_FUNCTIONS_READING = """
SELECT p.oid, p.proname, pg_catalog.pg_get_functiondef(p.oid)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND strpos(p.prosrc, %s) > 0
 ORDER BY p.proname"""


def _rewrite(schema_editor, replacements: list[tuple[str, str]]) -> list[str]:
    """CREATE OR REPLACE every public function whose text holds the first replacement's old
    text, with each replacement made; the names rewritten."""
    names = []
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(_FUNCTIONS_READING, [replacements[0][0]])
        for _oid, name, definition in cursor.fetchall():
            for old, new in replacements:
                definition = definition.replace(old, new)
            cursor.execute(definition)
            names.append(name)
    return names


def mails_read_by_their_writer(apps, schema_editor):
    names = _rewrite(schema_editor, [(XMIN_CHECK, MAIL_OF_THIS_XACT), (RECORD_READ, RECORD_READ_XACT)])
    # the rules of security, transfers and this app that ask for a mail of their transaction
    assert len(names) >= 13, names


def mails_read_by_xmin(apps, schema_editor):
    _rewrite(schema_editor, [(MAIL_OF_THIS_XACT, XMIN_CHECK), (RECORD_READ_XACT, RECORD_READ)])


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0028_outbox_failed_index"),
        ("security", "0019_credential_and_passkey_deletes"),
        ("transfers", "0040_name_lookup_kept"),
    ]

    operations = [
        migrations.RunSQL(COLUMN, COLUMN_REVERSE),
        migrations.RunPython(mails_read_by_their_writer, mails_read_by_xmin),
        migrations.RunSQL(request_function_0016().replace(REQUEST_INSERT_0016, REQUEST_INSERT), request_function_0016()),
    ]
