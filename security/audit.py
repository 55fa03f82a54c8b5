"""The audit log (ACCT-4, SEC-13): one function writes it; actions have Japanese labels."""

from __future__ import annotations

import ipaddress
import logging
import re
import unicodedata

from django.conf import settings

from accounts.models import Customer
from cosei_ib.textinput import digits_typed_in_groups

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
    "timeout": "自動ログアウト",  # idle or 2 hours: the customer did nothing wrong (walk30 note)
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
    "staff_timeout": "管理画面の自動ログアウト",
    "account_change": "口座の状態・拘束額の変更",
    "transfer": "振込",
    "transfer_schedule": "振込予約",
    "transfer_cancel": "振込予約取消",
    "transfer_cancel_staff": "振込予約取消（窓口）",
    "transfer_batch": "予約振込の一括実行",
    "transfer_lookup": "口座名義確認",
    "payee_register": "振込先登録",
    "payee_rename": "振込先の登録名変更",
    "payee_delete": "振込先削除",
    "staff_fee_change": "振込手数料の変更（職員）",
    "staff_transfer_settings": "利用限度額の上限の変更（職員）",
    "staff_transfer_view": "振込の照会（職員）",
    "staff_interbank_demo": "他行口座シミュレータの変更（職員）",
    "staff_closing_day": "臨時休業日の登録・削除（職員）",
    "staff_biller_change": "収納機関・請求の登録・変更（職員）",
    "payeasy": "税金・各種料金の払込み",
    "payeasy_lookup": "税金・各種料金の払込み（請求の照会）",
    "payeasy_block": "税金・各種料金の払込みの利用停止（番号の誤入力）",
    "payeasy_link": "税金・各種料金の払込み（情報リンク）",
    "email_change": "Eメール設定",
    "outbox_retry": "通知メールの再送（職員）",
    "limit_change": "利用限度額変更",
    "staff_login": "管理画面ログイン（職員）",
    "staff_login_unlock": "管理画面ログインのロック解除（職員）",
    "staff_refused": "権限のない管理画面の操作（職員）",
    "login_passkey": "ログイン（パスキー）",
    "passkey_register": "パスキー登録",
    "passkey_delete": "パスキー削除",
    "passkey_only": "パスキーでのみログインの設定",
    "passkey_reset": "パスキーの一括削除（窓口）",
    "interbank_outgoing": "仕向ファイル作成（職員）",
    "interbank_download": "仕向ファイルのダウンロード（職員）",
    "interbank_return": "振込資金返却（職員）",
    "interbank_incoming": "被仕向ファイル取込（職員）",
    "interbank_incoming_return": "入金不能明細の返却（職員）",
    "interbank_incoming_release": "入金保留明細の入金（職員）",
}


# Summaries older rows were written with as codes (the session's end reason), in Japanese.
def _timeout_labels() -> dict[str, str]:
    """Why a session was ended, in the limits as configured (walk31 F7: 「所定の時間」 where
    the logged-out page says 「2時間」)."""
    idle, absolute = settings.SESSION_IDLE_SECONDS, settings.SESSION_ABSOLUTE_SECONDS
    after = f"{absolute // 3600}時間" if absolute % 3600 == 0 else f"{absolute // 60}分"
    return {"idle": f"{idle // 60}分間操作がなかったため", "absolute": f"ログインから{after}が経過したため"}


# A transfer's or payment's 受付番号 reads 「受付番号 3」 in every summary (the done pages'
# style). Older rows wrote 「#3」 (transfers) and 「受付番号26120554682611」 (Pay-easy): shown
# the same way (walk22); audit rows are never rewritten.
_OLD_REFERENCE = re.compile(r"受付番号(?=[0-9A-Za-z])|(?:^|(?<=\s))#(?=\d)")


def reference_text(reference) -> str:
    """「受付番号 3」: how an audit summary names a transfer or payment."""
    return f"受付番号 {reference}"


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def summary_label(summary: str) -> str:
    return _OLD_REFERENCE.sub("受付番号 ", _timeout_labels().get(summary, summary))


# Between a row's summary and its staff-only detail (``audit_record(staff_detail=…)``):
# admin shows the whole text, the customer's 取引履歴照会 only what comes before it.
STAFF_DETAIL_MARK = " ／当金庫記録："


def summary_for_customer(summary: str) -> str:
    """The part of a summary the customer may read: without the staff-only detail — an
    internal id, or text the request chose (an ``?account=`` value), meaningless or
    misleading to the customer (walk25 F13)."""
    return summary_label(summary.split(STAFF_DETAIL_MARK, 1)[0])


def audit_local_time(event: AuditEvent) -> str:
    """The event's time in the bank's zone (Asia/Tokyo), to the second, for staff and
    customers alike."""
    from django.utils import timezone

    return f"{timezone.localtime(event.created_at):%Y/%m/%d %H:%M:%S}"


def _ip_or_none(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The customer's address (SEC-13). Behind ``SECURITY_TRUSTED_PROXY_COUNT`` reverse
    proxies, each appends the address it received the request from to ``X-Forwarded-For``;
    the client's is the one the outermost trusted proxy appended, counted from the right.
    Entries further left are the visitor's own claim and are never used. A missing or
    malformed entry falls back to the direct peer (``REMOTE_ADDR``); None if that is no
    address either."""
    if request is None:
        return None
    proxies = settings.SECURITY_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [entry for entry in forwarded if entry]
        if len(forwarded) >= proxies:
            address = _ip_or_none(forwarded[-proxies])
            if address is not None:
                return address
    return _ip_or_none(request.META.get("REMOTE_ADDR"))


# Column sizes of AuditEvent.
_LIMITS = {"contract_id": 32, "action": 48, "summary": 128, "actor": 64}


def audit_text(value: str, limit: int) -> str:
    """``value`` safe for one log line and a text column (SEC-13): control and line/format
    characters (NUL, CR, LF, ESC, U+2028, bidi overrides …) are escaped as ``\\xNN`` /
    ``\\uNNNN`` so nothing a visitor types can start a forged log line or break the insert
    (PostgreSQL refuses NUL); then truncated to ``limit``."""
    out = []
    for char in str(value or ""):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            code = ord(char)
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
                       or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"))
        else:
            out.append(char)
    return "".join(out)[:limit]


def audit_contract_id_typed(value: str) -> str:
    """What an unknown-ID login attempt may keep of the typed contract ID. It may be a
    password typed into the wrong field, so only a digits-only input is kept, truncated:
    no login password is digits only (SEC-2 needs a letter). Digits are read as the login
    form reads an ID (``digits_typed_in_groups``: 全角 made half-width, the blanks and
    hyphens typed between groups dropped), so the row keeps what the form saw. Anything
    else is dropped entirely — keeping its digits would keep part of a password."""
    compact = digits_typed_in_groups(value or "")
    return compact[:16] if re.fullmatch(r"[0-9]+", compact, flags=re.ASCII) else ""


def audit_record(
    *,
    action: str,
    outcome: str,
    customer: Customer | None = None,
    contract_id: str = "",
    summary: str = "",
    ip: str | None = None,
    actor: str = "",
    staff_detail: str = "",
) -> AuditEvent:
    """Write one audit row (in the caller's transaction) and log the decision in English.
    Every text is passed through ``audit_text`` first: a row or log line can neither be
    forged by a newline nor fail on a NUL byte, whatever a caller puts in ``summary``.
    ``staff_detail`` is kept after ``summary`` for staff (admin) and never shown to the
    customer (``summary_for_customer``); it comes last, so the cut keeps it out."""
    if staff_detail:
        summary = f"{summary}{STAFF_DETAIL_MARK}{staff_detail}"
    contract_id = customer.contract_id if customer is not None else contract_id
    contract_id = audit_text(contract_id, _LIMITS["contract_id"])
    action = audit_text(action, _LIMITS["action"])
    actor = audit_text(actor, _LIMITS["actor"])
    ip = _ip_or_none(ip)
    event = AuditEvent.objects.create(
        customer=customer, contract_id=contract_id, action=action, outcome=outcome,
        summary=audit_text(summary, _LIMITS["summary"]), client_ip=ip, actor=actor,
    )
    logger.info("audit action=%s outcome=%s contract=%s ip=%s actor=%s",
                action, outcome, contract_id or "-", ip or "-", actor or "-")
    return event
