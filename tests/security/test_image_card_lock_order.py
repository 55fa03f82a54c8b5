"""SEC-5, SEC-8: the image card's rows under concurrency (docs/security.md, "Lock order"),
real PostgreSQL and two connections (``lockrace``).

A reissue (staff's 再発行) locks the customer, the card credential and the active card,
then closes the open challenge and deactivates the card. A page that shows the card
challenge (``image_card_challenge_current``) takes no credential: it closes a challenge
left open on a deactivated card and creates one on the active card — an insert that
refers to the card, so it takes a key share of the card's row. An answer
(``image_card_check``) locks the card credential, then the open challenge and its card.
"""

from __future__ import annotations

import pytest

from security import cards
from security.errors import AuthFactorError
from security.models import ImageCard, ImageCardChallenge
from tests import factories
from tests.lockrace import race, writing
from tests.security import secondfactor

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_challenge_page_during_a_reissue_does_not_deadlock():
    """The challenge was left open on a card deactivated meanwhile (a page that created it
    while a reissue deactivated its card). The next page closes it and creates one on the
    active card, while staff reissue again: the reissue held the active card plain FOR
    UPDATE, so the page's insert waited for it, and the reissue then waited to close the
    challenge the page had closed — a deadlock (40P01), a 500 for one of them. The
    reissue now holds the card FOR NO KEY UPDATE (it changes no key)."""
    customer = secondfactor.customer_with_card()
    stale = cards.image_card_challenge_current(customer=customer)
    active = factories.card_replaced(customer, stale.card)  # the race's leftover

    outcomes = race(lambda: cards.image_card_issue(customer=customer, actor="staff-t", reason="紛失").pk,
                    lambda: cards.image_card_challenge_current(customer=customer).card_id,
                    pause_before=writing("security_imagecardchallenge"))
    assert outcomes["paused"], outcomes
    assert outcomes["second"] == ("ok", active.pk), outcomes
    assert outcomes["first"][0] == "ok", outcomes
    issued = ImageCard.objects.get(customer=customer, is_active=True)
    assert issued.pk == outcomes["first"][1]
    # nothing is left open on a card that no longer answers
    assert not ImageCardChallenge.objects.filter(customer=customer, closed_at__isnull=True).exists()
    assert cards.image_card_challenge_current(customer=customer).card_id == issued.pk


# --- image_card_check: its plain FOR UPDATE of the challenge's card closes no cycle ----------


def _answer(customer, challenge, answers):
    """The login's second factor: the check locks the card credential, then the open
    challenge and its card (plain FOR UPDATE, through select_related)."""
    def run():
        try:
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk, answers=answers, ip=None)
        except AuthFactorError as refused:
            return refused.message
        return "right"
    return run


@pytest.mark.parametrize("answer_first", [True, False])
def test_a_card_answer_and_a_reissue_queue_on_the_card_credential(answer_first):
    customer = secondfactor.customer_with_card()
    challenge = cards.image_card_challenge_current(customer=customer)
    answer = _answer(customer, challenge, secondfactor.right_answers(challenge))
    reissue = lambda: cards.image_card_issue(customer=customer, actor="staff-t", reason="紛失").pk  # noqa: E731
    if answer_first:  # the answer holds the challenge and its card, about to close it
        outcomes = race(answer, reissue, pause_before=writing("security_imagecardchallenge"))
        assert outcomes["first"] == ("ok", "right") and outcomes["second"][0] == "ok", outcomes
    else:  # the reissue holds the card, about to close the challenge the answer is for
        outcomes = race(reissue, answer, pause_before=writing("security_imagecardchallenge"))
        assert outcomes["first"][0] == "ok", outcomes
        # its challenge was closed by the reissue: not counted, the page shows the new card's
        assert outcomes["second"] == ("ok", cards.CARD_CHALLENGE_CHANGED), outcomes
    assert outcomes["paused"], outcomes


def test_a_card_answer_on_a_deactivated_card_and_a_challenge_page_do_not_deadlock():
    """The only card the check can hold while a page creates a challenge: a deactivated
    one, whose leftover challenge the page closes first — so it waits holding nothing."""
    customer = secondfactor.customer_with_card()
    stale = cards.image_card_challenge_current(customer=customer)
    active = factories.card_replaced(customer, stale.card)  # the race's leftover
    outcomes = race(_answer(customer, stale, secondfactor.right_answers(stale)),
                    lambda: cards.image_card_challenge_current(customer=customer).card_id,
                    pause_before=lambda sql, params: sql.startswith('INSERT INTO "security_auditevent"'))
    assert outcomes == {"paused": True, "first": ("ok", cards.CARD_CHALLENGE_CHANGED),
                        "second": ("ok", active.pk)}, outcomes
