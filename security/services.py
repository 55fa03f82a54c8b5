"""Authentication actions (SEC-1, 2, 3, 8, 12). Each writes its audit row (and any mail)
in the same transaction as its change."""

from __future__ import annotations

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
from notifications.services import notice_enqueue

from .audit import audit_record
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
    """The customer's credential row, locked FOR UPDATE (created on first use)."""
    Credential.objects.get_or_create(customer=customer, kind=kind)
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


def login_authenticate(*, contract_id: str, password: str, ip: str | None) -> LoginOutcome:
    """Check contract ID + login password.

    An unknown ID, a wrong password and a locked or suspended contract all answer
    ``LOGIN_FAILED`` and all run the hasher; only with the correct password does a locked
    (or suspended) customer learn why (guide Q3). Failures are counted under a row lock.
    """
    with transaction.atomic():
        customer = (
            Customer.objects.select_related("user").filter(contract_id=contract_id).first()
            if re.fullmatch(r"[0-9]{10}", contract_id or "") else None
        )
        if customer is None:
            check_password(password, _dummy_hash())
            audit_record(action="login", outcome=AuditEvent.Outcome.FAILURE,
                         contract_id=contract_id or "", summary="unknown contract", ip=ip)
            return LoginOutcome(None, LOGIN_FAILED)
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        correct = customer.user.check_password(password)
        if credential.is_locked or customer.status != Customer.Status.ACTIVE:
            audit_record(action="login", outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                         summary="locked" if credential.is_locked else customer.status, ip=ip)
            if not correct:
                return LoginOutcome(None, LOGIN_FAILED)
            return LoginOutcome(None, LOGIN_LOCKED if credential.is_locked else LOGIN_SUSPENDED)
        if not correct:
            credential_register_failure(credential, ip=ip)
            audit_record(action="login", outcome=AuditEvent.Outcome.FAILURE, customer=customer,
                         summary=f"wrong password ({credential.failures})", ip=ip)
            return LoginOutcome(None, LOGIN_FAILED)
        credential_register_success(credential)
        now = timezone.now()
        Customer.objects.filter(pk=customer.pk).update(
            previous_login_at=customer.last_login_at, last_login_at=now
        )
        customer.previous_login_at, customer.last_login_at = customer.last_login_at, now
        audit_record(action="login", outcome=AuditEvent.Outcome.SUCCESS, customer=customer, ip=ip)
        return LoginOutcome(customer)


# --- SEC-2: the login password rule ----------------------------------------------------

PASSWORD_RULE_TEXT = (
    "{min}～{max}桁の半角英数字で、英字と数字をそれぞれ1文字以上使用してください"
    "（英字は大文字・小文字を区別します）。契約者IDや現在のパスワードと同じものは使用できません。"
)


def password_rule_errors(*, customer: Customer, new_password: str) -> list[str]:
    """Every broken rule, each explained in Japanese (empty list: acceptable)."""
    low, high = settings.LOGIN_PASSWORD_MIN_LENGTH, settings.LOGIN_PASSWORD_MAX_LENGTH
    problems = []
    if not re.fullmatch(r"[A-Za-z0-9]*", new_password):
        problems.append("半角英数字のみ使用できます（記号・全角文字・空白は使用できません）。")
    if not low <= len(new_password) <= high:
        problems.append(f"{low}～{high}桁で入力してください（入力は{len(new_password)}桁です）。")
    if not re.search(r"[A-Za-z]", new_password):
        problems.append("英字を1文字以上含めてください。")
    if not re.search(r"[0-9]", new_password):
        problems.append("数字を1文字以上含めてください。")
    if new_password == customer.contract_id:
        problems.append("契約者IDと同じパスワードは使用できません。")
    if customer.user.check_password(new_password):
        problems.append("現在のパスワードと同じパスワードは使用できません。")
    return problems


class PasswordChangeError(Exception):
    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__("password change refused")


def password_change(*, customer: Customer, current_password: str, new_password: str,
                    ip: str | None, keep_session_key: str | None) -> None:
    """Change the login password (SEC-2/3): ends every other session of the customer and
    emails a notice. Raises PasswordChangeError with Japanese messages."""
    with transaction.atomic():
        credential = credential_for_update(customer, Credential.Kind.PASSWORD)
        if not customer.user.check_password(current_password):
            just_locked = credential_register_failure(credential, ip=ip)
            audit_record(action="password_change", outcome=AuditEvent.Outcome.FAILURE,
                         customer=customer, summary="wrong current password", ip=ip)
            raise PasswordChangeError(
                [LOGIN_LOCKED if just_locked else "現在のログインパスワードが正しくありません。"]
            )
        problems = password_rule_errors(customer=customer, new_password=new_password)
        if problems:
            raise PasswordChangeError(problems)
        credential_register_success(credential)
        user = customer.user
        user.set_password(new_password)
        user.save(update_fields=["password"])
        Customer.objects.filter(pk=customer.pk).update(password_is_initial=False)
        customer.password_is_initial = False
        sessions_end_for_customer(customer, keep_session_key=keep_session_key)
        audit_record(action="password_change", outcome=AuditEvent.Outcome.SUCCESS,
                     customer=customer, ip=ip)
        notice_enqueue(customer=customer, event="password_change",
                       lines=["インターネットバンキングのログインパスワードが変更されました。"])


def session_register(*, customer: Customer, session_key: str) -> None:
    CustomerSession.objects.get_or_create(customer=customer, session_key=session_key)


def sessions_end_for_customer(customer: Customer, *, keep_session_key: str | None = None) -> int:
    """Delete the customer's server-side sessions except ``keep_session_key`` (SEC-12)."""
    keys = list(
        CustomerSession.objects.filter(customer=customer)
        .exclude(session_key=keep_session_key or "")
        .values_list("session_key", flat=True)
    )
    Session.objects.filter(session_key__in=keys).delete()
    CustomerSession.objects.filter(customer=customer, session_key__in=keys).delete()
    return len(keys)
