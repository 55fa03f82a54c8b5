from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min, Q

from accounts.models import Customer
from cosei_ib.queries import unique_or_none

from . import session as customer_session
from .models import AuditEvent, ImageCardChallenge, StepUp


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


def credential_locked(customer: Customer, kind: str) -> bool:
    """Whether the customer's ``kind`` credential is locked now (a read, no row lock)."""
    from .models import Credential

    return Credential.objects.filter(customer=customer, kind=kind, locked_at__isnull=False).exists()


def stepup_get_for_customer(customer: Customer, stepup_id) -> StepUp:
    """The customer's own pending operation; anybody else's (or an invalid id) is a 404."""
    from django.http import Http404

    from .stepup import _uuid

    stepup = unique_or_none(StepUp.objects.filter(pk=_uuid(stepup_id), customer=customer))
    if stepup is None:
        raise Http404
    return stepup


def stepup_used_get_for_customer(customer: Customer, stepup_id, *, kinds: Collection[str]) -> StepUp | None:
    """The customer's step-up ``stepup_id`` of one of ``kinds`` whose operation executed
    (``used_at`` is set only in the transaction of a success), else None — for anybody
    else's, another kind, an unused or an invalid id alike."""
    from .stepup import _uuid

    key = _uuid(stepup_id)
    if key is None or not kinds:
        return None
    return unique_or_none(StepUp.objects.filter(pk=key, customer=customer, kind__in=kinds,
                                                used_at__isnull=False))


def image_card_challenge_get_for_customer(customer: Customer, challenge_id: int) -> ImageCardChallenge:
    """The customer's *open* challenge with this id, else 404: candidate images are served
    only for the challenge in front of that customer (the card layout never leaks)."""
    from django.http import Http404

    challenge = ImageCardChallenge.objects.filter(pk=challenge_id, customer=customer,
                                                  closed_at__isnull=True).first()
    if challenge is None:
        raise Http404
    return challenge


# --- password spraying (SEC-8's blind spot) ------------------------------------------------

# The audit actions of the two doors that check a contract ID with its login password:
# the login and the OTP activation's identity check (SEC-1, SEC-6).
PASSWORD_CHECK_ACTIONS = ("login", "otp_activate_identify")


@dataclass(frozen=True)
class LoginSpraySource:
    """One client address that failed password checks against many contract IDs."""

    client_ip: str
    failures: int  # failed or refused password checks from the address in the window
    contract_ids: list[str]  # distinct IDs tried (known, or the digits typed for an unknown one)
    first_at: dt.datetime
    last_at: dt.datetime
    # contracts whose password was accepted from the address in the window — the
    # spray may have found one (a 'refused' right password on a locked contract included)
    accepted_contract_ids: list[str]


def _password_check_rows(since: dt.datetime):
    """(the failed, the accepted) password checks since ``since``.
    A 'refused' row of a known contract is the right password on a locked or suspended
    contract (``login_authenticate``): failed as a login, but a hit for a sprayer. The
    outside-hours refusal (no contract attached) checked no password and is no attempt."""
    checks = AuditEvent.objects.filter(action__in=PASSWORD_CHECK_ACTIONS, created_at__gte=since)
    right_but_refused = Q(outcome=AuditEvent.Outcome.REFUSED, customer__isnull=False)
    failed = checks.filter(Q(outcome=AuditEvent.Outcome.FAILURE) | right_but_refused)
    accepted = checks.filter(Q(outcome=AuditEvent.Outcome.SUCCESS) | right_but_refused)
    return failed, accepted


def login_spray_sources(*, since: dt.datetime, threshold: int) -> list[LoginSpraySource]:
    """Client addresses whose failed password checks since ``since`` name at least
    ``threshold`` distinct contract IDs — one password tried against many contracts,
    which the per-contract lockout (SEC-8: 5 in a row on *one* contract) never sees.
    Reads the audit rows only (SEC-13: they hold no password); rows without an address
    cannot be attributed and are left out (``login_failures_without_address`` counts
    them). Most distinct IDs first."""
    failed, accepted = _password_check_rows(since)
    known_id = ~Q(contract_id="")
    sources = (failed.filter(client_ip__isnull=False).values("client_ip")
               .annotate(failures=Count("id"),
                         distinct_ids=Count("contract_id", distinct=True, filter=known_id),
                         first_at=Min("created_at"), last_at=Max("created_at"))
               .filter(distinct_ids__gte=threshold)
               .order_by("-distinct_ids", "-failures", "client_ip"))
    return [LoginSpraySource(client_ip=source["client_ip"], failures=source["failures"],
                             contract_ids=_contract_ids(failed, source["client_ip"]),
                             first_at=source["first_at"], last_at=source["last_at"],
                             accepted_contract_ids=_contract_ids(accepted, source["client_ip"]))
            for source in sources]


@dataclass(frozen=True)
class LoginFailureSpread:
    """Failed password checks in a window over all addresses together: a spray spread
    over many addresses (a botnet) stays under the per-address threshold but not here."""

    contract_ids: int  # distinct contract IDs with a failure
    addresses: int  # distinct client addresses they came from
    failures: int


def login_failure_spread(*, since: dt.datetime) -> LoginFailureSpread:
    failed, _accepted = _password_check_rows(since)
    spread = failed.aggregate(contract_ids=Count("contract_id", distinct=True, filter=~Q(contract_id="")),
                              addresses=Count("client_ip", distinct=True), failures=Count("id"))
    return LoginFailureSpread(**spread)


def _contract_ids(rows, address: str) -> list[str]:
    return sorted(set(rows.filter(client_ip=address).exclude(contract_id="")
                      .values_list("contract_id", flat=True)))


def login_failures_without_address(*, since: dt.datetime) -> int:
    """Failed password checks since ``since`` that have no client address: they cannot
    be attributed to a source (a wrong SECURITY_TRUSTED_PROXY_COUNT hides sprayers)."""
    failed, _accepted = _password_check_rows(since)
    return failed.filter(client_ip__isnull=True).count()


def audit_rows_dated_apart(*, minutes: int, since: dt.datetime | None = None) -> list[AuditEvent]:
    """Audit rows (recorded since ``since``, if given) whose 日時 differs from the
    database's ``recorded_at`` by more than ``minutes`` (rows written before security 0009
    have none and are not judged), oldest first."""
    apart = dt.timedelta(minutes=minutes)
    drift = ExpressionWrapper(F("created_at") - F("recorded_at"), output_field=DurationField())
    recorded = Q(recorded_at__gte=since) if since is not None else Q(recorded_at__isnull=False)
    return list(AuditEvent.objects.filter(recorded).annotate(drift=drift)
                .filter(Q(drift__gt=apart) | Q(drift__lt=-apart)).order_by("recorded_at", "id"))
