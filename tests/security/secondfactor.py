"""Helpers for second-factor tests: customers with a card, right/wrong answers, OTP codes."""

from __future__ import annotations

import time

import pyotp

from security import cards, otp
from security.models import ImageCardChallenge, OtpToken
from tests import factories


def customer_with_card(password: str = "Pass1234", *, password_is_initial: bool = False, **kwargs):
    customer = factories.customer(password=password, password_is_initial=password_is_initial, **kwargs)
    cards.image_card_issue(customer=customer)
    return customer


def right_answers(challenge: ImageCardChallenge) -> list[int]:
    card = challenge.card
    return [offered.index(card.layout[cell]) for cell, offered in zip(challenge.cells, challenge.candidates)]


def wrong_answers(challenge: ImageCardChallenge) -> list[int]:
    right = right_answers(challenge)
    return [right[0], (right[1] + 1) % len(challenge.candidates[1])]


def card_post(challenge: ImageCardChallenge, answers: list[int]) -> dict:
    return {"challenge": str(challenge.pk), "card_1": str(answers[0]), "card_2": str(answers[1])}


def totp_for(token: OtpToken) -> pyotp.TOTP:
    return pyotp.TOTP(otp.otp_secret_base32(token))


def code_at_next_step(token: OtpToken) -> str:
    """A valid code of a later 30-second step (accepted within the one-step tolerance),
    so a test can use a second fresh code without sleeping."""
    return totp_for(token).at(time.time() + 30)


def activate_otp(customer, *, required_at_login: bool = True) -> OtpToken:
    token = otp.otp_token_issue(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)
    otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial,
                     code=totp_for(token).now(),
                     required_at_login=required_at_login, challenge_id=challenge.pk,
                     card_answers=right_answers(challenge), ip="127.0.0.1")
    token.refresh_from_db()
    return token


def card_answers_refused(client, customer, url: str, fields: dict) -> ImageCardChallenge:
    """On a confirm page (``url``, its own ``fields`` posted with the answer): a wrong
    image-card answer is counted and audited and the same challenge asked again; an answer the
    locked rows would not take as it stands (another challenge's id: a page left stale by
    another tab) is judged by the form read first — refused, not counted. Either leaves the
    step-up unverified and unused and its challenge open (issue 14: the confirmations that
    check a shaped answer under their locks). Returns the challenge."""
    from security.models import AuditEvent, Credential, StepUp

    challenge = cards.image_card_challenge_current(customer=customer)
    response = client.post(url, {**fields, **card_post(challenge, wrong_answers(challenge))})
    assert response.status_code == 200
    assert "選択された認証用画像が正しくありません" in response.content.decode()
    assert f'value="{challenge.pk}"' in response.content.decode()  # the same challenge asked again
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 1
    assert AuditEvent.objects.filter(customer=customer, action="step_up", outcome="failure").count() == 1

    stale = {**card_post(challenge, right_answers(challenge)), "challenge": str(challenge.pk + 1000)}
    response = client.post(url, {**fields, **stale})
    assert response.status_code == 200
    assert cards.CARD_CHALLENGE_CHANGED in response.content.decode()
    assert Credential.objects.get(customer=customer, kind=Credential.Kind.IMAGE_CARD).failures == 1
    stepup = StepUp.objects.get(customer=customer, used_at__isnull=True)
    assert stepup.verified_at is None
    assert ImageCardChallenge.objects.get(pk=challenge.pk).closed_at is None
    return challenge
