"""SEC-8, SEC-13, LEDGER-7 (outside review dbprobe28 F5; security 0013): as the app's role,
a credential's failures move by one or back to 0, a lock comes only with the failure that
reaches the limit, and every lock and lift is written to a history the database alone
writes. The services' lockout, staff's ロック解除 and 初回パスワード再発行 still work."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection

from notifications.models import OutboxMessage
from security.models import AuditEvent, Credential, CredentialLockChange
from security.services import credential_unlock, initial_password_issue, login_authenticate
from tests import factories
from tests.accounts.test_counter_deposit_key import at_commit
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"
UPSERT = ("INSERT INTO security_credential (customer_id, kind, failures, locked_at, unlocked_at,"
          " failures_while_suspended) VALUES (%s, 'password', %s, %s, NULL, 0)"
          " ON CONFLICT (customer_id, kind) DO UPDATE SET failures = EXCLUDED.failures, locked_at = EXCLUDED.locked_at")


@pytest.fixture(autouse=True)
def staff01():
    """The staff user the unlocks below name (security 0022, CI315: an active staff user who may lift a lock)."""
    return factories.staff_user("staff01")


def test_the_database_knows_the_lockout_limits_of_the_settings():
    with connection.cursor() as cursor:
        for kind, limit in settings.SECURITY_LOCKOUT_THRESHOLDS.items():
            cursor.execute("SELECT security_lockout_threshold(%s)", [kind])
            assert cursor.fetchone()[0] == limit, kind
    assert set(settings.SECURITY_LOCKOUT_THRESHOLDS) == set(Credential.Kind.values)


def test_one_statement_no_longer_locks_a_customer_out():
    """The repro of F5: failures 5 and a lock written at once, for a row new or existing."""
    customer = factories.customer(password="Right123")
    assert refused(UPSERT, [customer.pk, 5, "now"]) == "CI304"
    Credential.objects.create(customer=customer, kind="password")
    assert refused(UPSERT, [customer.pk, 5, "now"]) == "CI304"
    assert login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None).ok
    assert not CredentialLockChange.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(("failures", "change"), [
    (0, "failures = 2"),                                   # more than one at a time
    (3, "failures = 1"),                                   # lowered under guessing, never locking
    (3, "locked_at = now()"),                              # a lock below the limit
    (4, "failures = 5"),                                   # the limit reached, left unlocked
    (0, "failures_while_suspended = 7"),
    (0, "unlocked_at = now(), failures = 1"),
    (0, "kind = 'otp'"),
])
def test_failures_move_by_one_and_lock_only_at_the_limit(failures, change):
    customer = factories.customer()
    credential = Credential.objects.create(customer=customer, kind="password")
    for _ in range(failures):
        credential = factories.credential_failed(customer, "password")
    assert refused(f"UPDATE security_credential SET {change} WHERE id = %s", [credential.pk]) == "CI304"


@pytest.mark.parametrize("change", ["failures = 3", "locked_at = NULL", "locked_at = now() - interval '1 day'",
                                    "failures = 0"])
def test_a_lock_is_lifted_whole_or_not_at_all(change):
    customer = factories.customer()
    credential = factories.credential_locked(customer, "password")
    assert refused(f"UPDATE security_credential SET {change} WHERE id = %s", [credential.pk]) == "CI304"


def test_a_row_is_born_with_no_failures_and_no_lock():
    customer = factories.customer()
    for born in ("1, NULL, NULL, 0", "0, now(), NULL, 0", "0, NULL, now(), 0", "0, NULL, NULL, 1"):
        assert refused("INSERT INTO security_credential (customer_id, kind, failures, locked_at, unlocked_at,"
                       f" failures_while_suspended) VALUES (%s, 'otp', {born})", [customer.pk]) == "CI304"


def test_the_history_is_the_databases_alone():
    customer = factories.customer()
    factories.credential_locked(customer, "password")
    row = CredentialLockChange.objects.get(customer=customer)
    for statement in ("INSERT INTO security_credentiallockchange (customer_id, kind, locked, failures, changed_at,"
                      " xact_id, db_user) VALUES (%s, 'password', false, 0, now(), 1, 'x')",
                      "UPDATE security_credentiallockchange SET locked = false WHERE customer_id = %s",
                      "DELETE FROM security_credentiallockchange WHERE customer_id = %s"):
        assert refused(statement, [customer.pk]) == INSUFFICIENT_PRIVILEGE
    assert (row.kind, row.locked, row.failures) == ("password", True, 5)


def test_the_services_lock_and_staff_unlock_as_before_and_each_is_recorded():
    customer = factories.customer(password="Right123", email="lock@example.jp")
    limit = settings.SECURITY_LOCKOUT_THRESHOLDS["password"]
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    assert login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None).ok  # back to 0
    for _ in range(limit + 1):  # the limit locks it, one more is counted on the locked row
        login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    credential = Credential.objects.get(customer=customer, kind="password")
    assert credential.is_locked and credential.failures == limit + 1
    assert AuditEvent.objects.filter(customer=customer, action="lockout").count() == 1
    credential_unlock(customer=customer, kind="password", reason="本人確認済み", actor="staff01")
    credential.refresh_from_db()
    assert (credential.failures, credential.locked_at) == (0, None) and credential.unlocked_at is not None
    for _ in range(limit):
        login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    initial_password_issue(customer=customer, reason="失念", actor="staff01", unlock=True)
    assert not Credential.objects.get(customer=customer, kind="password").is_locked
    history = list(CredentialLockChange.objects.filter(customer=customer).order_by("id").values_list(
        "kind", "locked", "failures", "db_user"))
    role = connection.settings_dict["USER"]
    assert history == [("password", True, limit, role), ("password", False, 0, role),
                       ("password", True, limit, role), ("password", False, 0, role)]
    assert OutboxMessage.objects.filter(customer=customer, event="lockout").count() == 2


def test_the_image_card_locks_at_its_own_limit():
    customer = factories.customer()
    credential = factories.credential_locked(customer, "image_card")
    assert (credential.failures, credential.is_locked) == (settings.SECURITY_LOCKOUT_THRESHOLDS["image_card"], True)
    credential_unlock(customer=customer, kind="image_card", reason="再発行", actor="staff01")


# --- security 0014 (dbprobe29 F7): each change is taken by its service, at the commit ---

STEP = "UPDATE security_credential SET failures = failures + 1 WHERE customer_id = %s AND kind = 'password'"
AUDIT = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
         " VALUES ('', %s, %s, '', %s, now(), %s)")
MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at) VALUES (%s, %s, '', 's', 'b', 'skipped', 0, now(), now())")


def _lock_statements(customer):
    limit = settings.SECURITY_LOCKOUT_THRESHOLDS["password"]
    return [(STEP, [customer.pk])] * (limit - 1) + [(STEP.replace("+ 1", "+ 1, locked_at = now()"), [customer.pk])]


def test_a_lock_comes_with_the_lockout_audit_row_and_mail():
    """The repro of F7: five failures, the last with the lock, and no lockout row nor mail."""
    customer = factories.customer()
    Credential.objects.create(customer=customer, kind="password")
    # each failure with its failed login row (CI315, security 0022): what is left out below is CI305's
    failed = [(AUDIT, ["login", "failure", "", customer.pk])] * settings.SECURITY_LOCKOUT_THRESHOLDS["password"]
    lock = _lock_statements(customer) + failed
    assert at_commit(lock) == "CI305"
    assert at_commit(lock + [(AUDIT, ["lockout", "refused", "", customer.pk])]) == "CI305", "no mail"
    assert at_commit(lock + [(MAIL, [customer.pk, "lockout"])]) == "CI305", "no audit row"
    other = factories.customer()
    assert at_commit(lock + [(AUDIT, ["lockout", "refused", "", other.pk]), (MAIL, [other.pk, "lockout"])]) == "CI305"
    named = AUDIT.replace("'', %s, now()", "'ログインパスワード', %s, now()")  # the credential it locked (CI315)
    assert at_commit(lock + [(named, ["lockout", "refused", "", customer.pk]), (MAIL, [customer.pk, "lockout"])]) is None


def test_a_lock_is_lifted_by_staff_with_the_unlock_row_and_mail():
    customer = factories.customer()
    factories.credential_locked(customer, "password")
    lift = ("UPDATE security_credential SET failures = 0, locked_at = NULL, unlocked_at = now()"
            " WHERE customer_id = %s AND kind = 'password'", [customer.pk])
    assert at_commit([lift]) == "CI305"
    assert at_commit([lift, (AUDIT, ["unlock", "success", "", customer.pk]), (MAIL, [customer.pk, "unlock"])]) == "CI305"
    assert at_commit([lift, (AUDIT, ["unlock", "success", "staff01", customer.pk])]) == "CI305", "no mail"
    assert at_commit([lift, (AUDIT, ["login", "success", "", customer.pk]), (MAIL, [customer.pk, "login"])]) == "CI305"
    for action in ("unlock", "initial_password_issue"):  # an unlock row names its credential (CI315)
        row = (AUDIT.replace("'', %s, now()", "'ログインパスワード：本人確認済み', %s, now()"), [action, "success", "staff01",
                                                                                customer.pk])
        assert at_commit([lift, row, (MAIL, [customer.pk, action])]) is None, action


def test_failures_go_back_to_0_only_with_the_success_that_does_it():
    """Guesses kept from ever locking: failures put back to 0 on an unlocked row."""
    customer = factories.customer()
    Credential.objects.create(customer=customer, kind="password")
    reset = ("UPDATE security_credential SET failures = 0 WHERE customer_id = %s AND kind = 'password'", [customer.pk])
    guesses = [(STEP, [customer.pk])] * 3
    assert at_commit([*guesses, reset]) == "CI305"  # each row version's OLD: 3 -> 0
    for _ in range(3):
        factories.credential_failed(customer, "password")
    assert at_commit([reset]) == "CI305"
    assert at_commit([reset, (AUDIT, ["login", "failure", "", customer.pk])]) == "CI305"
    assert at_commit([reset, (AUDIT, ["login", "success", "", customer.pk])]) is None
    suspended = ("UPDATE security_credential SET failures_while_suspended = failures_while_suspended + 1"
                 " WHERE customer_id = %s AND kind = 'password'", [customer.pk])
    with connection.cursor() as cursor:  # a guess during IB取引中止, with its failed login (CI315)
        cursor.execute(*suspended)
        cursor.execute(AUDIT, ["login", "failure", "", customer.pk])
    forget = ("UPDATE security_credential SET failures_while_suspended = 0 WHERE customer_id = %s", [customer.pk])
    assert at_commit([forget]) == "CI305"
    assert at_commit([forget, (AUDIT, ["ib_resume", "success", "staff01", customer.pk])]) is None


@pytest.mark.django_db(transaction=True)
def test_every_service_path_commits_under_the_rule():
    """Login (failures, the lock, a right password), staff's ロック解除 and 初回パスワード再発行
    each commit with its own audit row and mail (SEC-8)."""
    customer = factories.customer(password="Right123", email="lock@example.jp")
    limit = settings.SECURITY_LOCKOUT_THRESHOLDS["password"]
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    assert login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None).ok
    for _ in range(limit):
        login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    assert Credential.objects.get(customer=customer, kind="password").is_locked
    credential_unlock(customer=customer, kind="password", reason="本人確認済み", actor="staff01")
    for _ in range(limit):
        login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    initial_password_issue(customer=customer, reason="失念", actor="staff01", unlock=True)
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    initial_password_issue(customer=customer, reason="再発行", actor="staff01")
    credential = Credential.objects.get(customer=customer, kind="password")
    assert (credential.failures, credential.locked_at) == (0, None)
    assert [change.locked for change in CredentialLockChange.objects.filter(customer=customer).order_by("id")] == [
        True, False, True, False]

