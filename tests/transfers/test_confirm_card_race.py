"""SEC-5, SEC-8, SEC-14 (review33 F7): the image card's one-statement lock under real
concurrency — two connections (``lockrace``), real PostgreSQL.

A confirmation answered with the card locks the customer's row, its step-up, then the card
credential and the open challenge with its card in ONE statement (``cards._CARD_ROWS_SQL``:
the credential is the outer side of a LATERAL join, so it is locked first, and the
challenge is read with the statement's snapshot; docs/security.md, "Lock order"). A
challenge is answered once: two answers of the same challenge at once — two confirmations
of the customer's (two devices), or a confirmation and the login's second factor, which
locks the card's rows only — use it once. The winner's operation posts; the other is
refused with 「認証用画像の指定が変わりました…」 (not a wrong answer: nothing counted) and
posts nothing. Neither deadlocks with the other, nor with a reissue (customer, card
credential, card, then the challenge)."""

from __future__ import annotations

import pytest

from accounts.models import Journal
from security import cards, stepup
from security.errors import AuthFactorError
from security.models import Credential, ImageCard, ImageCardChallenge, StepUp
from tests.lockrace import race, writing
from tests.security import secondfactor
from tests.transfers.support import content_for, other_bank_payee, payer
from transfers import services
from transfers.models import Transfer

pytestmark = pytest.mark.django_db(transaction=True)

# the answer holds the card credential and the challenge with its card (the one statement),
# and is about to close the challenge as answered
BEFORE_THE_CHALLENGE_CLOSES = writing("security_imagecardchallenge")
# where the other waits is asserted: give it time to get there on a loaded machine (the pause
# ends as soon as it waits)
WAIT_SEEN_WITHIN = 45


def _in_the_card_statement(query: str) -> bool:
    """Whether ``query`` (pg_stat_activity's text: its first 1 kB) is ``_CARD_ROWS_SQL``."""
    return len(query.strip()) > 200 and cards._CARD_ROWS_SQL.strip().startswith(query.strip())


def _confirm(customer, debit, amount: int, challenge):
    """A 振込 confirmed with the right answer to ``challenge`` (a step-up of its own)."""
    content = content_for(customer, debit, other_bank_payee(), amount)
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=content)
    pending = stepup.stepup_use_guide_factor(customer=customer, stepup=pending)
    answers = secondfactor.right_answers(challenge)

    def run():
        try:
            return stepup.stepup_verify_execute(
                customer=customer, stepup_id=pending.pk, content=content, ip=None, challenge_id=challenge.pk,
                card_answers=answers, execute=lambda: services.transfer_execute(
                    customer=customer, stepup_id=pending.pk, content=content)).amount
        except AuthFactorError as refused:
            return refused.message
    run.stepup_id = pending.pk
    return run


def _login_answer(customer, challenge):
    """The login's second factor (``image_card_verify``): the card's rows only."""
    def run():
        try:
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk,
                                    answers=secondfactor.right_answers(challenge), ip=None, action="login")
        except AuthFactorError as refused:
            return refused.message
        return "right"
    return run


def _race_seen(first, second, waited_in: list[str]) -> dict:
    """``race`` paused before the challenge closes, noting where ``second`` waited."""
    return race(first, second, pause_before=BEFORE_THE_CHALLENGE_CLOSES, waited_in=waited_in,
                pause_seconds=WAIT_SEEN_WITHIN)


def _setup():
    customer, debit = payer()
    return customer, debit, cards.image_card_challenge_current(customer=customer)


def _used_once(customer, challenge, *, posted: list[int]) -> None:
    """The challenge answered (closed) once, nothing counted as wrong, and only the winner's
    transfer posted: one Transfer and one journal each."""
    closed = ImageCardChallenge.objects.get(pk=challenge.pk)
    assert closed.closed_at is not None and closed.closed_reason == ImageCardChallenge.Closed.ANSWERED
    credential = Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD)
    assert credential.failures == 0 and credential.locked_at is None
    assert sorted(Transfer.objects.filter(customer=customer).values_list("amount", flat=True)) == posted
    assert Journal.objects.filter(kind=Journal.Kind.TRANSFER).count() == len(posted)


def test_two_confirmations_answering_the_same_challenge_use_it_once():
    """Two devices, two transfers, one card challenge (sticky: both pages showed it). The
    second waits for the customer's row (the first of every confirmation's locks), then
    finds the challenge answered: refused, nothing posted, its step-up still to answer."""
    customer, debit, challenge = _setup()
    first, second = _confirm(customer, debit, 1_000, challenge), _confirm(customer, debit, 2_000, challenge)
    waited_in: list[str] = []
    outcomes = _race_seen(first, second, waited_in)
    assert outcomes == {"paused": True, "first": ("ok", 1_000), "second": ("ok", cards.CARD_CHALLENGE_CHANGED)}, \
        outcomes
    assert waited_in and '"accounts_customer"' in waited_in[0], (waited_in, outcomes)
    _used_once(customer, challenge, posted=[1_000])
    assert StepUp.objects.get(pk=second.stepup_id).used_at is None


@pytest.mark.parametrize("confirm_first", [True, False], ids=["confirm-holds", "login-holds"])
def test_a_confirmation_and_a_login_answering_the_same_challenge_meet_in_the_one_statement(confirm_first):
    """The login's second factor takes no customer row: it and a confirmation meet at the
    card credential, inside ``_CARD_ROWS_SQL`` — the waiter's statement took its snapshot
    before the wait, and still does not return the challenge the holder closed meanwhile.
    One answer wins; the other is refused as a page left stale, with nothing counted."""
    customer, debit, challenge = _setup()
    confirm, login = _confirm(customer, debit, 3_000, challenge), _login_answer(customer, challenge)
    waited_in: list[str] = []
    if confirm_first:
        outcomes = _race_seen(confirm, login, waited_in)
        assert outcomes["first"] == ("ok", 3_000) and outcomes["second"] == ("ok", cards.CARD_CHALLENGE_CHANGED), \
            outcomes
        posted = [3_000]
    else:
        outcomes = _race_seen(login, confirm, waited_in)
        assert outcomes["first"] == ("ok", "right") and outcomes["second"] == ("ok", cards.CARD_CHALLENGE_CHANGED), \
            outcomes
        posted = []
        assert StepUp.objects.get(pk=confirm.stepup_id).used_at is None
    assert outcomes["paused"], outcomes
    assert waited_in and _in_the_card_statement(waited_in[0]), (waited_in, outcomes)
    _used_once(customer, challenge, posted=posted)


def test_a_reissue_during_a_confirmation_waits_for_it():
    """The confirmation holds the customer, the card credential, the challenge and its
    card; staff's 再発行 (customer first) waits, then closes nothing more and issues."""
    customer, debit, challenge = _setup()
    outcomes = race(_confirm(customer, debit, 4_000, challenge),
                    lambda: cards.image_card_issue(customer=customer, actor="staff-t", reason="紛失").pk,
                    pause_before=BEFORE_THE_CHALLENGE_CLOSES)
    assert outcomes["paused"] and outcomes["first"] == ("ok", 4_000) and outcomes["second"][0] == "ok", outcomes
    assert ImageCard.objects.get(customer=customer, is_active=True).pk == outcomes["second"][1]
    _used_once(customer, challenge, posted=[4_000])


def test_a_confirmation_during_a_reissue_is_refused_and_posts_nothing():
    """The reissue holds the customer, the card credential and the card, about to close the
    open challenge: the confirmation answering it waits, then finds it closed (REISSUED)."""
    customer, debit, challenge = _setup()
    confirm = _confirm(customer, debit, 5_000, challenge)
    outcomes = race(lambda: cards.image_card_issue(customer=customer, actor="staff-t", reason="紛失").pk, confirm,
                    pause_before=BEFORE_THE_CHALLENGE_CLOSES)
    assert outcomes["paused"] and outcomes["first"][0] == "ok", outcomes
    assert outcomes["second"] == ("ok", cards.CARD_CHALLENGE_CHANGED), outcomes
    assert ImageCardChallenge.objects.get(pk=challenge.pk).closed_reason == ImageCardChallenge.Closed.REISSUED
    assert not Transfer.objects.filter(customer=customer).exists()
    assert StepUp.objects.get(pk=confirm.stepup_id).used_at is None
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 0
