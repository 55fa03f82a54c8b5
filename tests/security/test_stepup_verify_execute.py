"""SEC-7/8/14, issue 14: ``stepup_verify_execute`` verifies, consumes and executes in one
transaction, and leaves exactly what a verification followed by a separate transaction
of the operation would leave: a wrong answer is counted and nothing runs; a refused operation
rolls back alone while the verification stands; a confirmation executes once.
Transactional, because what is committed is the point."""

from __future__ import annotations

import pytest
from django.db import connection

from security import cards, stepup
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, ImageCardChallenge, StepUp
from tests import factories
from tests.security.secondfactor import customer_with_card, right_answers, wrong_answers

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = {"operation": "limit_change", "limit": 300_000}


class Refused(Exception):
    message = "この操作は現在お受けできません。"


def _answer(customer, answers=right_answers) -> dict:
    challenge = cards.image_card_challenge_current(customer=customer)
    return {"challenge_id": challenge.pk, "card_answers": answers(challenge)}


def _verify_execute(customer, pending, execute, **answer):
    return stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk, content=CONTENT,
                                        ip="10.0.0.1", execute=execute, **answer)


def _audit_row(customer, action: str):
    return AuditEvent.objects.create(customer=customer, action=action, outcome="success")


def test_right_answer_executes_once_in_one_transaction():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="limit_change", content=CONTENT)
    answer = _answer(customer)
    seen = []

    def execute():
        seen.append(connection.in_atomic_block)
        return _audit_row(customer, "limit_change")

    row = _verify_execute(customer, pending, execute, **answer)
    assert seen == [True] and AuditEvent.objects.filter(pk=row.pk).exists()
    pending.refresh_from_db()
    assert pending.verified_at is not None and pending.used_at is not None
    assert ImageCardChallenge.objects.get(pk=answer["challenge_id"]).closed_reason == "answered"
    # a replay executes nothing
    with pytest.raises(stepup.StepUpError) as refused:
        _verify_execute(customer, pending, execute, **_answer(customer))
    assert refused.value.message == stepup.STEPUP_USED and seen == [True]
    assert list(AuditEvent.objects.filter(customer=customer, action="step_up").order_by("id")
                .values_list("outcome", flat=True)) == ["success", "refused"]


def test_wrong_answer_is_counted_and_nothing_runs():
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="limit_change", content=CONTENT)
    seen = []
    with pytest.raises(AuthFactorError) as refused:
        _verify_execute(customer, pending, lambda: seen.append(1), **_answer(customer, wrong_answers))
    assert refused.value.message == cards.CARD_WRONG and seen == []
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 1
    pending.refresh_from_db()
    assert pending.verified_at is None and pending.used_at is None
    assert AuditEvent.objects.get(customer=customer, action="step_up").outcome == "failure"


@pytest.mark.parametrize("error", [Refused(), RuntimeError("a bug")], ids=["domain refusal", "unexpected error"])
def test_refused_operation_rolls_back_alone_and_the_verification_stands(error):
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="limit_change", content=CONTENT)
    answer = _answer(customer)

    def execute():
        _audit_row(customer, "limit_change")
        raise error

    with pytest.raises(type(error)):
        _verify_execute(customer, pending, execute, **answer)
    assert not AuditEvent.objects.filter(action="limit_change").exists()  # the operation's row rolled back
    pending.refresh_from_db()
    assert pending.verified_at is not None and pending.used_at is None  # verified, not used
    assert ImageCardChallenge.objects.get(pk=answer["challenge_id"]).closed_reason == "answered"
    assert AuditEvent.objects.get(customer=customer, action="step_up").outcome == "success"
    # the customer may retry until it expires, without answering again, and it executes once
    row = _verify_execute(customer, pending, lambda: _audit_row(customer, "limit_change"))
    assert AuditEvent.objects.filter(pk=row.pk).exists()
    pending.refresh_from_db()
    assert pending.used_at is not None
    assert AuditEvent.objects.filter(customer=customer, action="step_up").count() == 1
    with pytest.raises(stepup.StepUpError):
        _verify_execute(customer, pending, lambda: _audit_row(customer, "limit_change"))
    assert AuditEvent.objects.filter(action="limit_change").count() == 1
    assert StepUp.objects.get(pk=pending.pk).used_at == pending.used_at


@pytest.mark.parametrize("verified_first", [False, True], ids=["fresh", "verified-not-used"])
def test_changed_content_is_refused_and_nothing_runs(verified_first):
    """SEC-14 on the path every confirm page takes: content that differs from what was
    confirmed (a second tab, a replayed form) executes nothing and uses nothing — whether
    the step-up is fresh or was verified before an operation that failed."""
    customer = customer_with_card()
    pending = stepup.stepup_begin(customer=customer, kind="limit_change", content=CONTENT)
    if verified_first:
        with pytest.raises(Refused):
            _verify_execute(customer, pending, lambda: (_ for _ in ()).throw(Refused()), **_answer(customer))
    seen = []
    with pytest.raises(stepup.StepUpError) as refused:
        stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk,
                                     content={**CONTENT, "limit": 3_000_000}, ip="10.0.0.1",
                                     execute=lambda: seen.append(1), **_answer(customer))
    assert refused.value.message == stepup.STEPUP_CONTENT_CHANGED and seen == []
    pending.refresh_from_db()
    assert pending.used_at is None
    assert (pending.verified_at is not None) == verified_first


def test_nothing_executes_once_ib_was_suspended_meanwhile():
    """SEC-10: the customer phones the branch (their session was stolen); staff suspend IB
    while the thief's confirmation is already past the middleware's status check. It then
    executed: the operation checked nothing of the contract. Now the confirmation reads the
    customer's status under the row lock the suspension takes, and refuses."""
    customer = customer_with_card()  # as the request loaded it: active
    pending = stepup.stepup_begin(customer=customer, kind="limit_change", content=CONTENT)
    answer = _answer(customer)
    factories.suspended(customer)  # staff, meanwhile
    seen = []
    with pytest.raises(AuthFactorError) as refused:
        _verify_execute(customer, pending, lambda: seen.append(1), **answer)
    assert "IB取引中止" in refused.value.message and seen == []
    pending.refresh_from_db()
    assert pending.used_at is None
