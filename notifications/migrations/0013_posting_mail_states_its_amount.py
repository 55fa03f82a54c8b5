"""NOTE-1, NOTE-3, LEDGER-7 (dbprobe25 F5, the mail's body): the app's role could process a
入出金 notice into a mail of the right customer, event and address whose body told another
amount — a ご出金 of 300,000円 told as 3,000円, the alarm defused while it rang.

When a notice is marked processed with its mail (0009's check, CI204), the mail's body
states the entry's amount on exactly one 「金額」 line, as the template writes it
(``templates/notifications/mail/deposit.txt`` / ``withdrawal.txt``: 「金額　　：3,000円」, the
figure with thousands separators): one line beginning 「金額　　：」, and it is that line. The
service puts every value it interpolates (name, 口座, 摘要) on one line
(``services.one_line``), so its own mail always has exactly one — a name or branch name the
app's role wrote with a line break cannot make the guard refuse the real mail and stop the
notices.

Not held: the rest of the body (its 摘要, 口座 and 取引日時 are not compared, and text that is
not a 「金額」 line may say anything) — the database does not render the template; the
subject; and a ご入金／ご出金 mail that no notice names (the app's role can still INSERT one).
"""

import importlib

from django.db import migrations

BY_BANK_DAY = importlib.import_module("notifications.migrations.0012_loaded_history_by_bank_day")

SELECT_BEFORE = """    SELECT o.xmin, o.customer_id, o.event, o."to", o.status INTO m"""
SELECT_AFTER = """    SELECT o.xmin, o.customer_id, o.event, o."to", o.status, o.body INTO m"""

# after 0009's check of the mail, before the last RETURN
LAST = "    RETURN NEW;\nEND $$;"
AMOUNT_LINE = r"""    -- the amount on exactly one 「金額」 line, the entry's (deposit.txt / withdrawal.txt)
    IF (length(m.body) - length(replace(m.body, E'\n金額　　：', ''))) / length(E'\n金額　　：') <> 1
       OR position(E'\n金額　　：' || to_char(abs(NEW.amount), 'FM9,999,999,999,999,999,999') || E'円\n' IN m.body) = 0 THEN
        RAISE EXCEPTION 'posting notice %: mail % does not state its amount (% yen) on its one 金額 line',
            OLD.id, NEW.message_id, abs(NEW.amount) USING ERRCODE = 'CI204';
    END IF;
"""

GUARD_0012 = BY_BANK_DAY.GUARD_0012
assert GUARD_0012.count(SELECT_BEFORE) == 1 and GUARD_0012.endswith(LAST), "not 0012's guard"
GUARD_0013 = GUARD_0012.replace(SELECT_BEFORE, SELECT_AFTER)[: -len(LAST)] + AMOUNT_LINE + LAST


class Migration(migrations.Migration):

    dependencies = [("notifications", "0012_loaded_history_by_bank_day")]

    operations = [migrations.RunSQL(GUARD_0013, GUARD_0012)]
