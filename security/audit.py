"""The audit log (ACCT-4, SEC-13): one function writes it; actions have Japanese labels."""

from __future__ import annotations

import logging

from accounts.models import Customer

from .models import AuditEvent

logger = logging.getLogger("security.audit")

# action code -> label shown in 取引履歴照会
ACTION_LABELS = {
    "login": "ログイン",
    "logout": "ログアウト",
    "login_otp": "ログイン（ワンタイムパスワード）",
    "password_change": "ログインパスワード変更",
    "lockout": "ロック",
    "unlock": "ロック解除",
    "timeout": "強制ログアウト",
    "otp_activate": "ワンタイムパスワード利用開始",
    "otp_activate_identify": "ワンタイムパスワード利用開始（利用者認証）",
    "otp_login_setting": "ワンタイムパスワードのログイン時認証設定",
    "otp_revoke": "ワンタイムパスワード利用停止",
    "step_up": "取引認証",
    "ib_suspend": "IB取引中止",
    "ib_resume": "IB取引再開",
    "access_refused": "アクセス拒否",
    "card_issue": "画像認証カード発行",
    "card_print": "画像認証カード印刷",
    "initial_password_issue": "初回パスワード再発行",
    "counter_deposit": "窓口入金",
    "account_change": "口座の状態・拘束額の変更",
    "transfer": "振込",
    "transfer_schedule": "振込予約",
    "transfer_cancel": "振込予約取消",
    "payeasy": "税金・各種料金の払込み",
    "email_change": "Eメール設定",
    "limit_change": "利用限度額変更",
}


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit_record(
    *,
    action: str,
    outcome: str,
    customer: Customer | None = None,
    contract_id: str = "",
    summary: str = "",
    ip: str | None = None,
    actor: str = "",
) -> AuditEvent:
    """Write one audit row (in the caller's transaction) and log the decision in English."""
    contract_id = customer.contract_id if customer is not None else contract_id[:32]
    event = AuditEvent.objects.create(
        customer=customer, contract_id=contract_id, action=action, outcome=outcome,
        summary=summary[:128], client_ip=ip, actor=actor,
    )
    logger.info("audit action=%s outcome=%s contract=%s ip=%s actor=%s",
                action, outcome, contract_id or "-", ip or "-", actor or "-")
    return event
