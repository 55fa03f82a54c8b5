"""SEC-16, SEC-10: lock order between a passkey's use and its deletion, real PostgreSQL
and two connections. The passkey (login, or a step-up answered with it) locks the passkey
row, then touches the customer's row (the audit row's key, the contract check of
``stepup_verify_execute``); deleting a passkey after a card step-up locked the customer's
row (the contract check, ``passkey_delete``) and then the passkey: each waited for
the other — a deadlock (SQLSTATE 40P01), a 500 for one of the two customers' requests."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from security import cards, passkeys, stepup
from security.models import Passkey
from tests.security import secondfactor
from tests.security.webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINS = ["http://localhost"]
CONTENT = {"operation": "transfer", "amount": 1000}


def _registered(customer) -> SoftAuthenticator:
    authenticator = SoftAuthenticator(rp_id=settings.WEBAUTHN_RP_ID, origin=ORIGINS[0])
    with transaction.atomic():
        registration = passkeys.passkey_registration_authorise(customer=customer, name="スマートフォン")
    options = passkeys.passkey_registration_options(customer=customer, registration=registration)
    passkeys.passkey_register(customer=customer, response_json=authenticator.register(options),
                              origins=ORIGINS, ip=None)
    return authenticator


def _waiting_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _race(monkeypatch, module, first, second):
    """Run ``first`` until its audit row (its passkey row locked by then); then ``second``
    until it waits for a lock; then let ``first`` go on. Returns both outcomes."""
    holding, second_pid = threading.Event(), []
    original = module.audit_record
    first_thread = []

    def audit_then_wait(**kwargs):
        if threading.current_thread() is first_thread[0] and not holding.is_set():
            holding.set()
            deadline = time.monotonic() + 10
            while not second_pid and time.monotonic() < deadline:
                time.sleep(0.01)
            while second_pid and not _waiting_for_a_lock(second_pid[0]) and time.monotonic() < deadline:
                time.sleep(0.02)
        return original(**kwargs)

    monkeypatch.setattr(module, "audit_record", audit_then_wait)
    outcomes = {}

    def run(name, job, before=None):
        try:
            if before:
                before()
            outcomes[name] = ("ok", job())
        except Exception as exc:  # noqa: BLE001 - a deadlock must show
            outcomes[name] = ("error", exc)
        finally:
            connections.close_all()

    def second_started():
        holding.wait(10)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            second_pid.append(cursor.fetchone()[0])

    one = threading.Thread(target=run, args=("first", first))
    two = threading.Thread(target=run, args=("second", second, second_started))
    first_thread.append(one)
    one.start()
    two.start()
    one.join(30)
    two.join(30)
    return outcomes


def _card_stepup_deleting(customer, passkey_id):
    pending = stepup.stepup_begin(customer=customer, kind="passkey_delete", content={"passkey_id": passkey_id})
    pending = stepup.stepup_use_guide_factor(customer=customer, stepup=pending)
    challenge = cards.image_card_challenge_current(customer=customer)
    answers = secondfactor.right_answers(challenge)

    def delete():
        return stepup.stepup_verify_execute(
            customer=customer, stepup_id=pending.pk, content={"passkey_id": passkey_id}, ip=None,
            challenge_id=challenge.pk, card_answers=answers,
            execute=lambda: passkeys.passkey_delete(customer=customer, passkey_id=passkey_id, ip=None))
    return delete


def test_a_passkey_step_up_and_a_card_step_up_deleting_that_passkey_do_not_deadlock(monkeypatch):
    customer = secondfactor.customer_with_card()
    authenticator = _registered(customer)
    passkey_id = Passkey.objects.get(customer=customer).pk
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    response = authenticator.assertion(passkeys.passkey_authentication_options(customer=customer, stepup=pending))
    delete = _card_stepup_deleting(customer, passkey_id)

    def with_passkey():
        return stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk, content=CONTENT, ip=None,
                                            passkey_response=response, origins=ORIGINS, execute=lambda: "done")

    outcomes = _race(monkeypatch, stepup, with_passkey, delete)
    assert outcomes["first"] == ("ok", "done"), outcomes
    assert outcomes["second"][0] == "ok", outcomes
    assert not Passkey.objects.filter(pk=passkey_id).exists()


def test_a_passkey_login_and_a_card_step_up_deleting_that_passkey_do_not_deadlock(monkeypatch):
    customer = secondfactor.customer_with_card()
    authenticator = _registered(customer)
    passkey_id = Passkey.objects.get(customer=customer).pk
    response = authenticator.assertion(passkeys.passkey_authentication_options(customer=customer))
    delete = _card_stepup_deleting(customer, passkey_id)

    def login():
        return passkeys.passkey_verify_login(customer=customer, response_json=response, origins=ORIGINS, ip=None)

    outcomes = _race(monkeypatch, passkeys, login, delete)
    assert outcomes["first"] == ("ok", None), outcomes
    assert outcomes["second"][0] == "ok", outcomes
    assert not Passkey.objects.filter(pk=passkey_id).exists()
