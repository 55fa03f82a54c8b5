"""Step-up authorisation of one pending operation (SEC-7, SEC-14, 取引認証).

What the customer confirmed is what executes:

1. ``stepup_begin`` holds the pending operation on the server (kind + exact content as
   JSON + its SHA-256) and fixes the method: the passkey when the customer has one
   (SEC-16; the assertion's challenge is derived from the content hash), else OTP when
   the customer has activated a software token, else the image card (SEC-6: OTP replaces
   the card for transactions).
2. ``stepup_verify`` checks the answer (image-card challenge or OTP, counting failures
   toward the lockout) *and* that the content the caller is about to execute hashes to
   what was confirmed; it expires after ``STEPUP_SECONDS``.
3. ``stepup_consume`` marks it used with one conditional UPDATE (``used_at IS NULL``)
   in the caller's transaction, next to the operation itself: a replayed or
   double-submitted confirmation executes nothing.

Usage in a view (confirm page POST)::

    form = StepUpForm(request.POST, customer=request.customer)
    if form.is_valid():
        try:
            stepup_verify(customer=request.customer, stepup_id=stepup.id, content=pending,
                          ip=client_ip(request), **form.answer())
            with transaction.atomic():
                stepup_consume(customer=request.customer, stepup_id=stepup.id, content=pending)
                do_the_operation(...)
        except (StepUpError, AuthFactorError) as refused:
            form.add_refusal(refused)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer

from .audit import ACTION_LABELS, audit_record
from .cards import CARD_LOCKED, image_card_challenge_current, image_card_check
from .errors import AuthFactorError
from .models import AuditEvent, StepUp
from .otp import OTP_LOCKED, otp_check, otp_token_active
from .passkeys import PASSKEY_LOCKED, customer_has_passkey, passkey_check

STEPUP_SECONDS = getattr(settings, "SECURITY_STEPUP_SECONDS", 10 * 60)

STEPUP_NOT_FOUND = "お取引の確認情報が見つかりません。最初から操作をやり直してください。"
STEPUP_EXPIRED = "確認画面の有効時間が過ぎました。お手数ですが、最初から操作をやり直してください。"
STEPUP_USED = "このお取引は既に処理されています。二重に実行されることはありません。"
STEPUP_CONTENT_CHANGED = "確認した内容と実行しようとした内容が異なるため、お取引を中止しました。最初から操作をやり直してください。"
STEPUP_METHOD_CHANGED = "認証方法が変更されたため、最初から操作をやり直してください。"
STEPUP_NOT_VERIFIED = "認証が完了していません。認証用画像またはワンタイムパスワードを入力してください。"


class StepUpError(AuthFactorError):
    """A refusal about the pending operation itself (not a wrong answer)."""


_REFUSAL_LABELS = {
    STEPUP_NOT_FOUND: "確認情報なし", STEPUP_EXPIRED: "有効時間切れ", STEPUP_USED: "処理済み",
    STEPUP_CONTENT_CHANGED: "内容不一致", STEPUP_METHOD_CHANGED: "認証方法変更",
    STEPUP_NOT_VERIFIED: "未認証",
}


def _refusal_label(error: AuthFactorError) -> str:
    """The short Japanese word for the audit summary (取引履歴), never the answer."""
    if isinstance(error, StepUpError):
        return _REFUSAL_LABELS.get(error.message, "拒否")
    return "ロック" if error.locked else "認証誤り"


def content_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON of ``content`` (sorted keys, no whitespace)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(content: dict) -> dict:
    """The content as stored in JSON (dates, Decimals … become strings)."""
    return json.loads(json.dumps(content, cls=DjangoJSONEncoder))


def stepup_guide_method(customer: Customer) -> str:
    """The guide's factor: OTP once activated, else the image card (SEC-6)."""
    return StepUp.Method.OTP if otp_token_active(customer) is not None else StepUp.Method.IMAGE_CARD


def stepup_method(customer: Customer) -> str:
    """The factor a new step-up asks for: the passkey when the customer has one (SEC-16),
    else the guide's factor."""
    return StepUp.Method.PASSKEY if customer_has_passkey(customer) else stepup_guide_method(customer)


def stepup_methods_allowed(customer: Customer) -> set[str]:
    """With 「パスキーでのみログイン」 only the passkey; otherwise the guide's factor, and
    the passkey when the customer has one."""
    has_passkey = customer_has_passkey(customer)
    if customer.passkey_only and has_passkey:
        return {StepUp.Method.PASSKEY}
    return {stepup_guide_method(customer)} | ({StepUp.Method.PASSKEY} if has_passkey else set())


def stepup_use_guide_factor(*, customer: Customer, stepup: StepUp) -> StepUp:
    """The customer cannot use their passkey on this device: answer this step-up with the
    guide's factor instead — unless the passkey is their only accepted factor."""
    method = stepup_guide_method(customer)
    if stepup.method == StepUp.Method.PASSKEY and stepup.verified_at is None \
            and method in stepup_methods_allowed(customer):
        if method == StepUp.Method.IMAGE_CARD:
            image_card_challenge_current(customer=customer)
        StepUp.objects.filter(pk=stepup.pk, verified_at__isnull=True).update(method=method)
        stepup.method = method
    return stepup


def stepup_begin(*, customer: Customer, kind: str, content: dict) -> StepUp:
    """Hold a pending operation for confirmation. ``content`` is exactly what will execute
    (amount, payee, date …; JSON-serialisable). For the image card the customer's sticky
    challenge is made ready (raises AuthFactorError CARD_LOCKED / CARD_MISSING before the
    customer types anything)."""
    method = stepup_method(customer)
    if method == StepUp.Method.IMAGE_CARD:
        image_card_challenge_current(customer=customer)
    canonical = _canonical(content)
    return StepUp.objects.create(
        customer=customer, kind=kind[:32], content=canonical, content_hash=content_hash(canonical),
        method=method, expires_at=timezone.now() + dt.timedelta(seconds=STEPUP_SECONDS),
    )


def stepup_verify(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict,
                  ip: str | None, otp: str = "", challenge_id: int | None = None,
                  card_answers: Sequence[int] | None = None, passkey_response: str = "",
                  origins: Sequence[str] = ()) -> StepUp:
    """Verify the answer for one pending operation, in its own durable transaction (so a
    wrong answer is counted even though this raises; do not call it inside an atomic
    block). Locks the step-up row, then the factor's credential (SEC-8). Refuses, with
    StepUpError, an unknown/foreign id, a used or expired one, a changed method, or
    ``content`` that differs from what was confirmed; with AuthFactorError a wrong,
    reused or locked answer. A step-up already verified and not yet consumed (the
    operation failed after verification) is returned without asking again."""
    error: AuthFactorError | None = None
    with transaction.atomic(durable=True):
        stepup = (StepUp.objects.select_for_update()
                  .filter(pk=_uuid(stepup_id), customer=customer).first())
        if stepup is None:
            raise StepUpError(STEPUP_NOT_FOUND)
        now = timezone.now()
        summary = ACTION_LABELS.get(stepup.kind, stepup.kind)
        if stepup.used_at is not None:
            error = StepUpError(STEPUP_USED)
        elif stepup.expires_at <= now:
            error = StepUpError(STEPUP_EXPIRED)
        elif content_hash(_canonical(content)) != stepup.content_hash:
            error = StepUpError(STEPUP_CONTENT_CHANGED)
        elif stepup.verified_at is not None:
            return stepup
        elif stepup.method not in stepup_methods_allowed(customer):
            error = StepUpError(STEPUP_METHOD_CHANGED)
        elif stepup.method == StepUp.Method.PASSKEY:
            message = passkey_check(customer=customer, response_json=passkey_response,
                                    origins=list(origins), ip=ip, stepup=stepup)
            if message:
                error = AuthFactorError(message, field="passkey", locked=message == PASSKEY_LOCKED)
        elif stepup.method == StepUp.Method.OTP:
            message = otp_check(customer=customer, token=otp_token_active(customer), code=otp, ip=ip)
            if message:
                error = AuthFactorError(message, field="otp", locked=message == OTP_LOCKED)
        else:
            message = image_card_check(customer=customer, challenge_id=challenge_id,
                                       answers=card_answers, ip=ip)
            if message:
                error = AuthFactorError(message, field="card", locked=message == CARD_LOCKED)
        if error is None:
            stepup.verified_at = now
            stepup.save(update_fields=["verified_at"])
        audit_record(action="step_up", customer=customer, ip=ip,
                     outcome=(AuditEvent.Outcome.SUCCESS if error is None
                              else AuditEvent.Outcome.REFUSED if isinstance(error, StepUpError)
                              else AuditEvent.Outcome.FAILURE),
                     summary=f"{summary} {stepup.get_method_display()}"
                     + ("" if error is None else f" {_refusal_label(error)}"))
    if error is not None:
        raise error
    return stepup


def stepup_consume(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict) -> StepUp:
    """Mark a verified step-up used, once: ``UPDATE … SET used_at = now() WHERE used_at IS
    NULL AND verified AND not expired AND same content``. Call it inside the transaction of
    the operation, so the operation and the consumption commit or roll back together.
    Raises StepUpError (STEPUP_USED on a replay)."""
    now = timezone.now()
    updated = StepUp.objects.filter(
        pk=_uuid(stepup_id), customer=customer, used_at__isnull=True, verified_at__isnull=False,
        expires_at__gt=now, content_hash=content_hash(_canonical(content)),
    ).update(used_at=now)
    if updated == 1:
        return StepUp.objects.get(pk=_uuid(stepup_id))
    stepup = StepUp.objects.filter(pk=_uuid(stepup_id), customer=customer).first()
    if stepup is None:
        raise StepUpError(STEPUP_NOT_FOUND)
    if stepup.used_at is not None:
        raise StepUpError(STEPUP_USED)
    if stepup.expires_at <= now:
        raise StepUpError(STEPUP_EXPIRED)
    if stepup.verified_at is None:
        raise StepUpError(STEPUP_NOT_VERIFIED)
    raise StepUpError(STEPUP_CONTENT_CHANGED)


def _uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
