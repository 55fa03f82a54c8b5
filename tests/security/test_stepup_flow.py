"""SEC-7/14: the confirm-with-step-up flow — a refused operation leaves nothing done and is
still written to the customer's history."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from security import cards
from security.models import AuditEvent, StepUp
from security.stepup_flow import stepup_pending_confirm, stepup_pending_start
from tests.security.secondfactor import card_post, customer_with_card, right_answers

pytestmark = pytest.mark.django_db


class Refused(Exception):
    message = "この操作は現在お受けできません。"


def request_for(customer, method="get", data=None):
    request = getattr(RequestFactory(), method)("/x/", data or {})
    request.session = SessionStore()
    request.customer = customer
    request.user = customer.user
    return request


def test_refused_operation_rolls_back_but_is_audited():
    customer = customer_with_card()
    start = request_for(customer)
    stepup_pending_start(start, session_key="pending", kind="limit_change", content={"limit": 5})
    challenge = cards.image_card_challenge_current(customer=customer)
    confirm = request_for(customer, "post", card_post(challenge, right_answers(challenge)))
    confirm.session = start.session

    def execute(customer_, content):
        AuditEvent.objects.create(customer=customer_, action="limit_change", outcome="success")
        raise Refused()

    form, stepup, done = stepup_pending_confirm(confirm, session_key="pending", execute=execute)
    assert not done and Refused.message in form.non_field_errors()
    assert not AuditEvent.objects.filter(action="limit_change", outcome="success").exists()
    assert AuditEvent.objects.get(action="limit_change", outcome="failure").summary == Refused.message
    stepup.refresh_from_db()
    assert stepup.used_at is None  # not consumed: nothing was done


def test_executes_exactly_once():
    customer = customer_with_card()
    start = request_for(customer)
    stepup_pending_start(start, session_key="pending", kind="limit_change", content={"limit": 7})
    challenge = cards.image_card_challenge_current(customer=customer)
    data = card_post(challenge, right_answers(challenge))
    runs = []
    confirm = request_for(customer, "post", data)
    confirm.session = start.session
    _form, _stepup, done = stepup_pending_confirm(
        confirm, session_key="pending", execute=lambda c, content: runs.append(content))
    assert done and runs == [{"limit": 7}]
    replay = request_for(customer, "post", data)
    replay.session = start.session
    form, _stepup, done = stepup_pending_confirm(
        replay, session_key="pending", execute=lambda c, content: runs.append(content))
    assert form is None and not done and runs == [{"limit": 7}]
    assert StepUp.objects.get(customer=customer).used_at is not None


def test_other_factor_with_the_image_card_locked_shows_why(client):
    """SEC-16, SEC-8: a customer with a passkey presses 「画像認証カード・ワンタイムパスワード
    で認証する」 on a confirm page (here 利用限度額変更) while the image card is locked: a
    page saying so, not a 500; nothing changes."""
    from django.utils import timezone

    from security.models import Credential
    from tests.security.test_passkeys import registered

    customer = customer_with_card()
    registered(customer)
    assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    assert client.post("/transfers/limit/", {"new_limit": "100000"}).url == "/transfers/limit/confirm/"
    Credential.objects.update_or_create(customer=customer, kind=Credential.Kind.IMAGE_CARD,
                                        defaults={"locked_at": timezone.now()})
    response = client.post("/transfers/limit/confirm/", {"stepup_other_factor": "1"})
    assert response.status_code == 200
    assert cards.CARD_LOCKED in response.content.decode()
    assert StepUp.objects.get(customer=customer).method == StepUp.Method.PASSKEY
    assert not AuditEvent.objects.filter(action="limit_change").exists()
