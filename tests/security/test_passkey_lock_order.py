"""SEC-16, SEC-10: lock order between a passkey's use and its deletion, real PostgreSQL
and two connections. The passkey (login, or a step-up answered with it) locks the passkey
row, then touches the customer's row (the audit row's key, the contract check of
``stepup_verify_execute``); deleting a passkey after a card step-up locked the customer's
row (the contract check, ``passkey_delete``) and then the passkey: each waited for
the other — a deadlock (SQLSTATE 40P01), a 500 for one of the two customers' requests."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import transaction

from security import cards, passkeys, stepup
from security.models import Passkey
from tests.lockrace import inserting, race
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


# the first transaction has locked its rows and is about to write its audit row
BEFORE_THE_AUDIT_ROW = inserting("security_auditevent")


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


def test_a_passkey_step_up_and_a_card_step_up_deleting_that_passkey_do_not_deadlock():
    customer = secondfactor.customer_with_card()
    authenticator = _registered(customer)
    passkey_id = Passkey.objects.get(customer=customer).pk
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    response = authenticator.assertion(passkeys.passkey_authentication_options(customer=customer, stepup=pending))
    delete = _card_stepup_deleting(customer, passkey_id)

    def with_passkey():
        return stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk, content=CONTENT, ip=None,
                                            passkey_response=response, origins=ORIGINS, execute=lambda: "done")

    outcomes = race(with_passkey, delete, pause_before=BEFORE_THE_AUDIT_ROW)
    assert outcomes["first"] == ("ok", "done"), outcomes
    assert outcomes["second"][0] == "ok", outcomes
    assert not Passkey.objects.filter(pk=passkey_id).exists()


def test_a_passkey_login_and_a_card_step_up_deleting_that_passkey_do_not_deadlock():
    customer = secondfactor.customer_with_card()
    authenticator = _registered(customer)
    passkey_id = Passkey.objects.get(customer=customer).pk
    response = authenticator.assertion(passkeys.passkey_authentication_options(customer=customer))
    delete = _card_stepup_deleting(customer, passkey_id)

    def login():
        return passkeys.passkey_verify_login(customer=customer, response_json=response, origins=ORIGINS, ip=None)

    outcomes = race(login, delete, pause_before=BEFORE_THE_AUDIT_ROW)
    assert outcomes["first"] == ("ok", None), outcomes
    assert outcomes["second"][0] == "ok", outcomes
    assert not Passkey.objects.filter(pk=passkey_id).exists()
