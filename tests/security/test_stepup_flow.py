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
