"""NOTE-1, LEDGER-7 (dbprobe25 F5 remainder): a 入出金 notice with no mail is for loaded
history only — 0009 took "loaded history" to be a journal written more than an hour after
its 取引日時. The app's role may date a posting back within today (the bank-day floor,
accounts 0020/0026, refuses only an earlier day on an account that existed before its
transaction), so a debit it dated back 61 minutes got no ご出金 mail, by the service's rule
and the guard's alike.

Loaded history is now a posting dated to an earlier bank day than the day the database
wrote it: its 取引日時 (``posted_at``) falls on a day in Tokyo before that of its journal's
``created_at`` — the ledger's own clock (``ledger_post``: ``clock_timestamp()``), which the
caller does not choose. For an account that existed before the posting's transaction the
floor already refuses such a date, so every posting there is told; the demo seed (and tests)
load months of history onto accounts they open, dated to earlier days, and stay silent.
``services.posting_notices_process`` takes the same rule (``loaded_history``).
"""

import importlib

from django.db import migrations

from ._function_text import extended, function_of

NAMES_ITS_MAIL = importlib.import_module("notifications.migrations.0009_posting_notice_names_its_mail")

WITHIN_AN_HOUR = "AND j.created_at - e.posted_at > interval '1 hour'"
EARLIER_BANK_DAY = ("AND (e.posted_at AT TIME ZONE 'Asia/Tokyo')::date\n"
                    "                                < (j.created_at AT TIME ZONE 'Asia/Tokyo')::date")

GUARD = function_of("0007_sent_notices_held.py", "notifications_posting_notice_guard")
GUARD_0009 = extended(GUARD, declarations=NAMES_ITS_MAIL.DECLARATIONS, checks=NAMES_ITS_MAIL.CHECKS)
assert GUARD_0009.count(WITHIN_AN_HOUR) == 1, "not 0009's guard"
GUARD_0012 = GUARD_0009.replace(WITHIN_AN_HOUR, EARLIER_BANK_DAY).replace(
    "but its entry is not loaded history", "but its entry is not loaded history (dated to an earlier bank day)")


class Migration(migrations.Migration):

    dependencies = [("notifications", "0011_notice_preference_change_history")]

    operations = [migrations.RunSQL(GUARD_0012, GUARD_0009)]
