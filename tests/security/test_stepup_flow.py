"""SEC-7/14: the confirm-with-step-up flow — a refused operation leaves nothing done and is
still written to the customer's history."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from security import cards
from security.models import AuditEvent, StepUp
from security.stepup_flow import stepup_pending_confirm, stepup_pending_start
from tests import factories
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

    from security.models import Credential
    from tests.security.test_passkeys import registered

    customer = customer_with_card()
    registered(customer)
    assert client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}).status_code == 302
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    assert client.post("/transfers/limit/", {"new_limit": "100000"}).url == "/transfers/limit/confirm/"
    factories.credential_locked(customer, Credential.Kind.IMAGE_CARD)
    response = client.post("/transfers/limit/confirm/", {"stepup_other_factor": "1"})
    assert response.status_code == 200
    assert cards.CARD_LOCKED in response.content.decode()
    assert StepUp.objects.get(customer=customer).method == StepUp.Method.PASSKEY
    assert not AuditEvent.objects.filter(action="limit_change").exists()


def _hidden_challenge(page: str) -> int:
    import re

    return int(re.search(r'name="challenge" value="(\d+)"', page).group(1))


def test_after_the_cells_changed_the_page_carries_the_new_challenge_and_a_right_answer_passes():
    """SEC-5, SEC-7 (walk27 F1): two logins of one customer on two confirm pages show the
    same challenge; one answers it. The other's answer is refused with 「認証用画像の指定が
    変わりました」 and the page shows new cells — with the new challenge's id in the hidden
    field, not the posted stale one: the right answer to the new cells then passes. The
    stale page is not a wrong answer: nothing counted, no 「認証誤り」 in the history."""
    from django.test import Client

    from security.models import Credential, ImageCardChallenge

    customer = customer_with_card()
    tabs = {"a": Client(), "b": Client()}
    for tab in tabs.values():
        tab.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert tabs["a"].post("/transfers/limit/", {"new_limit": "100000"}).url == "/transfers/limit/confirm/"
    assert tabs["b"].post("/settings/suspend/").url == "/settings/suspend/confirm/"
    first = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    assert _hidden_challenge(tabs["a"].get("/transfers/limit/confirm/").content.decode()) == first.pk
    assert _hidden_challenge(tabs["b"].get("/settings/suspend/confirm/").content.decode()) == first.pk
    answer_first = card_post(first, right_answers(first))
    assert tabs["a"].post("/transfers/limit/confirm/", answer_first).url == "/transfers/limit/done/"
    response = tabs["b"].post("/settings/suspend/confirm/", answer_first)  # the page B still shows
    page = response.content.decode()
    assert response.status_code == 200 and cards.CARD_CHALLENGE_CHANGED in page
    second = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    assert second.pk != first.pk and _hidden_challenge(page) == second.pk
    for position, cell in enumerate(second.cells):  # the cells shown are the new challenge's
        assert f'/image-auth/{second.pk}/{position}/0.png' in page and cards.cell_label(cell) in page
    answer = card_post(second, right_answers(second))
    assert answer["challenge"] == str(_hidden_challenge(page))  # as the browser posts it back
    assert tabs["b"].post("/settings/suspend/confirm/", answer).url == "/settings/suspend/done/"
    customer.refresh_from_db()
    assert customer.status == customer.Status.SUSPENDED
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0
    stale = AuditEvent.objects.get(customer=customer, action="step_up", outcome="refused")
    assert stale.summary.endswith("指定マス変更")
    assert not AuditEvent.objects.filter(customer=customer, summary__contains="認証誤り").exists()
    assert not AuditEvent.objects.filter(customer=customer, outcome="failure").exists()


def test_a_challenge_answered_meanwhile_again_shows_the_open_one():
    """walk27 F1, the race: the challenge the confirm POST was built with is answered in
    another tab before the answer is checked. The refused page shows the customer's open
    challenge — its cells and its id — not the one closed meanwhile."""
    from django.utils.datastructures import MultiValueDict

    from security.forms import StepUpForm
    from security.models import ImageCardChallenge

    customer = customer_with_card()
    start = request_for(customer)
    stepup = stepup_pending_start(start, session_key="pending", kind="limit_change", content={"limit": 5})
    shown = cards.image_card_challenge_current(customer=customer)
    form = StepUpForm.for_stepup(stepup, MultiValueDict({k: [v] for k, v in card_post(
        shown, right_answers(shown)).items()}))
    assert form.is_valid()
    cards.image_card_verify(customer=customer, challenge_id=shown.pk, answers=right_answers(shown), ip=None)
    from security.errors import AuthFactorError

    form.add_refusal(AuthFactorError(cards.CARD_CHALLENGE_CHANGED, field="card"))
    now_open = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    assert form.challenge.pk == now_open.pk != shown.pk
    assert _hidden_challenge(str(form["challenge"])) == now_open.pk
    assert [cell["label"] for cell in form.challenge_cells] == [cards.cell_label(c) for c in now_open.cells]
