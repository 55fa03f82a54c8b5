"""NOTE-1, NOTE-2, LEDGER-7 (outside review dbprobe29 F8; accounts 0035): a customer's address is
'' or one the service sends to, whoever writes it. The review set it to the attacker's, wrote a
ご出金 mail to it, and "put it back" as 'Yamada <yamada@example.jp>' — not a round trip to CI240,
no address to the service: every later notice was written 送信対象外 to no one."""

from __future__ import annotations

import importlib
import re

import psycopg
import pytest
from django.db import connection, connections

from notifications.models import OutboxMessage
from notifications.services import address_is_sendable, email_change_confirm, email_change_request
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

CHECK_VIOLATION = "23514"
MIGRATION = importlib.import_module("accounts.migrations.0035_customer_email_sendable")

NOT_SENDABLE = [
    "Yamada <yamada@example.jp>",  # the repro: the customer's own mailbox to SMTP
    '"taro yamada"@example.jp', "o'brien@example.jp", "ｙａｍａｄａ@example.jp", "山田@example.jp",
    "a@example.jp\r\nBcc: evil@example.com", "yamada@example.jp ", "a@localhost", "a@[192.0.2.1]",
    "x" * 65 + "@example.jp", "a..b@example.jp", "a@-example.jp",
]
SENDABLE = ["yamada@example.jp", "Yamada@Example.JP", "taro.yamada+ib@docomo.ne.jp", "t_y-2%x@ezweb.ne.jp",
            "x" * 64 + "@example.jp"]


@pytest.mark.parametrize("address", NOT_SENDABLE)
def test_an_address_the_service_cannot_send_to_is_refused(address):
    customer = factories.customer(email="yamada@example.jp")
    assert not address_is_sendable(address)
    assert refused("UPDATE accounts_customer SET email = %s WHERE id = %s", [address, customer.pk]) == CHECK_VIOLATION


def test_the_round_trip_of_the_review_is_refused():
    """F8's transaction, to the attacker's and "back" with a display name: refused at the last step,
    so the whole transaction goes (CI240 then sees the round trip as one)."""
    customer = factories.customer(email="yamada@example.jp")
    assert refused("UPDATE accounts_customer SET email = 'collector@attacker.example' WHERE id = %(id)s;"
                   " UPDATE accounts_customer SET email = 'Yamada <yamada@example.jp>' WHERE id = %(id)s",
                   {"id": customer.pk}) == CHECK_VIOLATION
    customer.refresh_from_db()
    assert customer.email == "yamada@example.jp"


@pytest.mark.parametrize("address", SENDABLE)
def test_every_address_the_service_sends_to_is_stored(address):
    """The CHECK and ``address_is_sendable`` take the same addresses: Ｅメール設定 never meets a 23514."""
    customer = factories.customer(email="old@example.jp")
    assert address_is_sendable(address)
    email_change_request(customer=customer, new_email=address, ip=None)
    code_mail = OutboxMessage.objects.filter(customer=customer, event="email_verify").latest("id")
    code = re.search(r"確認コード：(\d{6})", code_mail.body).group(1)
    assert email_change_confirm(customer=customer, code=code, ip=None) == address
    customer.refresh_from_db()
    assert customer.email == address
    factories.customer(email="")  # none: no notices


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_at_an_address_outside_it():
    """A database holding such an address: 0035 names the customer and changes nothing (a DBA
    sets the address, as the owner, and migrates again). Tried in the owner's transaction, rolled back."""
    customer = factories.customer(email="yamada@example.jp")
    with psycopg.connect(**connections["owner"].get_connection_params()) as conn:
        conn.execute(MIGRATION.CHECK_REVERSE)
        conn.execute("UPDATE accounts_customer SET email = 'Yamada <yamada@example.jp>' WHERE id = %s", [customer.pk])
        with pytest.raises(psycopg.errors.RaiseException) as stopped:
            conn.execute(MIGRATION.REFUSE_OTHERS)
        assert f"1 customers have an address the service cannot send to: {customer.pk} ({customer.contract_id})" \
            in str(stopped.value)
        assert "migrate again" in stopped.value.diag.message_hint
        conn.rollback()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE conname = 'accounts_customer_email_sendable'")
        assert cursor.fetchone() == (1,)
