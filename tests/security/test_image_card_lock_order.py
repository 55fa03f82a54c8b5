"""SEC-5, SEC-8: the image card's rows under concurrency (docs/security.md, "Lock order"),
real PostgreSQL and two connections (``lockrace``).

A reissue (staff's 再発行) locks the customer, the card credential and the active card,
then closes the open challenge and deactivates the card. A page that shows the card
challenge (``image_card_challenge_current``) takes no credential: it closes a challenge
left open on a deactivated card and creates one on the active card — an insert that
refers to the card, so it takes a key share of the card's row.
"""

from __future__ import annotations

import pytest

from security import cards
from security.models import ImageCard, ImageCardChallenge
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
    ImageCard.objects.filter(pk=stale.card_id).update(is_active=False)  # the race's leftover
    active = ImageCard.objects.create(customer=customer, layout=list(stale.card.layout))

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
