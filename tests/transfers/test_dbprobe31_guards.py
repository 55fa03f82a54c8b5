"""XFER-8, SEC-8, SEC-16, LEDGER-7 (outside review dbprobe31 F3, F4, F6, F7), as the app's own
role: the daily limit holds under whatever isolation the connection chooses, 振込の設定 and
a credential are not deleted away, the narrow sequences and the temp files are out of the
app's reach — and the app's own flows still pass."""

from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from security import passkeys
from security.models import Credential, Passkey
from security.services import login_authenticate
from tests.accounts.test_counter_deposit_key import at_commit
from tests.accounts.test_ledger_lockdown import refused
from tests.security import secondfactor
from tests.security.test_passkeys import registered
from tests.transfers.support import content_for, execute, other_bank_payee, payer
from transfers import services
from transfers.errors import TransferRefused
from transfers.models import Transfer

pytestmark = pytest.mark.django_db


def _sqlstate(error: BaseException) -> str | None:
    while error is not None:
        if getattr(error, "sqlstate", None):
            return error.sqlstate
        error = error.__cause__
    return None


class _RepeatableRead:
    """The test's connection under REPEATABLE READ (the session's to choose, dbprobe31 F3)."""

    def __enter__(self):
        connection.close()
        connection.ensure_connection()
        connection.connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

    def __exit__(self, *exc):
        connection.close()  # the next query reconnects as configured (READ COMMITTED)


@pytest.mark.django_db(transaction=True)
def test_a_transfer_is_written_only_under_read_committed():
    """F3: under REPEATABLE READ the limit's sum read an older snapshot — 1,020,000円 went
    against a 1,000,000円 limit. The transfer is refused there (CI225, nothing posted) and
    goes under READ COMMITTED, as the app runs."""
    customer, account = payer(balance=100_000)
    with _RepeatableRead(), pytest.raises((TransferRefused, DatabaseError)) as caught:
        execute(customer, content_for(customer, account, other_bank_payee(), 10_000))
    assert _sqlstate(caught.value) == "CI225"
    account.refresh_from_db()
    assert (account.balance, Transfer.objects.filter(customer=customer).count()) == (100_000, 0)
    assert execute(customer, content_for(customer, account, other_bank_payee(), 10_000)).status == "executed"


def test_the_bank_maximum_is_never_deleted():
    """F4b: deleting 振込の設定 put a lowered maximum back to the default, without staff."""
    assert services.bank_max_daily_limit() > 0
    assert refused("DELETE FROM transfers_transfersettings") == "CI236"


def test_a_credential_goes_only_with_its_customer():
    """F4a: deleting a locked password credential lifted the lock and reset the guesses,
    with no staff, no audit row and no mail."""
    customer = secondfactor.customer_with_card(password="Right123")
    for _ in range(5):
        assert not login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None).ok
    assert Credential.objects.get(customer=customer, kind="password").is_locked
    assert at_commit([("DELETE FROM security_credential WHERE customer_id = %s", [customer.pk])]) == "CI305"
    assert not login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None).ok


@pytest.mark.django_db(transaction=True)
def test_a_passkey_is_deleted_only_under_read_committed():
    """F3 (passkeys): two deletes under REPEATABLE READ could each see the other passkey
    still there and leave 「パスキーでのみログイン」 with none."""
    customer = secondfactor.customer_with_card(email="pk31@example.jp")
    with transaction.atomic():  # as the step-up's transaction runs it
        passkey = registered(customer)
    stored = Passkey.objects.get(customer=customer)
    with _RepeatableRead(), pytest.raises(DatabaseError) as caught, transaction.atomic():
        passkeys.passkey_delete(customer=customer, passkey_id=stored.pk, ip=None)
    assert _sqlstate(caught.value) == "CI306"
    assert Passkey.objects.filter(pk=stored.pk).exists()
    with transaction.atomic():  # as the step-up's transaction runs it
        passkeys.passkey_delete(customer=customer, passkey_id=stored.pk, ip=None)
    assert not Passkey.objects.filter(customer=customer).exists()
    assert passkey is not None


def test_the_narrow_sequences_are_out_of_the_apps_reach():
    """F6: a read-only ``SELECT nextval('auth_user_id_seq') FROM generate_series(…)`` ran
    the integer sequence to its end: no new user, no admin save. The app has no privilege
    on them; its INSERTs still take their ids."""
    for sequence in ("auth_user_id_seq", "django_admin_log_id_seq", "otp_totp_totpdevice_id_seq"):
        assert refused("SELECT nextval(%s)", [sequence]) == "42501", sequence
    with connection.cursor() as cursor:  # a bigint sequence is still the app's
        cursor.execute("SELECT nextval('security_auditevent_id_seq') > 0")
        assert cursor.fetchone() == (True,)
    assert get_user_model().objects.create_user(username="seq-31", password="x").pk > 0


def test_the_app_role_writes_a_bounded_amount_of_temp_files():
    """F7: one SELECT of the app's wrote 49 GB of temp files; the app's role has a
    temp_file_limit it cannot lift (a superuser's setting, dev.py and the deploy script)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW temp_file_limit")
        assert cursor.fetchone()[0] == "2GB"
    assert refused("SET temp_file_limit = -1") == "42501"
