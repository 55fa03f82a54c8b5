"""LEDGER-7, SEC-13, NOTE-1, PAY-1 (outside reviews dbprobe28 F7, dbprobe29 F2; accounts/db_roles.py):
for the app's role the ids of every table it writes come from their sequence, and never change.
Rows planted at the sequence's next values of the audit log (never removed) made every later
audited action a 500 (IntegrityError on the primary key) until a DBA moved the sequence; the
mails and address-change requests the same; then a Pay-easy payment (never removed, CI205) the
next payment, 200 admin-log rows every admin save, and a row moved by ``UPDATE … SET id`` a
future insert of its table. The app's own inserts (save, create, bulk_create) leave the id out,
and its updates never set it; they still work. The transfers tables CI231 holds instead
(transfers 0032; tests/transfers/test_dbprobe28_guards.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model

from accounts.db_roles import catalogue_read, id_kept_update_columns, reserved_id_tables, sequence_id_insert_columns
from accounts.models import BankClosingDay, WorkerHeartbeat
from notifications.models import EmailChangeRequest, OutboxMessage
from notifications.services import email_change_request, notice_enqueue
from security.audit import audit_record
from security.models import AuditEvent, Credential
from security.services import credential_for_update, login_authenticate
from tests import factories
from tests.accounts.closing_support import closing_days_audited
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"
APPEND_ONLY = ("security_auditevent", "notifications_outboxmessage", "notifications_emailchangerequest",
               "accounts_account", "accounts_customer", "notifications_postingnotice", "security_credential",
               "payeasy_payment", "django_admin_log", "auth_user", "procrastinate_jobs")
# the repro of dbprobe29 F2c, and the other tables the app updates
MOVED = ("transfers_bank", "transfers_bankbranch", "transfers_transferlimit", "security_credential",
         "security_imagecard", "accounts_workerheartbeat", "accounts_customer", "payeasy_payment",
         "notifications_outboxmessage", "transfers_transfer", "security_stepup", "procrastinate_jobs")


def test_the_app_role_never_names_an_id():
    tables = sequence_id_insert_columns()
    assert set(APPEND_ONLY) <= set(tables)
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute("SELECT has_table_privilege(%s, 'INSERT'), has_column_privilege(%s, 'id', 'INSERT'),"
                           " bool_and(has_column_privilege(%s, c, 'INSERT')) FROM unnest(%s::text[]) c",
                           [table, table, table, columns])
            assert cursor.fetchone() == (False, False, True), table


def test_every_table_with_an_id_the_app_writes_is_held():
    """No table of the public schema escapes: the app's role names an id only where CI231
    holds it (or the settings row, pk 1), and changes one nowhere."""
    with connection.cursor() as cursor:
        catalogue = catalogue_read(cursor)
        cursor.execute("SELECT c.relname, has_column_privilege(c.oid, 'id', 'INSERT'),"
                       " has_column_privilege(c.oid, 'id', 'UPDATE')"
                       " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id'"
                       " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')")
        privileges = {table: (insert, update) for table, insert, update in cursor.fetchall()}
    assert set(MOVED) <= set(id_kept_update_columns(catalogue))
    assert {table for table, (_, update) in privileges.items() if update} == set()
    assert {table for table, (insert, _) in privileges.items() if insert} <= reserved_id_tables() | {
        "security_stepup", "security_webauthnchallenge"}  # ids the app makes (uuid), no sequence
    with connection.cursor() as cursor:  # every other column stays the app's to update
        for table, columns in id_kept_update_columns(catalogue).items():
            cursor.execute("SELECT bool_and(has_column_privilege(%s, c, 'UPDATE')) FROM unnest(%s::text[]) c",
                           [table, columns])
            assert cursor.fetchone() == (True,), table


@pytest.mark.parametrize("table", MOVED)
def test_an_id_moved_is_refused(table):
    """dbprobe29 F2c: ``UPDATE … SET id = id + 100000000`` on any row (none needed)."""
    assert refused(f"UPDATE {table} SET id = id WHERE false") == INSUFFICIENT_PRIVILEGE


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
    # dbprobe29 F2a: a Pay-easy payment at the next id (a payment is never deleted, CI205)
    "INSERT INTO payeasy_payment (id, reference, bill_id, number, category, description, amount, via_link, paid_at,"
    " account_id, biller_id, customer_id) SELECT s.last_value + 1, 'P00000000000001', 'plant1', '1', '', 'x', 1,"
    " false, now(), 1, 1, %(customer)s FROM payeasy_payment_id_seq s",
    # F2b: 200 staff admin-log rows at the next ids
    "INSERT INTO django_admin_log (id, action_time, object_id, object_repr, action_flag, change_message,"
    " content_type_id, user_id) SELECT s.last_value + g, now(), '1', 'x', 2, '[]', 1, 1"
    " FROM django_admin_log_id_seq s, generate_series(1, 200) g",
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
    closing_days_audited()
    heartbeat = WorkerHeartbeat.objects.create(beat_at=dt.datetime.now(dt.UTC), note="test")
    heartbeat.note = "saved"
    heartbeat.save()  # an UPDATE of every column but the id
    staff = get_user_model().objects.create_user("seq-staff", password="x", is_staff=True)
    LogEntry.objects.log_actions(staff.pk, [heartbeat], CHANGE, single_object=True)  # every admin save
    assert LogEntry.objects.filter(user=staff).count() == 1
    assert account.pk and OutboxMessage.objects.filter(customer=customer).count() >= 2
    assert EmailChangeRequest.objects.filter(customer=customer).exists()
