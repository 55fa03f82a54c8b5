from __future__ import annotations

from accounts.models import Customer
from cosei_ib.queries import unique_or_none

from . import session as customer_session
from .models import ImageCardChallenge, StepUp


def login_next_stage(customer: Customer, *, passkey: bool = True) -> str:
    """Where a customer who gave the right password goes next: the forced change, then the
    passkey when the customer has one (SEC-16; ``passkey=False`` when they cannot use it on
    this device and may use another factor), then OTP when chosen."""
    from .passkeys import customer_has_passkey

    if customer.password_is_initial:
        return customer_session.STAGE_PASSWORD_CHANGE
    if passkey and customer_has_passkey(customer):
        return customer_session.STAGE_PASSKEY
    if customer_otp_required_at_login(customer):
        return customer_session.STAGE_OTP
    return customer_session.STAGE_COMPLETE


def customer_otp_required_at_login(customer: Customer) -> bool:
    """Whether the customer chose OTP at login (SEC-6); False until OTP is activated."""
    from .models import OtpToken

    return OtpToken.objects.filter(customer=customer, activated_at__isnull=False,
                                   required_at_login=True).exists()


def stepup_get_for_customer(customer: Customer, stepup_id) -> StepUp:
    """The customer's own pending operation; anybody else's (or an invalid id) is a 404."""
    from django.http import Http404

    from .stepup import _uuid

    stepup = unique_or_none(StepUp.objects.filter(pk=_uuid(stepup_id), customer=customer))
    if stepup is None:
        raise Http404
    return stepup


def image_card_challenge_get_for_customer(customer: Customer, challenge_id: int) -> ImageCardChallenge:
    """The customer's *open* challenge with this id, else 404: candidate images are served
    only for the challenge in front of that customer (the card layout never leaks)."""
    from django.http import Http404

    challenge = ImageCardChallenge.objects.filter(pk=challenge_id, customer=customer,
                                                  closed_at__isnull=True).first()
    if challenge is None:
        raise Http404
    return challenge
