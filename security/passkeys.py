"""Passkeys (SEC-16): a phishing-resistant second factor for login and for every step-up.

WebAuthn through py_webauthn (``webauthn``): user verification required, attestation
none, the relying party and the accepted origins from settings. Every ceremony has its
own challenge row, used once (a conditional UPDATE). For a step-up the challenge is
SHA-256(the pending operation's content hash ‖ a server nonce), so the signed assertion is
bound to exactly what the customer confirmed (SEC-14) and cannot be replayed for another
operation. Failures count toward the passkey credential's lock like the other factors
(SEC-8). A customer may make the passkey the only second factor (``passkey_only``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.models import Customer
from notifications.services import notice_enqueue

from .audit import audit_record
from .errors import AuthFactorError
from .locks import customer_for_update
from .models import AuditEvent, Credential, Passkey, StepUp, WebAuthnChallenge
from .otp import otp_token_active
from .services import credential_for_update, credential_register_failure, credential_register_success

logger = logging.getLogger(__name__)

CHALLENGE_SECONDS = 5 * 60
MAX_RESPONSE_LENGTH = 16_000  # a WebAuthn response is a few kB; anything longer is refused

PASSKEY_WRONG = "パスキーによる認証ができませんでした。もう一度お試しください。"
PASSKEY_EXPIRED = "パスキーの認証の有効時間が過ぎたか、既に使われています。もう一度お試しください。"
PASSKEY_LOCKED = (
    "パスキーによる認証が所定の回数連続して失敗したため、お取引がロックされています。"
    "ロックの解除には当金庫所定の手続きが必要です。お取引店またはお問い合わせ窓口までご連絡ください。"
)
PASSKEY_REGISTER_FAILED = "パスキーを登録できませんでした。もう一度お試しください。"
PASSKEY_ALREADY_REGISTERED = "このパスキーは既に登録されています。"
PASSKEY_LIMIT = "パスキーは{limit}件まで登録できます。不要なパスキーを削除してから登録してください。"
PASSKEY_NONE_FOR_ONLY = "「パスキーでのみログイン」にするには、先にパスキーを登録してください。"
PASSKEY_WRONG_ADDRESS = (
    "パスキーはこのアドレスではご利用いただけません。"
    "https://{rp_id}/ （開発環境では http://localhost:ポート番号/）からご利用ください。"
)


class PasskeyError(AuthFactorError):
    pass


# --- where passkeys work -------------------------------------------------------------------

def passkey_origins(request) -> list[str]:
    """The origins an assertion may come from. Production: settings.WEBAUTHN_ORIGINS.
    Development and tests: the request's own origin, when its host is the RP ID."""
    if settings.WEBAUTHN_ORIGINS:
        return list(settings.WEBAUTHN_ORIGINS)
    host = request.get_host()
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if hostname != settings.WEBAUTHN_RP_ID:
        return []
    return [f"{request.scheme}://{host}"]


def passkey_address_problem(request) -> str:
    return "" if passkey_origins(request) else PASSKEY_WRONG_ADDRESS.format(rp_id=settings.WEBAUTHN_RP_ID)


def customer_has_passkey(customer: Customer) -> bool:
    return Passkey.objects.filter(customer=customer).exists()


def _user_handle(customer: Customer) -> bytes:
    """The WebAuthn user id: stable, opaque, no personal data (WebAuthn §14.6.1)."""
    return hashlib.sha256(f"cosei-ib-customer:{customer.pk}".encode()).digest()


def _descriptors(customer: Customer) -> list[PublicKeyCredentialDescriptor]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports if t in known] or None,
        )
        for passkey in Passkey.objects.filter(customer=customer)
    ]


def stepup_challenge(content_hash: str, nonce: bytes) -> bytes:
    """The step-up's WebAuthn challenge: bound to the confirmed content."""
    return hashlib.sha256(bytes.fromhex(content_hash) + nonce).digest()


def _challenge_create(*, customer: Customer, purpose: str, stepup: StepUp | None = None,
                      name: str = "") -> WebAuthnChallenge:
    nonce = secrets.token_bytes(32)
    challenge = stepup_challenge(stepup.content_hash, nonce) if stepup is not None else nonce
    return WebAuthnChallenge.objects.create(
        customer=customer, purpose=purpose, nonce=nonce, challenge=challenge, stepup=stepup,
        name=name, expires_at=timezone.now() + dt.timedelta(seconds=CHALLENGE_SECONDS),
    )


def _challenge_consume(*, customer: Customer, purpose: str, challenge: bytes,
                       stepup: StepUp | None = None) -> WebAuthnChallenge | None:
    """Mark the challenge used, once; None when unknown, someone else's, for another
    purpose or operation, expired or used before (a replay)."""
    now = timezone.now()
    rows = WebAuthnChallenge.objects.filter(
        customer=customer, purpose=purpose, challenge=challenge, stepup=stepup,
        used_at__isnull=True, expires_at__gt=now,
    )
    if rows.update(used_at=now) != 1:
        return None
    return WebAuthnChallenge.objects.get(customer=customer, challenge=challenge)


def _parse(response_json: str) -> tuple[dict, bytes, bytes]:
    """The response as a dict, its credential id and the challenge the browser signed.
    Raises ValueError on anything malformed."""
    if not response_json or len(response_json) > MAX_RESPONSE_LENGTH or "\x00" in response_json:
        raise ValueError("no or oversized response")
    data = json.loads(response_json)
    client_data = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
    return data, base64url_to_bytes(data["rawId"]), base64url_to_bytes(client_data["challenge"])


# --- registration --------------------------------------------------------------------------

def passkey_registration_authorise(*, customer: Customer, name: str) -> WebAuthnChallenge:
    """After the step-up (run inside its transaction): allow one registration ceremony for
    ``name`` within CHALLENGE_SECONDS. Refuses a sixth passkey."""
    customer_for_update(customer)  # the count holds until the commit (passkey_register)
    if Passkey.objects.filter(customer=customer).count() >= settings.PASSKEYS_PER_CUSTOMER:
        raise PasskeyError(PASSKEY_LIMIT.format(limit=settings.PASSKEYS_PER_CUSTOMER))
    return _challenge_create(customer=customer, purpose=WebAuthnChallenge.Purpose.REGISTER, name=name)


def passkey_registration_options(*, customer: Customer, registration: WebAuthnChallenge) -> str:
    options = generate_registration_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=_user_handle(customer),
        user_name=customer.contract_id,
        user_display_name=customer.name_kanji,
        challenge=bytes(registration.challenge),
        timeout=CHALLENGE_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(customer),
    )
    return options_to_json(options)


def passkey_registration_pending(*, customer: Customer, registration_id) -> WebAuthnChallenge | None:
    try:
        key = uuid.UUID(str(registration_id))
    except ValueError:
        return None
    return WebAuthnChallenge.objects.filter(
        pk=key, customer=customer, purpose=WebAuthnChallenge.Purpose.REGISTER,
        used_at__isnull=True, expires_at__gt=timezone.now(),
    ).first()


def passkey_registration_latest(*, customer: Customer, name: str) -> WebAuthnChallenge | None:
    """The customer's newest registration ceremony for ``name`` still open (the one a
    step-up just authorised, found by the other request of a double submit)."""
    return WebAuthnChallenge.objects.filter(
        customer=customer, purpose=WebAuthnChallenge.Purpose.REGISTER, name=name,
        used_at__isnull=True, expires_at__gt=timezone.now(),
    ).order_by("-created_at").first()


def passkey_registered_since(*, customer: Customer, name: str, since) -> Passkey | None:
    """The customer's passkey ``name`` registered at or after ``since`` (the step-up that
    authorised its ceremony), or None."""
    return (Passkey.objects.filter(customer=customer, name=name, created_at__gte=since)
            .order_by("-created_at").first())


def passkey_register(*, customer: Customer, response_json: str, origins: list[str],
                     ip: str | None) -> Passkey:
    """Verify a registration response against its (single-use) challenge and store the
    passkey, with an audit row and a notice. Raises PasskeyError. Locks the customer's row
    before using the challenge (``locks``); the count of passkeys is read under it."""
    try:
        with transaction.atomic():
            customer_for_update(customer)
            data, _credential_id, challenge = _parse(response_json)
            registration = _challenge_consume(customer=customer, challenge=challenge,
                                              purpose=WebAuthnChallenge.Purpose.REGISTER)
            if registration is None:
                raise PasskeyError(PASSKEY_EXPIRED)
            verified = verify_registration_response(
                credential=data, expected_challenge=bytes(registration.challenge),
                expected_rp_id=settings.WEBAUTHN_RP_ID, expected_origin=origins,
                require_user_verification=True,
            )
            if Passkey.objects.filter(customer=customer).count() >= settings.PASSKEYS_PER_CUSTOMER:
                raise PasskeyError(PASSKEY_LIMIT.format(limit=settings.PASSKEYS_PER_CUSTOMER))
            transports = data.get("response", {}).get("transports") or []
            passkey = Passkey.objects.create(
                customer=customer, name=registration.name, credential_id=verified.credential_id,
                public_key=verified.credential_public_key, sign_count=verified.sign_count,
                transports=[str(t)[:16] for t in transports if isinstance(t, str)][:8],
            )
            audit_record(action="passkey_register", outcome=AuditEvent.Outcome.SUCCESS,
                         customer=customer, summary=passkey.name, ip=ip)
            notice_enqueue(customer=customer, event="passkey_add", lines=[
                f"パスキー「{passkey.name}」を登録しました。",
                "以後、ログインとお取引の認証にこのパスキーをご利用いただけます。",
            ])
            return passkey
    except PasskeyError as refused:
        reason = refused.message
    except IntegrityError:
        reason = PASSKEY_ALREADY_REGISTERED
    except Exception as invalid:  # noqa: BLE001 - py_webauthn's and json's errors alike
        logger.info("passkey registration refused contract=%s: %s", customer.contract_id, invalid)
        reason = PASSKEY_REGISTER_FAILED
    audit_record(action="passkey_register", outcome=AuditEvent.Outcome.FAILURE, customer=customer,
                 summary=reason[:60], ip=ip)
    raise PasskeyError(reason)


# --- authentication (login and step-up) ----------------------------------------------------

def passkey_authentication_options(*, customer: Customer, stepup: StepUp | None = None) -> str:
    purpose = WebAuthnChallenge.Purpose.STEP_UP if stepup is not None else WebAuthnChallenge.Purpose.LOGIN
    challenge = _challenge_create(customer=customer, purpose=purpose, stepup=stepup)
    options = generate_authentication_options(
        rp_id=settings.WEBAUTHN_RP_ID,
        challenge=bytes(challenge.challenge),
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=_descriptors(customer),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def passkey_check(*, customer: Customer, response_json: str, origins: list[str], ip: str | None,
                  stepup: StepUp | None = None) -> str | None:
    """Check an assertion inside the caller's transaction (which must commit, so that a
    failure counts): locks the passkey credential first (SEC-8). Returns None when right,
    else the Japanese message. Refused: a malformed response, a challenge that is unknown,
    used, expired or for another operation (a replay), a passkey of somebody else, a
    wrong origin or RP ID, no user verification, a sign count that went backwards."""
    credential = credential_for_update(customer, Credential.Kind.PASSKEY)
    if credential.is_locked:
        return PASSKEY_LOCKED
    purpose = WebAuthnChallenge.Purpose.STEP_UP if stepup is not None else WebAuthnChallenge.Purpose.LOGIN
    try:
        data, credential_id, signed_challenge = _parse(response_json)
        challenge = _challenge_consume(customer=customer, purpose=purpose, challenge=signed_challenge,
                                       stepup=stepup)
        if challenge is None:
            raise ValueError("unknown, used or expired challenge")
        if stepup is not None and stepup_challenge(stepup.content_hash, bytes(challenge.nonce)) != signed_challenge:
            raise ValueError("challenge not bound to this operation")
        passkey = (Passkey.objects.select_for_update()
                   .filter(customer=customer, credential_id=credential_id).first())
        if passkey is None:
            raise ValueError("not one of this customer's passkeys")
        verified = verify_authentication_response(
            credential=data, expected_challenge=signed_challenge,
            expected_rp_id=settings.WEBAUTHN_RP_ID, expected_origin=origins,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count, require_user_verification=True,
        )
    except Exception as invalid:  # noqa: BLE001 - py_webauthn's, json's and our own alike
        logger.info("passkey assertion refused contract=%s: %s", customer.contract_id, invalid)
        just_locked = credential_register_failure(credential, ip=ip)
        return PASSKEY_LOCKED if just_locked else PASSKEY_WRONG
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = timezone.now()
    passkey.save(update_fields=["sign_count", "last_used_at"])
    credential_register_success(credential)
    return None


def passkey_verify_login(*, customer: Customer, response_json: str, origins: list[str],
                         ip: str | None) -> None:
    """The login's passkey step, in its own durable transaction (a failure is counted and
    audited although this raises PasskeyError)."""
    with transaction.atomic(durable=True):
        error = passkey_check(customer=customer, response_json=response_json, origins=origins, ip=ip)
        audit_record(action="login_passkey", customer=customer, ip=ip,
                     outcome=AuditEvent.Outcome.SUCCESS if error is None else AuditEvent.Outcome.FAILURE,
                     summary="" if error is None else ("ロック" if error == PASSKEY_LOCKED else "認証誤り"))
    if error is not None:
        raise PasskeyError(error, field="passkey", locked=error == PASSKEY_LOCKED)


# --- settings ------------------------------------------------------------------------------

def passkey_delete(*, customer: Customer, passkey_id: int, ip: str | None) -> None:
    """Delete one of the customer's passkeys (after a step-up). Deleting the last one
    also ends 「パスキーでのみログイン」 (it would otherwise lock the customer out)."""
    # the customer's row first (``locks``): 「パスキーでのみログイン」 as it is now, not as this
    # request loaded it (another tab may have set it since), and no set racing this delete.
    # NO KEY: a passkey login holding this passkey's row still inserts its audit row (its
    # key share on the customer) and finishes; FOR UPDATE waited for it both ways (deadlock)
    passkey_only = customer_for_update(customer).passkey_only
    passkey = Passkey.objects.select_for_update().filter(customer=customer, pk=passkey_id).first()
    if passkey is None:
        raise PasskeyError("このパスキーは既に削除されています。")
    passkey.delete()
    summary = passkey.name
    if not Passkey.objects.filter(customer=customer).exists() and passkey_only:
        Customer.objects.filter(pk=customer.pk).update(passkey_only=False)
        customer.passkey_only = False
        summary += "（パスキーでのみログインを解除）"
    audit_record(action="passkey_delete", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                 summary=summary, ip=ip)
    notice_enqueue(customer=customer, event="passkey_remove", lines=[
        f"パスキー「{passkey.name}」を削除しました。",
    ])


def passkey_only_set(*, customer: Customer, enabled: bool, ip: str | None) -> None:
    """Turn 「パスキーでのみログイン」 on (a passkey must exist) or off (after a step-up)."""
    customer_for_update(customer)  # serialised with passkey_delete
    if enabled and not customer_has_passkey(customer):
        raise PasskeyError(PASSKEY_NONE_FOR_ONLY)
    Customer.objects.filter(pk=customer.pk).update(passkey_only=enabled)
    customer.passkey_only = enabled
    state = "利用する" if enabled else "利用しない"
    audit_record(action="passkey_only", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                 summary=state, ip=ip)
    notice_enqueue(customer=customer, event="passkey_only", lines=[
        f"「パスキーでのみログイン」を「{state}」に変更しました。",
        ("以後、ログインとお取引の認証はパスキーでのみ行えます。" if enabled
         else "以後、ログインとお取引の認証に画像認証カード・ワンタイムパスワードもご利用いただけます。"),
    ])


def passkeys_staff_reset(*, customer: Customer, reason: str, actor: str) -> int:
    """Branch staff, for a customer who lost every passkey (as for a lost card): delete all
    passkeys and end 「パスキーでのみログイン」; audited with the reason, mailed. The
    customer's row first (``locks``), as the customer's own deletion after a step-up."""
    with transaction.atomic():
        customer_for_update(customer)
        count, _ = Passkey.objects.filter(customer=customer).delete()
        Customer.objects.filter(pk=customer.pk).update(passkey_only=False)
        audit_record(action="passkey_reset", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary=f"{count}件 理由：{reason}", actor=actor)
        notice_enqueue(customer=customer, event="passkey_remove", lines=[
            "お申し出により、登録されていたパスキーをすべて削除しました。",
            "「パスキーでのみログイン」は解除されています。",
            _login_without_passkey(customer),
            "パスキーは、ログイン後に各種設定の「パスキー」から改めて登録できます。",
        ], context={"staff_reset": True})
    return count


def _login_without_passkey(customer: Customer) -> str:
    """The staff reset's mail (walk33 F6): how the customer logs in and confirms now, by the
    factors the customer has (the mail pointed to the passkey list staff had just emptied)."""
    token = otp_token_active(customer)
    if token is None:
        return "今後は、ログインパスワードでログインし、お取引の認証には画像認証カードをご利用ください。"
    if token.required_at_login:
        return "今後は、ログインパスワードとワンタイムパスワードでログインし、お取引の認証にもワンタイムパスワードをご利用ください。"
    return "今後は、ログインパスワードでログインし、お取引の認証にはワンタイムパスワードをご利用ください。"
