"""One-time passwords from a software token (SEC-6, ワンタイムパスワード).

The key lives in django-otp's ``TOTPDevice`` (RFC 6238, 30-second steps, 6 digits, one
step of tolerance); the bank's own record (``OtpToken``) adds the serial number and the
customer's choice of OTP at login.

Verification does not call ``TOTPDevice.verify_token``: that method neither locks the
device row (two parallel requests could both accept one code) nor tells a reused code
from a wrong one, and its exponential throttle would compete with the bank's lockout
counter (SEC-8). Instead the device row is locked ``FOR UPDATE`` and the code is matched
with django-otp's own ``oath.TOTP``; a code is accepted only at a time step above the
device's ``last_t``, which is then advanced: a code is accepted once (SEC-6). Codes never
reach a log, an audit row or a URL (SEC-13).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import time
from urllib.parse import quote, urlencode

import segno
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Customer
from notifications.services import notice_enqueue

from .audit import audit_record
from .cards import CARD_LOCKED, card_refusal_label, image_card_challenge_close, image_card_check
from .errors import AuthFactorError
from .locks import customer_for_update
from .models import AuditEvent, Credential, ImageCardChallenge, OtpToken
from .selectors import credential_locked
from .services import credential_for_update, credential_register_failure, credential_register_success

logger = logging.getLogger(__name__)

OTP_ISSUER = "大阪厚生信金"

OTP_WRONG = "ワンタイムパスワードが正しくありません。ソフトウェアトークンに表示されている6桁の数字を入力してください。"
OTP_FORMAT = "ワンタイムパスワードは6桁の数字で入力してください。"
OTP_USED = "このワンタイムパスワードは使用済みです。次のパスワードが表示されるまでお待ちください。"
OTP_LOCKED = (
    "ワンタイムパスワードが所定の回数連続して誤って入力されたため、お取引がロックされています。"
    "ロックの解除には当金庫所定の手続きが必要です。お取引店またはお問い合わせ窓口までご連絡ください。"
)


class OtpLockedBefore(str):
    """OTP_LOCKED as ``otp_check`` says it when the credential was locked before this code
    came: the same words for the customer, but nothing was checked or counted — audited
    拒否 「ロック中」, as the login's OTP step audits a lock it finds, not 失敗 「ロック」, the
    row of the code that locked it (SEC-13). Equal to OTP_LOCKED, so every caller that
    tells a lock (``== OTP_LOCKED``) tells this one too."""


OTP_LOCKED_BEFORE = OtpLockedBefore(OTP_LOCKED)
OTP_SERIAL_WRONG = "シリアル番号が正しくありません。ソフトウェアトークンに表示されたシリアル番号を入力してください。"
OTP_ALREADY_ACTIVE = "ワンタイムパスワードは既に利用開始のお手続きが完了しています。"
OTP_NOT_ACTIVE = "ワンタイムパスワードの利用開始のお手続きがお済みではありません。"
OTP_ACTIVATION_REPLACED = (
    "この画面で表示した登録用のキー（QRコード）とシリアル番号は、その後に行われた利用開始のお手続きにより"
    "無効になりました。お手数ですが、利用開始のお手続きを最初からやり直してください。"
)


def otp_token_active(customer: Customer) -> OtpToken | None:
    return (OtpToken.objects.select_related("device")
            .filter(customer=customer, activated_at__isnull=False).first())


def _new_serial() -> str:
    return "CS" + "".join(secrets.choice("0123456789") for _ in range(10))


def otp_token_issue(*, customer: Customer) -> OtpToken:
    """The bank issues the customer a software token (guide: 当金庫所定の方法): a fresh
    TOTP key (from django-otp, ``os.urandom``) and serial number ``CS`` + 10 digits, on
    every call. A token issued before and not yet activated is deleted with its device:
    each identity check of 利用開始 gets its own key, bound to that activation session by
    the caller, so whoever passed the check once never learns the key the customer
    registers later (SEC-6). Serialised on the customer's row (parallel checks: the last
    one wins, each shown its own key). Raises AuthFactorError(OTP_ALREADY_ACTIVE)."""
    with transaction.atomic():
        customer_for_update(customer)  # the lock order (``locks``): the customer first
        pending = OtpToken.objects.select_for_update().filter(customer=customer).first()
        if pending is not None:
            if pending.is_active:
                raise AuthFactorError(OTP_ALREADY_ACTIVE)
            replaced_serial = pending.serial
            pending.delete()
            TOTPDevice.objects.filter(pk=pending.device_id).delete()
            logger.info("otp token replaced contract=%s serial=%s", customer.contract_id, replaced_serial)
        for _attempt in range(5):
            try:
                with transaction.atomic():  # a savepoint: a serial collision tries again
                    device = TOTPDevice.objects.create(user=customer.user, name="ソフトウェアトークン",
                                                       confirmed=False)
                    token = OtpToken.objects.create(customer=customer, device=device, serial=_new_serial())
            except IntegrityError:
                continue
            logger.info("otp token issued contract=%s serial=%s", customer.contract_id, token.serial)
            return token
        raise RuntimeError("could not allocate an OTP serial number")


def otp_token_pending_get(*, customer: Customer, token_id) -> OtpToken:
    """The token issued to this activation (its id is held in the activation session),
    if still pending. Raises AuthFactorError: OTP_ALREADY_ACTIVE when the customer has
    meanwhile activated a token, OTP_ACTIVATION_REPLACED when a later identity check
    replaced this one (its key is worthless and never shown again)."""
    token = (OtpToken.objects.select_related("device", "customer")
             .filter(pk=token_id if isinstance(token_id, int) else None, customer=customer,
                     activated_at__isnull=True).first())
    if token is not None:
        return token
    if otp_token_active(customer) is not None:
        raise AuthFactorError(OTP_ALREADY_ACTIVE)
    raise AuthFactorError(OTP_ACTIVATION_REPLACED)


def otp_activation_completed(*, customer: Customer, token_id) -> bool:
    """Whether the token issued to this activation (its id from the activation session)
    is the one now registered: a second submit of the 登録 page (a double click) meets
    the first one's result, not a replaced key (SEC-6, SEC-14)."""
    return OtpToken.objects.filter(pk=token_id if isinstance(token_id, int) else None,
                                   customer=customer, activated_at__isnull=False).exists()


def otp_secret_base32(token: OtpToken) -> str:
    """The key in base32 (what authenticator apps accept for manual entry)."""
    return base64.b32encode(token.device.bin_key).decode("ascii").rstrip("=")


def otp_config_uri(token: OtpToken) -> str:
    """``otpauth://totp/…`` for authenticator apps (Google Authenticator key URI format)."""
    label = quote(f"{OTP_ISSUER}:{token.customer.contract_id}")
    params = urlencode({"secret": otp_secret_base32(token), "issuer": OTP_ISSUER,
                        "algorithm": "SHA1", "digits": token.device.digits,
                        "period": token.device.step}, quote_via=quote)
    return f"otpauth://totp/{label}?{params}"


def otp_qr_svg(token: OtpToken) -> str:
    """The key URI as an inline SVG QR code (no data: URI, no inline script: CSP-safe)."""
    return segno.make(otp_config_uri(token), error="m").svg_inline(
        scale=4, border=4, omitsize=True, title="ワンタイムパスワード登録用QRコード")


def _match(device: TOTPDevice, code: str) -> tuple[int, int] | None:
    """(time step, drift) at which ``code`` is right now, ignoring ``last_t``; None if
    it matches no step within the tolerance."""
    if not re.fullmatch(rf"[0-9]{{{device.digits}}}", code or ""):
        return None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(code), device.tolerance):
        return None
    return totp.t(), totp.drift


def otp_check(*, customer: Customer, token: OtpToken, code: str, ip: str | None,
              consume: bool = True) -> str | None:
    """Check a code inside the caller's transaction (which must commit, so that the
    failure counts): locks the ``otp`` credential, then the device. Returns None when
    right (advancing ``last_t`` unless ``consume`` is False), else the Japanese message.
    A reused code answers OTP_USED and is not counted as a guess; a lock found before any
    check answers OTP_LOCKED_BEFORE, the code that locks it OTP_LOCKED."""
    credential = credential_for_update(customer, Credential.Kind.OTP)
    if credential.is_locked:
        return OTP_LOCKED_BEFORE  # nothing checked, nothing counted
    device = TOTPDevice.objects.select_for_update().get(pk=token.device_id)
    if not re.fullmatch(rf"[0-9]{{{device.digits}}}", code or ""):
        return OTP_FORMAT  # a typo, not a guess: not counted (the forms refuse it first)
    matched = _match(device, code)
    if matched is not None and matched[0] <= device.last_t:
        logger.info("otp code reused contract=%s", customer.contract_id)
        return OTP_USED
    if matched is None:
        just_locked = credential_register_failure(credential, ip=ip)
        logger.info("otp code wrong contract=%s failures=%s", customer.contract_id, credential.failures)
        return OTP_LOCKED if just_locked else OTP_WRONG
    credential_register_success(credential)
    if consume:
        device.last_t, device.drift = matched
        device.set_last_used_timestamp(commit=False)
        device.save(update_fields=["last_t", "drift", "last_used_at"])
    return None


def otp_verify(*, customer: Customer, code: str, ip: str | None, action: str = "step_up",
               summary: str = "") -> None:
    """Verify a code of the customer's active token in its own (durable) transaction,
    audit the decision and raise AuthFactorError (OTP_WRONG, OTP_USED, OTP_LOCKED,
    OTP_NOT_ACTIVE) after the failure is committed."""
    token = otp_token_active(customer)
    if token is None:
        raise AuthFactorError(OTP_NOT_ACTIVE, field="otp")
    with transaction.atomic(durable=True):
        error = otp_check(customer=customer, token=token, code=code, ip=ip)
        audit_record(action=action, customer=customer, ip=ip,
                     outcome=AuditEvent.Outcome.SUCCESS if error is None else otp_refusal_outcome(error),
                     summary=(f"ワンタイムパスワード {summary}" if error is None
                              else f"ワンタイムパスワード {otp_refusal_label(error)} {summary}").strip())
    if error is not None:
        raise AuthFactorError(error, field="otp", locked=error == OTP_LOCKED)


_FACTOR_LABELS = {"otp": "ワンタイムパスワード", "card": "画像認証"}


def otp_refusal_label(error: str) -> str:
    """The short Japanese word for the audit summary (取引履歴) of a refused code — at
    login, 利用開始 and every step-up alike (probe35 F5: the step-up said 認証誤り for a
    code it had told the customer was 使用済み). 「ロック中」 for a lock found before the
    code (as the login's OTP step says it), 「ロック」 for the code that locked it."""
    if isinstance(error, OtpLockedBefore):
        return "ロック中"
    return {OTP_WRONG: "誤り", OTP_USED: "使用済み", OTP_LOCKED: "ロック", OTP_FORMAT: "形式誤り"}.get(
        error, "拒否")


def otp_refusal_outcome(error: str) -> str:
    """拒否 for a code not checked as a guess (used already: it was right once; not 6
    digits; the OTP locked before it came) — nothing was counted; 失敗 for a wrong code,
    and for the wrong code that locked it."""
    return (AuditEvent.Outcome.REFUSED if isinstance(error, OtpLockedBefore) or error in (OTP_USED, OTP_FORMAT)
            else AuditEvent.Outcome.FAILURE)


def otp_activate(*, customer: Customer, token_id: int, serial: str, code: str,
                 required_at_login: bool, challenge_id: int | None, card_answers,
                 ip: str | None) -> OtpToken:
    """利用開始 (guide, ワンタイムパスワードご利用までの流れ 4): the serial number and a
    current code of the token issued to this activation (``token_id``), the choice of OTP
    at login, and the image-card challenge, all in one durable transaction. Each factor
    counts its own failures (card 3, OTP 5). Only when all are right: the code is consumed,
    the challenge closed, the device confirmed; audit ``otp_activate`` and a notice. A
    token replaced by a later identity check (``otp_token_issue``) is refused before
    anything is counted. Raises AuthFactorError.

    Locks (``locks``): the customer's row, then the card's credential and challenge, then
    the OTP credential and device; the token is written last."""
    token = otp_token_pending_get(customer=customer, token_id=token_id)
    if (serial or "").strip().upper() != token.serial:
        raise AuthFactorError(OTP_SERIAL_WRONG, field="serial")
    if credential_locked(customer, Credential.Kind.OTP):
        # a lock found before anything is checked (review35b): nothing checked or counted,
        # the card answer kept — 拒否 「ロック中」, as the login's OTP step audits it. Its own
        # transaction writes no credential, so CI315 (security 0022) has nothing to read it for.
        audit_record(action="otp_activate", customer=customer, ip=ip, outcome=AuditEvent.Outcome.REFUSED,
                     summary=f"{_FACTOR_LABELS['otp']}：{otp_refusal_label(OTP_LOCKED_BEFORE)}")
        raise AuthFactorError(OTP_LOCKED_BEFORE, field="otp", locked=True)
    errors: dict[str, str] = {}
    with transaction.atomic(durable=True):
        # The customer's row first: otp_token_issue replaces and otp_token_revoke deletes a
        # token only under it, so the token read here stays as read until the commit.
        customer_for_update(customer)
        if not OtpToken.objects.filter(pk=token.pk, activated_at__isnull=True).exists():
            raise AuthFactorError(OTP_ACTIVATION_REPLACED)
        card_error = image_card_check(customer=customer, challenge_id=challenge_id,
                                      answers=card_answers, ip=ip, close=False)
        # The code is consumed only when the card answer is right too (a code not accepted
        # may be typed again with the corrected card answer).
        otp_error = otp_check(customer=customer, token=token, code=code, ip=ip,
                              consume=card_error is None)
        if card_error:
            errors["card"] = card_error
        if otp_error:
            errors["otp"] = otp_error
        if not errors:
            challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
            image_card_challenge_close(challenge, reason=ImageCardChallenge.Closed.ANSWERED)
            TOTPDevice.objects.filter(pk=token.device_id).update(confirmed=True)
            token.required_at_login = required_at_login
            token.activated_at = timezone.now()
            token.save(update_fields=["required_at_login", "activated_at"])
            notice_enqueue(customer=customer, event="otp_activate", lines=[
                "ワンタイムパスワード（ソフトウェアトークン）の利用開始のお手続きが完了しました。",
                f"ログイン時のワンタイムパスワード認証：{'認証する' if required_at_login else '認証しない'}",
            ])
        audit_record(action="otp_activate", customer=customer, ip=ip,
                     outcome=AuditEvent.Outcome.SUCCESS if not errors else AuditEvent.Outcome.FAILURE,
                     summary=token.serial if not errors else " ".join(
                         f"{_FACTOR_LABELS.get(field, field)}："
                         f"{otp_refusal_label(message) if field == 'otp' else card_refusal_label(message)}"
                         for field, message in errors.items()))
    if errors:
        # Report the card first: its lock is the harsher one (3 tries).
        field, message = next(iter(errors.items()))
        raise AuthFactorError(message, field=field, errors=errors,
                              locked=message in (OTP_LOCKED, CARD_LOCKED))
    return token


def otp_login_setting_change(*, customer: Customer, required_at_login: bool, ip: str | None) -> None:
    """Change whether OTP is asked at login; the caller has passed step-up (SEC-7). Mailed
    like every security setting change: turning it off is what a session hijacker wants."""
    with transaction.atomic():
        updated = OtpToken.objects.filter(customer=customer, activated_at__isnull=False).update(
            required_at_login=required_at_login)
        if not updated:
            raise AuthFactorError(OTP_NOT_ACTIVE)
        audit_record(action="otp_login_setting", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary="ログイン時認証する" if required_at_login else "ログイン時認証しない", ip=ip)
        notice_enqueue(customer=customer, event="otp_login_setting", lines=[
            "ワンタイムパスワードのログイン時認証の設定を変更しました。",
            f"ログイン時のワンタイムパスワード認証：{'認証する' if required_at_login else '認証しない'}",
            "お心当たりのない場合は、すみやかに「IB取引中止」を行うか、当金庫までご連絡ください。",
        ])


def otp_token_revoke(*, customer: Customer, actor: str, reason: str = "") -> bool:
    """Staff: end the customer's software token (lost phone); the customer then uses the
    image card again and may start OTP anew. Returns False when there was none."""
    with transaction.atomic():
        # The step-up's order (``locks``) — the customer, the OTP credential, the device, then
        # the token — so a revoke racing the customer's OTP-confirmed operation or 利用開始
        # waits for it instead of deadlocking.
        customer_for_update(customer)
        credential_for_update(customer, Credential.Kind.OTP)
        device_id = OtpToken.objects.filter(customer=customer).values_list("device_id", flat=True).first()
        if device_id is None:
            return False
        list(TOTPDevice.objects.select_for_update().filter(pk=device_id))
        token = OtpToken.objects.select_for_update().filter(customer=customer, device_id=device_id).first()
        if token is None:
            return False
        token.delete()
        TOTPDevice.objects.filter(pk=device_id).delete()
        audit_record(action="otp_revoke", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary=reason[:100], actor=actor)
        notice_enqueue(customer=customer, event="otp_revoke", lines=[
            "ワンタイムパスワード（ソフトウェアトークン）のご利用を停止しました。",
            "お取引の認証には画像認証カードをご利用ください。",
        ])
    return True


def otp_current_code(token: OtpToken) -> str:
    """The code the token shows now. Development helper (``demo_secrets``) and tests only."""
    device = token.device
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"
