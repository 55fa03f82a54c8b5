"""NOTE-1, NOTE-2, NOTE-3, LEDGER-7 (outside review dbprobe28 F2): the database compares a
customer's addresses as the app does.

``notifications.services.address_same`` holds 「Yamada@example.jp」 and 「yamada@example.jp」 to
be one mailbox (the domain is case-insensitive, RFC 5321, and so is the mailbox name at every
provider a customer uses). CI240 (0015) compared exact strings: in one transaction the app's
role set the address to the attacker's, wrote a ご出金 notice's mail to it, and set it back to
'Yamada@example.jp' — the customer's own mailbox, "another" address to the rule — and it
committed (dbprobe27 F6a/c/d open again).

* ``notifications_email_no_round_trip`` (CI240): a transaction of the app's role whose changes
  of a customer's address end at the address it began with, in any letter case, is refused —
  a change from an address to itself in other case too (the service never makes either:
  Ｅメール設定 refuses an address ``address_same`` as the current one);
* the 入出金 notice guard (0014's) and the outbox insert guard (0016's) compare the mail's
  address with the customer's (and a request's, and the old one of this transaction's
  change) in the same way.

The owner (a DBA) is bound as before.
"""

import importlib

from django.db import migrations

HELD_0014 = importlib.import_module("notifications.migrations.0014_mail_delivery_held")
KEPT_0016 = importlib.import_module("notifications.migrations.0016_email_change_request_kept")
ROUND_TRIP_MIGRATION = importlib.import_module("notifications.migrations.0015_loadable_and_no_round_trip")


def replaced(function: str, pairs: list[tuple[str, str]]) -> str:
    for before, after in pairs:
        assert function.count(before) == 1, f"not the function text expected: {before}"
        function = function.replace(before, after)
    return function


def round_trip_0015() -> str:
    """``CREATE OR REPLACE`` of 0015's notifications_email_no_round_trip (its text formatted)."""
    source = ROUND_TRIP_MIGRATION.ROUND_TRIP
    start = source.index("CREATE FUNCTION public.notifications_email_no_round_trip()")
    end = source.index("END $$;", start) + len("END $$;")
    return source[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


ROUND_TRIP_0015 = round_trip_0015()
ROUND_TRIP = replaced(ROUND_TRIP_0015, [
    ("c.email IS NOT DISTINCT FROM v_first", "lower(c.email) IS NOT DISTINCT FROM lower(v_first)"),
])

NOTICE_0014 = HELD_0014.NOTICE_0014
NOTICE = replaced(NOTICE_0014, [('(m."to" = v_email AND', '(lower(m."to") = lower(v_email) AND')])

INSERT_0016 = KEPT_0016.INSERT_0016
INSERT = replaced(INSERT_0016, [
    ('c.email = NEW."to")', 'lower(c.email) = lower(NEW."to"))'),
    ('r.new_email = NEW."to"', 'lower(r.new_email) = lower(NEW."to")'),
    ('h.old_email = NEW."to"', 'lower(h.old_email) = lower(NEW."to")'),
])


class Migration(migrations.Migration):

    dependencies = [("notifications", "0016_email_change_request_kept")]

    operations = [
        migrations.RunSQL(ROUND_TRIP, ROUND_TRIP_0015),
        migrations.RunSQL(NOTICE, NOTICE_0014),
        migrations.RunSQL(INSERT, INSERT_0016),
    ]
