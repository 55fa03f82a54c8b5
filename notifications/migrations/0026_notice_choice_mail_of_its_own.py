"""NOTE-1, NOTE-2, SEC-7 (outside review dbprobe32 F3): the choice of notices is told by a mail
of its own event, ``notice_choice``.

The 通知の選択 mail of ``notice_preference_change`` was an ``email_change`` mail, as are the
mails of an address change and removal. CI310 (0022, the address rule) asks for "the
``email_change`` mail of the transaction, pending to the old address", so a 通知の選択 mail
(「お知らせの選択を次のとおり変更しました。…」) met it as the old mailbox's notice of an address
change (dbprobe32 F1b: a copy of one, before 0024). The service now writes its mail as
``notice_choice``; CI310 is unchanged and so counts only the address's own mails, and CI311
(0022, ``notifications_preference_taken_by_its_service``) now asks for the ``notice_choice``
mail of the transaction — pending to the customer's address, or 送信対象外 to no one for a
customer without one — in place of an ``email_change`` one.

The other rules that name events need nothing: ``notice_choice`` is not optional (CI243 refuses
it 送信対象外 to an address, or to no one when the customer has an address, as any security
notice), goes to the customer's address (CI204 allows only ``email_change`` to an old one and
``email_verify`` to a requested one) and is not an address change's mail (CI244 still refuses
it to an address its own transaction made the customer's). Mails already written keep their
event.

SQL functions/triggers: CREATE OR REPLACE FUNCTION
public.notifications_preference_taken_by_its_service() (0022's, with the mail's event changed).
Reversed: 0022's function.
"""

import importlib

from django.db import migrations

FORWARD_0022 = importlib.import_module(
    "notifications.migrations.0022_address_and_choices_taken_by_their_service").FORWARD
START = "CREATE FUNCTION public.notifications_preference_taken_by_its_service()"
FUNCTION_0022 = FORWARD_0022[FORWARD_0022.index(START):FORWARD_0022.index("END $$;", FORWARD_0022.index(START))
                             + len("END $$;")].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
MAILED_0022 = "AND m.event = 'email_change' AND m.\"to\" = "
NO_MAIL_0022 = "no email_change mail of this transaction pending to the customer''s address"


def function_0026() -> str:
    # 0022's text is made by its mailed(): the event appears once in each branch of the CASE
    assert FUNCTION_0022.count(MAILED_0022) == 2 and FUNCTION_0022.count(NO_MAIL_0022) == 1, \
        "not 0022's function text"
    return (FUNCTION_0022.replace(MAILED_0022, "AND m.event = 'notice_choice' AND m.\"to\" = ")
            .replace(NO_MAIL_0022, "no notice_choice mail of this transaction pending to the customer''s address"))


class Migration(migrations.Migration):

    dependencies = [("notifications", "0025_address_request_as_the_service_confirms")]

    operations = [migrations.RunSQL(function_0026(), FUNCTION_0022)]
