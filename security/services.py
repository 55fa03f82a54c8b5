"""Authentication actions (SEC-1, 2, 3, 8, 12). Each writes its audit row (and any mail)
in the same transaction as its change."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from cosei_ib.queries import unique_or_none
from notifications.services import login_notice, notice_enqueue

from .audit import audit_contract_id_typed, audit_record
from .locks import customer_for_update
from .models import AuditEvent, Credential, CustomerSession

logger = logging.getLogger(__name__)

LOGIN_FAILED = "契約者IDまたはログインパスワードが正しくありません。"
LOGIN_LOCKED = (
    "ログインパスワードが所定の回数連続して誤って入力されたため、お取引がロックされています。"
    "ロックの解除には当金庫所定の手続きが必要です。お取引店またはお問い合わせ窓口までご連絡ください。"
)
LOGIN_SUSPENDED = (
    "IB取引中止のお手続きにより、インターネットバンキングのご利用を停止しています。"
    "ご利用の再開には当金庫所定の手続きが必要です。お取引店までご連絡ください。"
)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to check against when the contract ID is unknown, so the hasher runs (and
    takes the same time) on every path (SEC-8)."""
    return make_password("unknown-contract-timing-equaliser")


def credential_for_update(customer: Customer, kind: str) -> Credential:
    """The customer's credential row, locked FOR UPDATE (created on first use: INSERT … ON
    CONFLICT DO NOTHING, so two first requests agree). One query once the row exists.
    After the customer's row, when the caller takes that (``locks``: the lock order)."""
    locked = unique_or_none(Credential.objects.select_for_update().filter(customer=customer, kind=kind))
    if locked is not None:
        return locked
    Credential.objects.bulk_create([Credential(customer=customer, kind=kind)], ignore_conflicts=True)
    return Credential.objects.select_for_update().get(customer=customer, kind=kind)


def credential_register_failure(credential: Credential, *, ip: str | None) -> bool:
    """Count one failure on a locked-for-update credential; lock it at the threshold.
    Returns True when this failure locked it. Emails the customer on lockout."""
    credential.failures += 1
    threshold = settings.SECURITY_LOCKOUT_THRESHOLDS[credential.kind]
    just_locked = credential.failures >= threshold and credential.locked_at is None
    if just_locked:
        credential.locked_at = timezone.now()
    credential.save(update_fields=["failures", "locked_at"])
    if just_locked:
        customer = credential.customer
        audit_record(action="lockout", outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                     summary=credential.get_kind_display(), ip=ip)
        notice_enqueue(customer=customer, event="lockout", lines=[
            f"{credential.get_kind_display()}が所定の回数連続して誤って入力されたため、お取引をロックしました。",
            "ロックの解除には当金庫所定の手続きが必要です。",
        ])
    return just_locked


def credential_register_success(credential: Credential) -> None:
    if credential.failures:
        credential.failures = 0
        credential.save(update_fields=["failures"])


@dataclass(frozen=True)
class LoginOutcome:
    customer: Customer | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.customer is not None and not self.error


def login_authenticate(*, contract_id: str, password: str, ip: str | None,
                       action: str = "login") -> LoginOutcome:
    """Check contract ID + login password.

    An unknown ID, a wrong password, and a locked or suspended contract with any password
    (the right one too) all answer ``LOGIN_FAILED`` and all run the hasher (SEC-1, SEC-8):
    the login is no oracle for a password while the contract cannot log in. Every wrong
    password on a known contract is counted under the credential's row lock, whatever the
    contract's state — so guesses made during a lock or an IB取引中止 show in admin, lock
    the password at the threshold (and mail the customer), and, during a suspension, make
    the resume issue a new initial password (``customer_ib_resume``).

    Locks (``locks``): the customer's row, then the password credential — the order of
    every other path, so a login meeting the customer's own IB取引中止 or staff's 初回パスワード
    再発行 waits instead of deadlocking. The hasher runs before either lock: guesses do
    not hold the customer's row (which the customer's confirmations wait for) while it
    runs; the password is checked again under the locks only if it changed meanwhile.
    """
    with transaction.atomic():
        customer = (
            Customer.objects.select_related("user").filter(contract_id=contract_id).first()
            if re.fullmatch(r"[0-9]{10}", contract_id or "") else None
        )
        if customer is None:
            check_password(password, _dummy_hash())
            # the typed ID may be a password in the wrong field: digits only, or nothing
            audit_record(action=action, outcome=AuditEvent.Outcome.FAILURE,
                         contract_id=audit_contract_id_typed(contract_id), summary="契約者ID不明",
                         ip=ip)
            return LoginOutcome(None, LOGIN_FAILED)
        checked_hash, rehash = customer.user.password, []
        correct = check_password(password, checked_hash, setter=rehash.append)
        customer = customer_for_update(customer, with_user=True)
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        if customer.user.password != checked_hash:  # changed before the locks: the current one
            rehash.clear()
            correct = check_password(password, customer.user.password, setter=rehash.append)
        if correct and rehash:  # an older hasher's hash: stored anew, as User.check_password does
            customer.user.set_password(password)
            customer.user.save(update_fields=["password"])
        suspended = customer.status != Customer.Status.ACTIVE
        state = "ロック中・" if credential.is_locked else ""
        state += {Customer.Status.SUSPENDED: "IB取引中止中・", Customer.Status.CLOSED: "解約済み・"}.get(
            customer.status, "")
        if not correct:
            if suspended:
                credential.failures_while_suspended += 1
                credential.save(update_fields=["failures_while_suspended"])
            credential_register_failure(credential, ip=ip)
            audit_record(action=action, outcome=AuditEvent.Outcome.FAILURE, customer=customer,
                         summary=f"{state}パスワード誤り（連続{credential.failures}回目）", ip=ip)
            return LoginOutcome(None, LOGIN_FAILED)
        if state:  # the right password, but this contract may not log in now
            audit_record(action=action, outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                         summary=state.rstrip("・"), ip=ip)
            return LoginOutcome(None, LOGIN_FAILED)
        credential_register_success(credential)
        if action == "login":  # the OTP activation's identity check is not a login
            now = timezone.now()
            Customer.objects.filter(pk=customer.pk).update(
                previous_login_at=customer.last_login_at, last_login_at=now
            )
            customer.previous_login_at, customer.last_login_at = customer.last_login_at, now
            login_notice(customer=customer, ip=ip)  # NOTE-1: only if the customer chose it
        audit_record(action=action, outcome=AuditEvent.Outcome.SUCCESS, customer=customer, ip=ip)
        return LoginOutcome(customer)


# --- SEC-2: the login password rule ----------------------------------------------------

PASSWORD_RULE_TEXT = (
    "{min}～{max}桁の半角英数字で、英字と数字をそれぞれ1文字以上使用してください"
    "（英字は大文字・小文字を区別します）。契約者IDを含むものや現在のパスワードと同じものは使用できません。"
    "安全のため、最大桁数（{max}桁）での設定をお奨めします。"
)


PASSWORD_CONTAINS_CONTRACT_ID = "契約者IDを含むパスワードは使用できません。"


def password_rule_errors(*, customer: Customer, new_password: str) -> list[str]:
    """Every broken rule, each explained in Japanese (empty list: acceptable)."""
    low, high = settings.LOGIN_PASSWORD_MIN_LENGTH, settings.LOGIN_PASSWORD_MAX_LENGTH
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9]*", new_password):
        problems.append("半角英数字のみ使用できます（記号・全角文字・空白は使用できません）。")
        if not re.fullmatch(r"[\x21-\x7e]*", new_password):
            # full-width (the IME left on), a blank, an emoji: 「ｐａｓｓ２０２７ab」 has
            # digits to its typist, so 「数字を1文字以上…」 beside this would mislead
            return problems
    if not low <= len(new_password) <= high:
        problems.append(f"{low}～{high}桁で入力してください（入力は{len(new_password)}桁です）。")
    if not re.search(r"[A-Za-z]", new_password):
        problems.append("英字を1文字以上含めてください。")
    if not re.search(r"[0-9]", new_password):
        problems.append("数字を1文字以上含めてください。")
    if customer.contract_id and customer.contract_id in new_password:
        # not only equal (SEC-2's letter): 「1000000002a」 is the ID and one letter, the
        # first thing tried against it (walk25 F19; docs/security.md SEC-15)
        problems.append(PASSWORD_CONTAINS_CONTRACT_ID)
    if customer.user.check_password(new_password):
        problems.append("現在のパスワードと同じパスワードは使用できません。")
    return problems


class PasswordChangeError(Exception):
    def __init__(self, messages: list[str], *, field: str | None = "new_password",
                 sessions_ended: bool = False) -> None:
        self.messages = messages
        self.field = field  # the form field the messages belong to (None: the whole form)
        self.sessions_ended = sessions_ended  # every session of the customer, this one too
        super().__init__("password change refused")


class PasswordChangedMeanwhile(PasswordChangeError):
    """The current password typed is the one another request just replaced (probe35 F1):
    a double click of the change form, a second tab of the same browser, or another
    device's change that committed while this one waited. It was the right password when
    typed: no guess, nothing counted. ``this_request_ended``: the change came while this
    request was on its way, so its session is gone (cycled by its own twin, or ended by
    the other device's change); else it is this session's own earlier change.

    ``by_bank``: what replaced it was staff's 初回パスワード再発行 (or ロック解除, which
    issues one): the session is gone and the password to log in with is the bank's new
    initial one, not 「変更後のログインパスワード」 — the message is the one staff's
    re-issue leaves for the sessions it ends (``session.ENDED_MESSAGES``)."""

    def __init__(self, *, this_request_ended: bool, by_bank: bool = False) -> None:
        from .session import ENDED_MESSAGES

        super().__init__([ENDED_MESSAGES["initial_password"] if by_bank else PASSWORD_CHANGED_MEANWHILE],
                         field=None)
        self.this_request_ended = this_request_ended or by_bank
        self.by_bank = by_bank


PASSWORD_CHANGED_MEANWHILE = ("ログインパスワードは、別の画面（または同時に送信された操作）で既に変更されています。"
                              "この送信では変更していません。")


def password_change(*, customer: Customer, current_password: str, new_password: str,
                    ip: str | None, keep_session_key: str | None,
                    replaced_here: str | None = None) -> None:
    """Change the login password (SEC-2/3): ends every other session of the customer and
    emails a notice. Raises PasswordChangeError with Japanese messages.

    A wrong current password that is the password replaced meanwhile is no guess
    (probe35 F1): PasswordChangedMeanwhile, nothing counted. Replaced meanwhile means:
    the hash ``customer.user`` was loaded with (the request's, before the lock) is not the
    one under the lock, or ``replaced_here`` — the hash this session's own change replaced
    moments ago (``session.password_replaced_here``: another tab of the browser).

    The password lockout (SEC-8) holds here as at login, under the same row lock: while
    the credential is locked nothing is checked or counted and the answer is LOGIN_LOCKED.
    A wrong current password is counted — that count commits even though the change fails
    — and the failure that locks also ends every session of the customer, this one too
    (``sessions_ended``): a session cannot go on guessing, nor use a lucky guess. Locks the
    customer's row, then the credential (``locks``)."""
    refusal: list[str] = []
    refused_field: str | None = "new_password"
    sessions_ended = False
    loaded_hash = customer.user.password
    told: PasswordChangedMeanwhile | None = None
    with transaction.atomic():
        # the hash as it is under the lock, not as the request loaded it: a change or
        # staff's 初回パスワード再発行 may have committed since (another tab, the branch)
        locked = customer_for_update(customer, with_user=True)
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        if credential.is_locked:
            audit_record(action="password_change", outcome=AuditEvent.Outcome.REFUSED,
                         customer=customer, summary="ロック中", ip=ip)
            refusal, refused_field = [LOGIN_LOCKED], None
        elif not (right := locked.user.check_password(current_password)) and (
                meanwhile := _replaced_meanwhile(current_password, now=locked.user.password,
                                                 loaded=loaded_hash, replaced_here=replaced_here,
                                                 initial_now=locked.password_is_initial)):
            audit_record(action="password_change", outcome=AuditEvent.Outcome.REFUSED,
                         customer=customer, ip=ip,
                         summary=PASSWORD_REISSUED_MEANWHILE_AUDIT if meanwhile.by_bank
                         else PASSWORD_CHANGED_MEANWHILE_AUDIT)
            told = meanwhile  # raised after the commit: the audit row stays
        elif not right:  # and not a password replaced meanwhile: a guess
            just_locked = credential_register_failure(credential, ip=ip)
            audit_record(action="password_change", outcome=AuditEvent.Outcome.FAILURE,
                         customer=customer, summary="現在のパスワード誤り", ip=ip)
            if just_locked:
                sessions_end_for_customer(customer, reason="password_locked")
                refusal, refused_field, sessions_ended = [LOGIN_LOCKED], None, True
            else:
                refusal = ["現在のログインパスワードが正しくありません。"]
                refused_field = "current_password"
        else:
            refusal = password_rule_errors(customer=locked, new_password=new_password)
            if not refusal:
                _password_set(customer, new_password, ip=ip, keep_session_key=keep_session_key,
                              credential=credential)
    if told is not None:
        raise told
    if refusal:
        raise PasswordChangeError(refusal, field=refused_field, sessions_ended=sessions_ended)


PASSWORD_CHANGED_MEANWHILE_AUDIT = "変更済み（別の画面・同時の送信で変更された後の送信）"
PASSWORD_REISSUED_MEANWHILE_AUDIT = "初回パスワード再発行済み（当金庫での再発行の後の送信）"


def _replaced_meanwhile(typed: str, *, now: str, loaded: str, replaced_here: str | None,
                        initial_now: bool) -> PasswordChangedMeanwhile | None:
    """PasswordChangedMeanwhile if ``typed`` is a password replaced meanwhile (see
    ``password_change``): the hash loaded before the lock, else the one this session's own
    change replaced; a hash equal to the current one (``now``) was checked already.
    ``initial_now``: the customer's password is an initial one under the lock. A change
    clears that mark; so when the hash moved since the load and the mark is set, what
    moved it was staff's 初回パスワード再発行 (``by_bank``)."""
    by_bank = initial_now and bool(loaded) and loaded != now
    if loaded and loaded != now and check_password(typed, loaded):
        return PasswordChangedMeanwhile(this_request_ended=True, by_bank=by_bank)
    if replaced_here and replaced_here not in (now, loaded) and check_password(typed, replaced_here):
        # this session's own change, earlier; if the hash also moved since the load, another
        # device's change ended this session meanwhile (review35b): the request's is gone
        return PasswordChangedMeanwhile(this_request_ended=bool(loaded) and loaded != now, by_bank=by_bank)
    return None


def _password_set(customer: Customer, new_password: str, *, ip, keep_session_key, credential) -> None:
    credential_register_success(credential)
    user = customer.user
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Customer.objects.filter(pk=customer.pk).update(password_is_initial=False)
    customer.password_is_initial = False
    sessions_end_for_customer(customer, keep_session_key=keep_session_key, reason="password_change")
    audit_record(action="password_change", outcome=AuditEvent.Outcome.SUCCESS,
                 customer=customer, ip=ip)
    notice_enqueue(customer=customer, event="password_change",
                   lines=["インターネットバンキングのログインパスワードが変更されました。"])


def session_register(*, customer: Customer, session_key: str, replaces: str | None = None) -> None:
    """Index a session key of the customer (SEC-12), so that ``sessions_end_for_customer``
    finds it. ``replaces``: the key it was cycled from (its index row is dropped)."""
    if replaces and replaces != session_key:
        CustomerSession.objects.filter(customer=customer, session_key=replaces).delete()
    CustomerSession.objects.get_or_create(customer=customer, session_key=session_key)


def login_refusal(*, customer: Customer) -> str | None:
    """Why a customer half-way through logging in (after the password, before the OTP)
    may not finish now: LOGIN_LOCKED when the password credential was locked meanwhile,
    LOGIN_SUSPENDED when the contract is no longer active (IB取引中止, 解約); None if
    nothing stands in the way. Reads the database, not the request's cached customer."""
    status = Customer.objects.filter(pk=customer.pk).values_list("status", flat=True).first()
    if Credential.objects.filter(customer=customer, kind=Credential.Kind.PASSWORD,
                                 locked_at__isnull=False).exists():
        return LOGIN_LOCKED
    if status != Customer.Status.ACTIVE:
        return LOGIN_SUSPENDED
    return None


def sessions_end_for_customer(customer: Customer, *, reason: str,
                              keep_session_key: str | None = None) -> int:
    """Delete the customer's server-side sessions except ``keep_session_key`` (SEC-12).

    ``reason`` (a key of ``session.ENDED_MESSAGES``, required: walk27 F5): each live
    session ended is replaced by one under the same key that holds nothing but why it
    ended, so the browser that held it is told on its next request (walk26 F9: it landed
    on the login page with no word). That session is anonymous — no user, not indexed;
    should a request of the old session still in flight write its data back over it,
    Django's check of the password hash (a password change, 初回パスワード再発行) or the
    middleware's of the contract's status (IB取引中止) ends it on its next request all the
    same."""
    keys = list(
        CustomerSession.objects.filter(customer=customer)
        .exclude(session_key=keep_session_key or "")
        .values_list("session_key", flat=True)
    )
    live = list(Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
                .values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    CustomerSession.objects.filter(customer=customer, session_key__in=keys).delete()
    if live:
        from .session import session_ended_markers

        Session.objects.bulk_create(session_ended_markers(live, reason=reason))
    return len(keys)


# --- Staff actions (STAFF-1) and IB suspension (SEC-10) -----------------------------------

class StaffActionError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


REASON_REQUIRED = "理由を入力してください。"


class IssuedMeanwhile(StaffActionError):
    """Staff's issue form was posted twice at once (a double click): the other request
    issued after this form was shown, so this one issues nothing — its slip would carry a
    password (or card) the other one had already replaced (SEC-3, SEC-5)."""

    def __init__(self) -> None:
        super().__init__("この発行は処理済みです（二重発行はしていません）。")


def credential_unlock(*, customer: Customer, kind: str, reason: str, actor: str) -> Credential:
    """Lift a lock (branch staff only, with a reason; audited; the customer is emailed).
    Locks the customer's row, then the credential (``locks``)."""
    if not reason.strip():
        raise StaffActionError(REASON_REQUIRED)
    with transaction.atomic():
        customer_for_update(customer)
        credential = credential_for_update(customer, kind)
        if not credential.is_locked:
            raise StaffActionError(f"{credential.get_kind_display()}はロックされていません。")
        credential.failures = 0
        credential.locked_at = None
        credential.unlocked_at = timezone.now()
        credential.save(update_fields=["failures", "locked_at", "unlocked_at"])
        audit_record(action="unlock", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary=f"{credential.get_kind_display()}：{reason.strip()}", actor=actor)
        notice_enqueue(customer=customer, event="unlock", lines=[
            f"{credential.get_kind_display()}のロックを解除しました。",
        ])
    return credential


STAFF_ALREADY_SUSPENDED = "この契約者はすでにIB取引中止の状態です。"


def customer_ib_suspend(*, customer: Customer, ip: str | None, actor: str = "", reason: str = "") -> None:
    """IB取引中止 (SEC-10): the customer stops their own IB use (the caller has verified
    the step-up), or branch staff stop it for a customer who phoned in (the guide: 「IB取引中止」
    操作またはすみやかに当金庫までご連絡ください) — then ``actor`` and ``reason`` are the
    staff user and how they identified the customer. Sessions end; only staff can resume.

    Locks the customer's row, then the password credential (``locks``), as the login and
    the step-up that runs this for the customer: whichever of them comes second waits."""
    if actor and not reason.strip():
        raise StaffActionError(REASON_REQUIRED)
    with transaction.atomic():
        locked = customer_for_update(customer)
        credential_for_update(customer, Credential.Kind.PASSWORD)
        if locked.status != Customer.Status.ACTIVE:  # staff read it of the customer (walk25 F7)
            raise StaffActionError(STAFF_ALREADY_SUSPENDED if actor else "すでにご利用を停止しています。")
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.SUSPENDED)
        customer.status = Customer.Status.SUSPENDED
        Credential.objects.filter(customer=customer, kind=Credential.Kind.PASSWORD).update(
            failures_while_suspended=0)  # counts this suspension's guesses only
        sessions_end_for_customer(customer, reason="ib_suspend")
        audit_record(action="ib_suspend", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     ip=ip, actor=actor, summary=f"窓口：{reason.strip()}" if actor else "")
        notice_enqueue(customer=customer, event="ib_suspend", lines=[
            ("お申し出により、当金庫で" if actor else "") + "インターネットバンキングのご利用を停止しました（IB取引中止）。",
            "ご利用の再開には当金庫所定の手続きが必要です。お取引店までご連絡ください。",
        ])


def ib_resume_guesses(*, customer: Customer) -> int:
    """Wrong login passwords typed since the customer suspended IB (shown to staff before
    they resume)."""
    return (Credential.objects.filter(customer=customer, kind=Credential.Kind.PASSWORD)
            .values_list("failures_while_suspended", flat=True).first() or 0)


def customer_ib_resume(*, customer: Customer, reason: str, actor: str,
                       guesses_seen: int = 0) -> str | None:
    """IB取引再開 (SEC-10, staff only, with a reason). Returns the new initial password when
    one was issued, else None.

    While suspended every login attempt got the same failure page, so no password typed
    then was confirmed; still, the customer suspended because they feared a leak, and
    someone kept trying: after any wrong password during the suspension the resume also
    issues a new initial password (the old one dies, ``initial_password_issue``'s audit
    and mail). ``guesses_seen`` is the count staff were shown; if more attempts came
    meanwhile the resume is refused, so staff never resume on a count they did not see.
    Everything happens under the customer's and the credential's row locks (that order:
    ``locks``)."""
    if not reason.strip():
        raise StaffActionError(REASON_REQUIRED)
    with transaction.atomic():
        locked = customer_for_update(customer)
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        if locked.status != Customer.Status.SUSPENDED:
            raise StaffActionError("この契約者はIB取引中止の状態ではありません。")
        guesses = credential.failures_while_suspended
        if guesses != guesses_seen:
            raise StaffActionError(IB_RESUME_GUESSES_CHANGED)
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.ACTIVE)
        customer.status = Customer.Status.ACTIVE
        credential.failures_while_suspended = 0
        credential.save(update_fields=["failures_while_suspended"])
        summary = reason.strip()
        if guesses:
            summary = f"{summary}（中止中のパスワード誤り{guesses}回：初回パスワード再発行）"
        audit_record(action="ib_resume", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     summary=summary, actor=actor)
        notice_enqueue(customer=customer, event="ib_resume",
                       lines=["インターネットバンキングのご利用を再開しました。"])
        if guesses:
            return initial_password_issue(customer=customer, reason=reason, actor=actor)
    return None


IB_RESUME_GUESSES_CHANGED = ("確認画面を表示した後に、ログインパスワードの誤入力がありました。"
                             "回数を確認して、もう一度操作してください。")


# Letters and digits that cannot be mistaken for each other on a printed slip.
_INITIAL_PASSWORD_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
_INITIAL_PASSWORD_DIGITS = "23456789"


def initial_password_generate(length: int = 10) -> str:
    import secrets

    alphabet = _INITIAL_PASSWORD_LETTERS + _INITIAL_PASSWORD_DIGITS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if re.search(r"[A-Za-z]", candidate) and re.search(r"[0-9]", candidate):
            return candidate


def initial_password_issue(*, customer: Customer, reason: str, actor: str, unlock: bool = False,
                           form_shown_at: dt.datetime | None = None) -> str:
    """Issue a new initial password (SEC-3): returned once for the printed slip, never
    stored in clear; the customer must change it at the next login. Ends the customer's
    sessions and lifts a password lock (the branch checked the customer's identity).

    ``unlock``: this is the staff's ロック解除 of the login password (SEC-8). The login
    page still tells the right password apart during a lock (guide Q3), so a password
    guessed then must die with the lock: unlocking always means a new password. Raises
    StaffActionError, under the row lock, when the password is not locked; writes an
    ``unlock`` audit row besides the issue row. ``form_shown_at``: when staff's form was
    shown; IssuedMeanwhile if a password was issued since (the other of two requests).
    Locks the customer's row, then the credential, then writes the user's (``locks``)."""
    if not reason.strip():
        raise StaffActionError(REASON_REQUIRED)
    password = initial_password_generate()
    with transaction.atomic():
        customer_for_update(customer)
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        if form_shown_at is not None and AuditEvent.objects.filter(
                customer=customer, action="initial_password_issue", created_at__gte=form_shown_at).exists():
            raise IssuedMeanwhile
        if unlock and not credential.is_locked:
            raise StaffActionError(f"{credential.get_kind_display()}はロックされていません。")
        user = customer.user
        user.set_password(password)
        user.save(update_fields=["password"])
        Customer.objects.filter(pk=customer.pk).update(password_is_initial=True)
        customer.password_is_initial = True
        if credential.is_locked or credential.failures:
            credential.failures = 0
            credential.locked_at = None
            credential.unlocked_at = timezone.now()
            credential.save(update_fields=["failures", "locked_at", "unlocked_at"])
        sessions_end_for_customer(customer, reason="initial_password")
        if unlock:
            audit_record(action="unlock", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                         summary=f"{credential.get_kind_display()}（初回パスワード再発行）：{reason.strip()}",
                         actor=actor)
        audit_record(action="initial_password_issue", outcome=AuditEvent.Outcome.SUCCESS,
                     customer=customer, summary=reason.strip(), actor=actor)
        notice_enqueue(customer=customer, event="initial_password_issue", lines=[
            *(["ログインパスワードのロックを解除しました。"] if unlock else []),
            "初回ログインパスワードを再発行しました。",
            "お届けした初回ログインパスワードでログインし、正式なパスワードに変更してください。",
        ])
    return password
