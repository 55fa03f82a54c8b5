"""LEDGER-7, SEC-13, NOTE-1 (outside review dbprobe28 F7; accounts/db_roles.py): for the app's
role the ids of the accounts, notifications and security tables come from their sequence.
Rows planted at the sequence's next values of the audit log (never removed) made every later
audited action a 500 (IntegrityError on the primary key) until a DBA moved the sequence; the
mails and address-change requests the same. The app's own inserts (save, create,
bulk_create) leave the id out and still work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from accounts.db_roles import sequence_id_insert_columns
from accounts.models import BankClosingDay, WorkerHeartbeat
from notifications.models import EmailChangeRequest, OutboxMessage
from notifications.services import email_change_request, notice_enqueue
from security.audit import audit_record
from security.models import AuditEvent, Credential
from security.services import credential_for_update, login_authenticate
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"
APPEND_ONLY = ("security_auditevent", "notifications_outboxmessage", "notifications_emailchangerequest",
               "accounts_account", "accounts_customer", "notifications_postingnotice", "security_credential")


def test_the_app_role_never_names_an_id():
    tables = sequence_id_insert_columns()
    assert set(APPEND_ONLY) <= set(tables)
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute("SELECT has_table_privilege(%s, 'INSERT'), has_column_privilege(%s, 'id', 'INSERT'),"
                           " bool_and(has_column_privilege(%s, c, 'INSERT')) FROM unnest(%s::text[]) c",
                           [table, table, table, columns])
            assert cursor.fetchone() == (False, False, True), table


@pytest.mark.parametrize("statement", [
    # the repro of F7a: 200 audit rows at the next ids, one INSERT
    "INSERT INTO security_auditevent (id, contract_id, action, outcome, summary, client_ip, actor, created_at,"
    " customer_id) SELECT s.last_value + g, '', 'login', 'success', '', NULL, '', now(), NULL"
    " FROM security_auditevent_id_seq s, generate_series(1, 200) g",
    # F7b: three skipped mails at the next ids of the outbox
    "INSERT INTO notifications_outboxmessage (id, event, \"to\", subject, body, status, attempts, created_at,"
    " next_attempt_at, customer_id) SELECT s.last_value + g, 'login', '', '', '', 'skipped', 0, now(), now(),"
    " %(customer)s FROM notifications_outboxmessage_id_seq s, generate_series(1, 3) g",
    "INSERT INTO notifications_emailchangerequest (id, customer_id, new_email, code_hash, failures, expires_at,"
    " created_at) SELECT s.last_value + 1, %(customer)s, 'b@example.jp', 'x', 0, now(), now()"
    " FROM notifications_emailchangerequest_id_seq s",
    "INSERT INTO accounts_account (id, purpose, type, number, holder_kana, name, status, balance, hold_amount,"
    " opened_at, status_changed_at, branch_id, customer_id) SELECT s.last_value + 1, 'customer', '1', '7777777',"
    " 'ｱ', '', 'open', 0, 0, now(), now(), 1, %(customer)s FROM accounts_account_id_seq s",
])
def test_rows_planted_at_the_next_ids_are_refused(statement):
    customer = factories.customer(email="a@example.jp")
    assert refused(statement, {"customer": customer.pk}) == INSUFFICIENT_PRIVILEGE


def test_every_insert_of_the_app_takes_its_id_from_the_sequence():
    """save(), create() and bulk_create() of the app leave the id out."""
    customer = factories.customer(password="Right123", email="seq@example.jp")
    account = factories.account(owner=customer, balance=1_000)
    assert login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None).ok
    audit_record(action="login", outcome=AuditEvent.Outcome.SUCCESS, customer=customer, summary="")
    notice_enqueue(customer=customer, event="password_change", lines=["x"])
    email_change_request(customer=customer, new_email="new@example.jp", ip=None)
    credential_for_update(customer, Credential.Kind.OTP)  # bulk_create … ignore_conflicts
    BankClosingDay.objects.bulk_create([BankClosingDay(date=dt.date.today() + dt.timedelta(days=30), name="臨時休業",
                                                       created_by="staff01")])
    WorkerHeartbeat.objects.create(beat_at=dt.datetime.now(dt.UTC), note="test")
    assert account.pk and OutboxMessage.objects.filter(customer=customer).count() >= 2
    assert EmailChangeRequest.objects.filter(customer=customer).exists()
