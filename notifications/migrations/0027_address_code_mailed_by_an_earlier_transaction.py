"""NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe32 F3): CI310 takes as an address change's code
mail only one an earlier transaction wrote.

``email_change_request`` writes the request and its ``email_verify`` code mail to the new address
in a transaction of its own; the customer reads the code there and enters it, and
``email_change_confirm`` ends the request 変更済 in a later one. 0025 asked for the code mail but
not for that: the request, its "code mail", its confirmation and the address's UPDATE could all
be written by one transaction of the app's role, no mail ever having left. Now the
``email_verify`` mail CI310 asks for must not be of the transaction that changes the address
(``transfers_row_of_this_xact``, transfers 0012: not its own xmin, nor one of its savepoints') —
so it was committed before, and the worker could take it (a mail is pending until its commit,
CI242). Forging now takes two commits, the first leaving a code mail to the new address that
the sender sends.

``notifications_code_mail_apart_held()`` is true (the rule holds); only the owner can replace it.
The test database does, as it does ``notifications_mail_delivered_apart_held()`` (0018): a test
requests and confirms an address change in its one transaction (``tests.factories.address_changed``
and the Ｅメール設定 tests) — the tests of this rule put it back (``code_mail_apart_strict``).

SQL functions/triggers: CREATE FUNCTION public.notifications_code_mail_apart_held();
CREATE OR REPLACE FUNCTION public.notifications_customer_email_taken_by_its_service() (0025's, one
condition more). Reversed: 0025's function, then the new one dropped.
"""

import importlib

from django.conf import settings
from django.db import migrations

FUNCTION_0025 = importlib.import_module(
    "notifications.migrations.0025_address_request_as_the_service_confirms").function_0025(
    settings.NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES)

CODE_MAIL_0025 = "AND m.created_at >= r.created_at - public.cosei_clock_slack())\n"


def function_0027() -> str:
    assert FUNCTION_0025.count(CODE_MAIL_0025) == 1, "not 0025's function text"
    return FUNCTION_0025.replace(CODE_MAIL_0025, (
        "AND m.created_at >= r.created_at - public.cosei_clock_slack()\n"
        "                                        AND NOT (public.notifications_code_mail_apart_held()\n"
        "                                                 AND public.transfers_row_of_this_xact(m.xmin)))\n"
    )).replace("'a new address is the one of an address-change request, its code mailed, confirmed",
               "'a new address is the one of an address-change request, its code mailed by an earlier "
               "transaction, confirmed")


HELD = """
-- true: the rule holds. Only the owner can replace it; the test database does (tests/conftest.py):
-- a test requests and confirms an address change in its one transaction, as the customer never does
CREATE FUNCTION public.notifications_code_mail_apart_held() RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$ BEGIN RETURN true; END $$;
"""


class Migration(migrations.Migration):

    dependencies = [("notifications", "0026_notice_choice_mail_of_its_own")]

    operations = [
        migrations.RunSQL(HELD, "DROP FUNCTION IF EXISTS public.notifications_code_mail_apart_held();"),
        migrations.RunSQL(function_0027(), FUNCTION_0025),
    ]
