"""dbprobe25 F6, LEDGER-7: a transaction the app leaves open (a hung request, job or batch
chunk) is ended by the server instead of holding its row locks — on 為替決済 or the fee
table every posting would wait — for ever."""

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_apps_connections_end_a_transaction_left_idle():
    assert settings.DATABASE_IDLE_IN_TRANSACTION_SECONDS == 60
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('idle_in_transaction_session_timeout')::interval"
                       " = make_interval(secs => %s), current_user",
                       [settings.DATABASE_IDLE_IN_TRANSACTION_SECONDS])
        applied, role = cursor.fetchone()
    assert applied, "the web and worker connections must carry the timeout"
    assert role == settings.DATABASES["default"]["USER"]

