"""Step-up authorisation of one pending operation (SEC-7, SEC-14, 取引認証).

What the customer confirmed is what executes:

1. ``stepup_begin`` holds the pending operation on the server (kind + exact content as
   JSON + its SHA-256) and fixes the method: the passkey when the customer has one
   (SEC-16; the assertion's challenge is derived from the content hash), else OTP when
   the customer has activated a software token, else the image card (SEC-6: OTP replaces
   the card for transactions).
2. ``stepup_verify_execute``, in one durable transaction (one commit; the confirm page
   of ``stepup_flow`` uses it), locks the customer's row, then the step-up's (reading
   under it what decides the methods allowed now), and checks the answer (image-card
   challenge, OTP or passkey, counting failures toward the lockout) *and* that the
   content the caller is about to execute hashes to what was confirmed; it expires after
   ``STEPUP_SECONDS``.
3. When the answer is right, one conditional UPDATE (``used_at IS NULL``) marks it used
   next to the operation itself, under a savepoint: a replayed or double-submitted
   confirmation executes nothing, and a refused operation leaves the verification
   committed (``stepup_consume`` then uses it, in the caller's transaction).

Usage in a view (confirm page POST; ``stepup_flow.stepup_pending_confirm`` does this)::

    form = StepUpForm.for_stepup(stepup, request.POST)
    if form.is_valid():
        try:
            stepup_verify_execute(customer=request.customer, stepup_id=stepup.id, content=pending,
                                  ip=client_ip(request), execute=lambda: do_the_operation(...),
                                  **form.answer())
        except (StepUpError, AuthFactorError) as refused:
            form.add_refusal(refused)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from cosei_ib.queries import prepared_cursor

from .audit import ACTION_LABELS, audit_record
from .cards import (
    CARD_CHALLENGE_CHANGED,
    AnswerStale,
    CARD_LOCKED,
    card_refusal_label,
    image_card_challenge_current,
    image_card_check,
)
from .errors import AuthFactorError
from .models import AuditEvent, StepUp
from .otp import OTP_LOCKED, otp_check, otp_refusal_label, otp_refusal_outcome, otp_token_active
from .passkeys import PASSKEY_LOCKED, customer_has_passkey, passkey_check

T = TypeVar("T")

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
    if error.message == CARD_CHALLENGE_CHANGED:
        # a page left stale by another tab: no guess, nothing counted (walk27 F1)
        return card_refusal_label(error.message)
    if error.field == "otp":  # as the login says it (probe35 F5): 使用済み is no wrong answer
        return otp_refusal_label(error.message)
    return "ロック" if error.locked else "認証誤り"


def _refusal_outcome(error: AuthFactorError) -> str:
    """拒否 for what is not an answer checked (the operation's state, a stale page: nothing
    was counted), 失敗 for a wrong or locked answer."""
    if isinstance(error, StepUpError) or error.message == CARD_CHALLENGE_CHANGED:
        return AuditEvent.Outcome.REFUSED
    if error.field == "otp":
        return otp_refusal_outcome(error.message)
    return AuditEvent.Outcome.FAILURE


def content_hash(content: dict) -> str:
    """SHA-256 of the canonical JSON of ``content`` (sorted keys, no whitespace)."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical(content: dict) -> dict:
    """The content as stored in JSON (dates, Decimals … become strings)."""
    return json.loads(json.dumps(content, cls=DjangoJSONEncoder))


stepup_content_canonical = _canonical  # what a step-up's ``content`` holds for this content


def stepup_guide_method(customer: Customer) -> str:
    """The guide's factor: OTP once activated, else the image card (SEC-6)."""
    return StepUp.Method.OTP if otp_token_active(customer) is not None else StepUp.Method.IMAGE_CARD


def stepup_method(customer: Customer) -> str:
    """The factor a new step-up asks for: the passkey when the customer has one (SEC-16),
    else the guide's factor."""
    return StepUp.Method.PASSKEY if customer_has_passkey(customer) else stepup_guide_method(customer)


def stepup_methods_allowed(customer: Customer, *, has_passkey: bool | None = None,
                           otp_active: bool | None = None) -> set[str]:
    """With 「パスキーでのみログイン」 only the passkey; otherwise the guide's factor, and
    the passkey when the customer has one. ``has_passkey`` and ``otp_active`` are read
    here unless the caller already read them (``_stepup_check``: with the step-up's lock)."""
    if has_passkey is None:
        has_passkey = customer_has_passkey(customer)
    if customer.passkey_only and has_passkey:
        return {StepUp.Method.PASSKEY}
    if otp_active is None:
        guide = stepup_guide_method(customer)
    else:
        guide = StepUp.Method.OTP if otp_active else StepUp.Method.IMAGE_CARD
    return {guide} | ({StepUp.Method.PASSKEY} if has_passkey else set())


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


def stepup_seed_used(*, customer: Customer, kind: str, content: dict) -> StepUp:
    """Demo data and tests only: a step-up of ``customer`` for ``content``, marked verified
    and used by the one conditional UPDATE (``_stepup_mark_used``) in the caller's
    transaction — the mark the transfers and Pay-easy guards ask of a record inserted by
    that transaction (transfers 0012, payeasy 0005). A customer's confirmation goes
    through ``stepup_verify_execute``."""
    canonical = _canonical(content)
    now = timezone.now()
    stepup = StepUp.objects.create(customer=customer, kind=kind[:32], content=canonical,
                                   content_hash=content_hash(canonical), method=StepUp.Method.OTP,
                                   expires_at=now + dt.timedelta(seconds=STEPUP_SECONDS))
    _stepup_mark_used(customer=customer, stepup_id=stepup.pk, digest=stepup.content_hash, now=now, verified_at=now)
    return stepup


def stepup_verify_execute(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict,
                          ip: str | None, execute: Callable[[], T], otp: str = "",
                          challenge_id: int | None = None, card_answers: Sequence[int] | None = None,
                          passkey_response: str = "", origins: Sequence[str] = (),
                          answered: str | None = None, seen: dict | None = None) -> T:
    """Verify the answer for one pending operation, consume the step-up and ``execute()``,
    in one durable transaction: one commit for the whole confirmation.

    Locks the customer's row, then the step-up's, then the factor's credential (SEC-8).
    Refuses, with StepUpError, an unknown/foreign id, a used or expired one, a changed
    method, or ``content`` that differs from what was confirmed; with AuthFactorError a
    wrong, reused or locked answer (counted and committed, then raised; ``execute`` is not
    called). A step-up already verified and not yet consumed (the operation failed after
    verification) is not asked again. When the answer is right, a savepoint holds the
    consumption — one conditional UPDATE that sets ``verified_at`` and ``used_at``
    together, only while the step-up is unused, unexpired and for this content — and the
    operation. When the operation raises, only the savepoint rolls back: the step-up is then
    marked verified (not used), and that, the closed challenge, the factor's counters and
    the audit row commit, exactly as after a verification and a failed transaction of the
    operation; then the exception is raised. Do not call it inside an atomic block."""
    failure: Exception | None = None
    # The hash of the content about to execute, computed once: compared with the row's
    # under its lock (_stepup_check), and again by the consuming UPDATE's condition.
    digest = content_hash(_canonical(content))
    with transaction.atomic(durable=True):
        # the customer's row before the step-up's and the factor's (``locks``): what the
        # operation run here locks next depends on it (the password credential, a passkey)
        active = _contract_active_lock(customer)
        stepup, error = _stepup_check(
            customer=customer, stepup_id=stepup_id, digest=digest, ip=ip, otp=otp,
            challenge_id=challenge_id, card_answers=card_answers,
            passkey_response=passkey_response, origins=origins, answered=answered, seen=seen)
        if error is None:
            now = timezone.now()
            try:
                with transaction.atomic():
                    if not active:
                        raise AuthFactorError(STEPUP_CONTRACT_INACTIVE)
                    _stepup_mark_used(customer=customer, stepup_id=stepup.pk, digest=digest,
                                      now=now, verified_at=stepup.verified_at or now)
                    result = execute()
            except Exception as refused:  # noqa: BLE001 - raised again below, after the commit
                failure = refused
                if stepup.verified_at is None:  # the verification stands without the operation
                    stepup.verified_at = now
                    stepup.save(update_fields=["verified_at"])
    if error is not None:
        raise error
    if failure is not None:
        raise failure
    return result


STEPUP_CONTRACT_INACTIVE = ("IB取引中止のお手続きにより、インターネットバンキングのご利用を停止しています。"
                            "このお手続きは実行していません。")


# The customer's status and address under the row lock. Written as SQL, prepared: the ORM
# spent ~0.3 ms of Python building this one-row lock on every confirmation (issue 14);
# tests/security/test_stepup.py holds it to the ORM's read.
_CONTRACT_LOCK_SQL = """
    SELECT customer.status, customer.email FROM "accounts_customer" AS customer
     WHERE customer.id = %s
       FOR NO KEY UPDATE OF customer"""


def _contract_active_lock(customer: Customer) -> bool:
    """Whether the contract is active as it is now, not as the request loaded it (SEC-10):
    IB取引中止 by branch staff while a confirmation is on its way must stop it. The row
    lock, held to the commit, is the first of everything the confirmation locks (the
    order of ``locks``; NO KEY: inserts referencing the customer go on), so it serialises
    this with every other write of the customer's, customer_ib_suspend's too.

    The address is taken as it is now onto ``customer`` as well: an address change that
    committed in another tab while this confirmation waited has moved where the
    operation's mail must go (the outbox guard, CI204, refused the old one with a 500;
    walk32 F1)."""
    with prepared_cursor() as cursor:
        cursor.execute(_CONTRACT_LOCK_SQL, [customer.pk])
        row = cursor.fetchone()
    if row is None:
        return False
    status, customer.email = row
    return status == Customer.Status.ACTIVE


# The step-up locked FOR UPDATE with what decides the methods allowed now (``has_passkey``,
# ``otp_active``), read in the same statement; not its content (its hash is what is
# compared; ``content`` stays deferred). Written as SQL: the ORM spent 1.2-1.5 ms of Python
# building and compiling this one statement and its two subqueries on every confirmation,
# a query of fixed shape (issue 14). tests/security/test_stepup.py holds it to the ORM's.
_STEPUP_FOR_UPDATE_SQL = """
    SELECT stepup.id, stepup.customer_id, stepup.kind, stepup.content_hash, stepup.method,
           stepup.created_at, stepup.expires_at, stepup.verified_at, stepup.used_at,
           EXISTS (SELECT FROM security_passkey AS passkey
                    WHERE passkey.customer_id = stepup.customer_id) AS has_passkey,
           EXISTS (SELECT FROM security_otptoken AS token
                    WHERE token.customer_id = stepup.customer_id
                      AND token.activated_at IS NOT NULL) AS otp_active
      FROM security_stepup AS stepup
     WHERE stepup.id = %s AND stepup.customer_id = %s
       FOR UPDATE OF stepup"""


def _stepup_for_update(customer: Customer, stepup_id) -> StepUp | None:
    """The customer's step-up locked FOR UPDATE, with ``has_passkey`` and ``otp_active``."""
    stepup_uuid = _uuid(stepup_id)
    if stepup_uuid is None:
        return None
    return next(iter(StepUp.objects.raw(_STEPUP_FOR_UPDATE_SQL, [stepup_uuid, customer.pk])), None)


def _stepup_check(*, customer: Customer, stepup_id, digest: str, ip: str | None, otp: str,
                  challenge_id: int | None, card_answers: Sequence[int] | None,
                  passkey_response: str, origins: Sequence[str], answered: str | None = None,
                  seen: dict | None = None) -> tuple[StepUp, AuthFactorError | None]:
    """Inside the caller's durable transaction: lock the step-up, refuse what
    ``stepup_verify_execute`` refuses, check the answer against the factor (counting failures) and
    write the ``step_up`` audit row. ``digest``: the content hash of what is about to
    execute. Returns the step-up and the refusal (None: right, or already verified). Raises StepUpError STEPUP_NOT_FOUND before anything is written."""
    error: AuthFactorError | None = None
    stepup = _stepup_for_update(customer, stepup_id)
    if stepup is None:
        raise StepUpError(STEPUP_NOT_FOUND)
    now = timezone.now()
    if answered is not None and stepup.verified_at is None and (
            stepup.method != answered
            # the image card's form takes an answer only while the card can be answered:
            # a refusal found before the card's rows are read is left to that form
            or answered == StepUp.Method.IMAGE_CARD and (
                stepup.used_at is not None or stepup.expires_at <= now or digest != stepup.content_hash
                or stepup.method not in stepup_methods_allowed(customer, has_passkey=stepup.has_passkey,
                                                               otp_active=stepup.otp_active))):
        raise AnswerStale  # nothing written: the page's form, read from the database, judges it
    if seen is not None:
        seen["stepup"] = stepup
    summary = ACTION_LABELS.get(stepup.kind, stepup.kind)
    if stepup.used_at is not None:
        error = StepUpError(STEPUP_USED)
    elif stepup.expires_at <= now:
        error = StepUpError(STEPUP_EXPIRED)
    elif digest != stepup.content_hash:
        error = StepUpError(STEPUP_CONTENT_CHANGED)
    elif stepup.verified_at is not None:
        return stepup, None
    elif stepup.method not in stepup_methods_allowed(customer, has_passkey=stepup.has_passkey,
                                                     otp_active=stepup.otp_active):
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
                                   answers=card_answers, ip=ip, shaped=answered is not None, seen=seen)
        if message:
            error = AuthFactorError(message, field="card", locked=message == CARD_LOCKED)
    audit_record(action="step_up", customer=customer, ip=ip,
                 outcome=AuditEvent.Outcome.SUCCESS if error is None else _refusal_outcome(error),
                 summary=f"{summary} {stepup.get_method_display()}"
                 + ("" if error is None else f" {_refusal_label(error)}"))
    return stepup, error


def stepup_consume(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict) -> StepUp:
    """Mark a verified step-up used, once: ``UPDATE … SET used_at = now() WHERE used_at IS
    NULL AND verified AND not expired AND same content``. Call it inside the transaction of
    the operation, so the operation and the consumption commit or roll back together.
    Raises StepUpError (STEPUP_USED on a replay)."""
    _stepup_mark_used(customer=customer, stepup_id=stepup_id, digest=content_hash(_canonical(content)),
                      now=timezone.now())
    return StepUp.objects.get(pk=_uuid(stepup_id))


# The one conditional UPDATE, as ``StepUp.objects.filter(pk, customer, used_at__isnull=True,
# expires_at__gt=now, content_hash=digest)`` updated it (without ``verified_at``: only a
# verified step-up). Written as SQL, prepared: the ORM spent ~0.4 ms of Python building
# it on every confirmation (issue 14); tests/security/test_stepup.py holds both to the
# rows the ORM's filter selects.
_MARK_USED_WHERE = """
     WHERE id = %s AND customer_id = %s AND used_at IS NULL AND expires_at > %s AND content_hash = %s"""
_MARK_USED_SQL = 'UPDATE "security_stepup" SET used_at = %s' + _MARK_USED_WHERE + " AND verified_at IS NOT NULL"
_MARK_USED_VERIFIED_SQL = 'UPDATE "security_stepup" SET used_at = %s, verified_at = %s' + _MARK_USED_WHERE


def _stepup_mark_used(*, customer: Customer, stepup_id, digest: str, now: dt.datetime,
                      verified_at: dt.datetime | None = None) -> None:
    """The one conditional UPDATE that uses a step-up (with ``verified_at``: also marks it
    verified, for ``stepup_verify_execute``, which has just checked the answer under the
    row's lock; without it the step-up must already be verified). ``digest``: the
    ``content_hash`` of the content about to execute. Raises StepUpError when no row
    qualified, naming why."""
    with prepared_cursor() as cursor:
        if verified_at is None:
            cursor.execute(_MARK_USED_SQL, [now, _uuid(stepup_id), customer.pk, now, digest])
        else:
            cursor.execute(_MARK_USED_VERIFIED_SQL, [now, verified_at, _uuid(stepup_id), customer.pk, now, digest])
        updated = cursor.rowcount
    if updated == 1:
        return
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
