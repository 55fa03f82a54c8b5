"""NOTE-2, SEC-7, LEDGER-7 (outside review dbprobe32 F3): CI310 (0022) takes as the confirmed
request of an address change only one ``email_change_confirm`` could have confirmed.

0022 asked for an address-change request of that customer for exactly the new address, ended
``confirmed`` by the transaction. A request written by SQL was enough whatever it said: expired
a day before, with failures at the limit, and never mailed its code (dbprobe32 A12, accepted).
The service confirms a request only before its ``expires_at``, below
``NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES`` wrong codes (at the limit it ends it), and only after
``email_change_request`` wrote the ``email_verify`` code mail to its new address. So CI310 now
also asks of the request:

* ended (``ended_at``, the database's clock, notifications 0016) not after ``expires_at`` (the
  app's clock) by more than ``cosei_clock_slack()`` (how far the two clocks may be apart);
* ``failures`` below the limit — the setting's value when this migration runs (5), written into
  the function: raising the setting needs a migration that writes the new value;
* an ``email_verify`` mail of that customer to its new address, written (作成日時) not before
  the request less the slack.

Not held here: that the code mail was written by an earlier transaction (the service writes
it with the request, one transaction before the confirm; the tests' factories and the
non-transactional tests run both in one). Forging still takes the mail, written at the request.

SQL functions/triggers: CREATE OR REPLACE FUNCTION
public.notifications_customer_email_taken_by_its_service() (0022's, one condition more).
"""

import importlib

from django.conf import settings
from django.db import migrations

FORWARD_0022 = importlib.import_module(
    "notifications.migrations.0022_address_and_choices_taken_by_their_service").FORWARD

REQUEST_0022 = "AND r.outcome = 'confirmed'\n"


def function_0022() -> str:
    """0022's CI310 function, as ``CREATE OR REPLACE``."""
    start = FORWARD_0022.index("CREATE FUNCTION public.notifications_customer_email_taken_by_its_service()")
    end = FORWARD_0022.index("END $$;", start) + len("END $$;")
    return FORWARD_0022[start:end].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def function_0025(max_failures: int) -> str:
    function = function_0022()
    assert function.count(REQUEST_0022) == 1, "not 0022's function text"
    return function.replace(REQUEST_0022, (
        "AND r.outcome = 'confirmed'\n"
        "                         AND r.ended_at <= r.expires_at + public.cosei_clock_slack()\n"
        f"                         AND r.failures < {int(max_failures)}\n"
        "                         AND EXISTS (SELECT 1 FROM public.notifications_outboxmessage m\n"
        "                                      WHERE m.customer_id = r.customer_id AND m.event = 'email_verify'\n"
        "                                        AND m.\"to\" = r.new_email\n"
        "                                        AND m.created_at >= r.created_at - public.cosei_clock_slack())\n"
    )).replace("'a new address is the one of an address-change request confirmed (its code entered) by '",
               "'a new address is the one of an address-change request, its code mailed, confirmed (the code '\n"
               "                     'entered in time, below the failure limit) by '")


class Migration(migrations.Migration):

    dependencies = [("notifications", "0024_outbox_sealed_once")]

    operations = [migrations.RunSQL(function_0025(settings.NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES), function_0022())]
