"""SEC-5 / SEC-8: image authentication cards — issue, print, sticky challenge, lockout."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from notifications.models import OutboxMessage
from security import cards, pictograms
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, ImageCard, ImageCardChallenge
from tests import factories
from tests.security.secondfactor import customer_with_card, right_answers, wrong_answers

pytestmark = pytest.mark.django_db


def test_catalogue_has_at_least_60_distinct_named_pictograms():
    assert len(pictograms.CATALOGUE) >= 60
    names = [p.name for p in pictograms.CATALOGUE.values()]
    assert len(set(names)) == len(names)
    assert "赤い丸" in names and "青い星" in names
    pngs = {pictograms.pictogram_png(code) for code in pictograms.CODES}
    assert len(pngs) == len(pictograms.CODES)  # every image differs
    assert pictograms.pictogram_png("red-circle") is pictograms.pictogram_png("red-circle")  # cached


def test_card_has_50_distinct_pictograms_and_cells_a1_to_e0():
    customer = customer_with_card()
    card = ImageCard.objects.get(customer=customer, is_active=True)
    assert len(card.layout) == 50 and len(set(card.layout)) == 50
    assert set(card.layout) <= set(pictograms.CODES)
    labels = cards.cell_labels()
    assert labels[0] == "A1" and labels[9] == "A0" and labels[10] == "B1" and labels[-1] == "E0"
    assert len(set(labels)) == 50
    other = customer_with_card()
    assert ImageCard.objects.get(customer=other).layout != card.layout  # drawn, not fixed


def test_issue_writes_audit_and_notice_and_reissue_deactivates_the_old_card():
    customer = customer_with_card(email="c@example.jp")
    first = ImageCard.objects.get(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)
    second = cards.image_card_issue(customer=customer, actor="staff01")
    first.refresh_from_db()
    challenge.refresh_from_db()
    assert not first.is_active and first.deactivated_at is not None
    assert second.is_active and second.issued_by == "staff01"
    assert challenge.closed_reason == ImageCardChallenge.Closed.REISSUED
    assert list(AuditEvent.objects.filter(customer=customer, action="card_issue")
                .values_list("summary", "actor")) == [("再発行", "staff01"), ("発行", "")]
    assert OutboxMessage.objects.filter(customer=customer, event="card_issue").count() == 2
    # The old card's answer no longer works against the new challenge.
    new_challenge = cards.image_card_challenge_current(customer=customer)
    assert new_challenge.card == second
    old_answers = [new_challenge.candidates[i].index(first.layout[cell])
                   if first.layout[cell] in new_challenge.candidates[i] else 0
                   for i, cell in enumerate(new_challenge.cells)]
    if old_answers != right_answers(new_challenge):
        with pytest.raises(AuthFactorError):
            cards.image_card_verify(customer=customer, challenge_id=new_challenge.pk,
                                    answers=old_answers, ip=None)


def test_render_png_and_pdf():
    customer = customer_with_card()
    card = cards.image_card_active(customer)
    png = cards.image_card_render_png(card)
    pdf = cards.image_card_render_pdf(card)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 2  # front and back


def test_challenge_has_two_distinct_cells_and_eight_candidates_with_the_right_one():
    customer = customer_with_card()
    challenge = cards.image_card_challenge_current(customer=customer)
    assert len(challenge.cells) == 2 and challenge.cells[0] != challenge.cells[1]
    for cell, offered in zip(challenge.cells, challenge.candidates):
        assert len(offered) == 8 and len(set(offered)) == 8
        assert challenge.card.layout[cell] in offered


def test_challenge_is_sticky_until_answered():
    customer = customer_with_card()
    first = cards.image_card_challenge_current(customer=customer)
    again = cards.image_card_challenge_current(customer=customer)
    assert (again.pk, again.cells, again.candidates) == (first.pk, first.cells, first.candidates)
    with pytest.raises(AuthFactorError):
        cards.image_card_verify(customer=customer, challenge_id=first.pk,
                                answers=wrong_answers(first), ip=None)
    assert cards.image_card_challenge_current(customer=customer).pk == first.pk  # still the same
    cards.image_card_verify(customer=customer, challenge_id=first.pk, answers=right_answers(first),
                            ip="10.0.0.1")
    first.refresh_from_db()
    assert first.closed_reason == ImageCardChallenge.Closed.ANSWERED
    assert cards.image_card_challenge_current(customer=customer).pk != first.pk
    credential = Credential.objects.get(customer=customer, kind="image_card")
    assert credential.failures == 0  # reset on success


def test_three_wrong_answers_lock_with_audit_and_mail():
    customer = customer_with_card(email="lock@example.jp")
    challenge = cards.image_card_challenge_current(customer=customer)
    messages = []
    for _ in range(3):
        with pytest.raises(AuthFactorError) as refused:
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk,
                                    answers=wrong_answers(challenge), ip="10.0.0.9")
        messages.append(refused.value.message)
    assert messages == [cards.CARD_WRONG, cards.CARD_WRONG, cards.CARD_LOCKED]
    credential = Credential.objects.get(customer=customer, kind="image_card")
    assert credential.failures == 3 and credential.is_locked
    lock = AuditEvent.objects.get(customer=customer, action="lockout")
    assert (lock.outcome, lock.summary, lock.client_ip) == ("refused", "画像認証", "10.0.0.9")
    assert OutboxMessage.objects.filter(customer=customer, event="lockout", to="lock@example.jp").exists()
    challenge.refresh_from_db()
    assert challenge.closed_reason == ImageCardChallenge.Closed.LOCKED
    # Even the right answer is refused now, and no new challenge is handed out.
    with pytest.raises(AuthFactorError) as refused:
        cards.image_card_verify(customer=customer, challenge_id=challenge.pk,
                                answers=right_answers(challenge), ip=None)
    assert refused.value.message == cards.CARD_LOCKED
    with pytest.raises(AuthFactorError):
        cards.image_card_challenge_current(customer=customer)


def test_stale_challenge_id_is_not_counted():
    customer = customer_with_card()
    challenge = cards.image_card_challenge_current(customer=customer)
    with pytest.raises(AuthFactorError) as refused:
        cards.image_card_verify(customer=customer, challenge_id=challenge.pk + 999,
                                answers=right_answers(challenge), ip=None)
    assert refused.value.message == cards.CARD_CHALLENGE_CHANGED
    assert Credential.objects.get(customer=customer, kind="image_card").failures == 0


def test_customer_without_a_card_is_told_so():
    customer = factories.customer()
    with pytest.raises(AuthFactorError) as refused:
        cards.image_card_challenge_current(customer=customer)
    assert refused.value.message == cards.CARD_MISSING


def test_demo_cards_ensure_is_idempotent(django_db_blocker):
    from accounts import demo

    for entry in demo.DEMO_CUSTOMERS[:2]:
        factories.customer(contract_id=entry.contract_id)
    assert cards.demo_cards_ensure() == 2
    assert cards.demo_cards_ensure() == 0
    assert ImageCard.objects.filter(is_active=True, customer__contract_id__in=[
        entry.contract_id for entry in demo.DEMO_CUSTOMERS]).count() == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_guesses_never_pass_the_threshold():
    customer = customer_with_card()
    challenge = cards.image_card_challenge_current(customer=customer)
    wrong = wrong_answers(challenge)
    results: list[str] = []
    barrier = threading.Barrier(10)

    def guess() -> None:
        try:
            barrier.wait()
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk, answers=wrong, ip=None)
            results.append("ok")
        except AuthFactorError as refused:
            results.append(refused.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    credential = Credential.objects.get(customer=customer, kind="image_card")
    assert credential.failures == 3 and credential.is_locked  # never more than the threshold
    assert sorted(results) == sorted([cards.CARD_WRONG] * 2 + [cards.CARD_LOCKED] * 8)
    assert AuditEvent.objects.filter(customer=customer, action="lockout").count() == 1
    with pytest.raises(AuthFactorError) as refused:  # locked: even the right answer fails
        cards.image_card_verify(customer=customer, challenge_id=challenge.pk,
                                answers=right_answers(challenge), ip=None)
    assert refused.value.message == cards.CARD_LOCKED


def test_a_cells_candidates_are_the_same_set_at_every_sighting():
    """Issue 7: intersecting two sightings of one cell narrowed 8 candidates to 2. The set
    is now fixed per card and cell (only the order changes), so comparing reveals nothing."""
    from django.utils import timezone

    customer = customer_with_card()
    card = ImageCard.objects.get(customer=customer, is_active=True)
    seen: dict[int, set[frozenset]] = {}
    positions: set[int] = set()
    for _ in range(60):
        challenge = cards.image_card_challenge_current(customer=customer)
        for cell, offered in zip(challenge.cells, challenge.candidates):
            assert len(offered) == cards.CANDIDATES_PER_CELL == len(set(offered))
            assert card.layout[cell] in offered
            seen.setdefault(cell, set()).add(frozenset(offered))
            positions.add(offered.index(card.layout[cell]))
        ImageCardChallenge.objects.filter(pk=challenge.pk).update(closed_at=timezone.now(),
                                                                  closed_reason="answered")
    assert all(len(sets) == 1 for sets in seen.values())  # one set per cell, at every sighting
    assert len(seen) > 30  # 60 challenges of 2 cells: most cells were seen, many twice
    # the decoys depend on the card: another card's same cell offers another set
    reissued = cards.image_card_issue(customer=customer)
    assert [cards.image_card_cell_candidates(reissued, cell)[1:] for cell in range(5)] != [
        cards.image_card_cell_candidates(card, cell)[1:] for cell in range(5)]
    # the order is shuffled per challenge: the right image's position tells nothing
    assert len(positions) > 1


def test_the_card_rows_lock_reads_what_the_orm_would():
    """Issue 14: ``_card_rows_for_update`` is SQL written out; it reads the card
    credential and the open challenge with its card as ``credential_for_update`` and the
    challenge's locked read did — every column, the JSON and the timestamps as the ORM
    loads them — with an open challenge, with none, with the challenge on a deactivated
    card, for a locked credential, and None before the credential has a row."""
    from django.db import transaction

    from security.services import credential_for_update

    def orm(customer):
        credential = Credential.objects.select_for_update().get(customer=customer, kind=Credential.Kind.IMAGE_CARD)
        challenge = (ImageCardChallenge.objects.select_for_update().select_related("card")
                     .filter(customer=customer, closed_at__isnull=True).first())
        return credential, challenge

    def values(instance, model):
        return [getattr(instance, field.attname) for field in model._meta.concrete_fields]

    def same(customer):
        with transaction.atomic():
            credential, challenge = cards._card_rows_for_update(customer)
            expected_credential, expected_challenge = orm(customer)
        assert values(credential, Credential) == values(expected_credential, Credential)
        assert (challenge is None) == (expected_challenge is None)
        if challenge is not None:
            assert values(challenge, ImageCardChallenge) == values(expected_challenge, ImageCardChallenge)
            assert values(challenge.card, ImageCard) == values(expected_challenge.card, ImageCard)
            assert challenge.card.layout[challenge.cells[0]] in challenge.candidates[0]
        return challenge

    with transaction.atomic():
        assert cards._card_rows_for_update(factories.customer()) is None  # no credential row yet
    customer = customer_with_card()
    with transaction.atomic():
        credential_for_update(customer, Credential.Kind.IMAGE_CARD)
    assert same(customer) is None  # no challenge open
    challenge = cards.image_card_challenge_current(customer=customer)
    assert same(customer).pk == challenge.pk
    factories.card_replaced(customer, challenge.card)
    assert same(customer).card.is_active is False  # left open on a deactivated card
    challenge = cards.image_card_challenge_current(customer=customer)  # on the active card
    assert same(customer).pk == challenge.pk
    for _ in range(3):  # the same (sticky) challenge, until the lockout closes it
        with pytest.raises(AuthFactorError):
            cards.image_card_verify(customer=customer, challenge_id=challenge.pk,
                                    answers=wrong_answers(challenge), ip=None)
    with transaction.atomic():
        credential, _challenge = cards._card_rows_for_update(customer)
    assert credential.is_locked and credential.locked_at is not None
    same(customer)


def test_a_challenge_is_closed_as_the_orms_update_closed_it():
    """Issue 14: ``image_card_challenge_close`` is SQL written out; it closes the open
    challenge with its time and reason, as the ORM's UPDATE did, and leaves a closed one
    (another request's close) as it was."""
    from django.utils import timezone

    customer = customer_with_card()
    challenge = cards.image_card_challenge_current(customer=customer)
    before = timezone.now()
    cards.image_card_challenge_close(challenge, reason=ImageCardChallenge.Closed.ANSWERED)
    closed = ImageCardChallenge.objects.get(pk=challenge.pk)
    assert closed.closed_reason == ImageCardChallenge.Closed.ANSWERED and closed.closed_at >= before
    cards.image_card_challenge_close(challenge, reason=ImageCardChallenge.Closed.LOCKED)
    again = ImageCardChallenge.objects.get(pk=challenge.pk)
    assert (again.closed_at, again.closed_reason) == (closed.closed_at, ImageCardChallenge.Closed.ANSWERED)
    assert cards.image_card_challenge_current(customer=customer).pk != challenge.pk  # a new one opens
