"""取引履歴照会 (ACCT-4): the customer's own IB operations of the last 3 months.

Selector and view live together here (one idea, one screen); the audit rows themselves are
written by every service through ``security.audit.audit_record``.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Customer, account_number_masked
from cosei_ib.replica import read_alias

from .audit import action_label, audit_local_time, summary_for_customer
from .decorators import customer_required
from .models import AuditEvent, Credential

HISTORY_DAYS = 92  # 過去３ヶ月分
PAGE_SIZE = 50
# The operations whose summary, when they succeed, is the customer's own content — what
# was sent where, paid to whom, registered or changed (written by transfers and payeasy
# from the customer's confirmed input; the scheduled batch's rows say which reservation
# ran). Any other success's summary may be a staff note and stays in admin.
# 振込資金返却 is staff's, but its summary is the record's own (受付番号, payee, amount and
# the reason chosen from InterbankReturn.Reason — no note): the customer reads which
# transfer came back and why (walk25 F22: the row said nothing).
# Eメール設定's are the customer's own, addresses masked: 「アドレス変更受付（確認コード
# 送信先 …）」 then 「アドレス変更 … → …」 (walk27 F8: two identical empty rows did not tell
# the request from the completion).
CONTENT_ACTIONS = frozenset({
    "transfer", "transfer_schedule", "transfer_cancel", "payeasy",
    "payee_register", "payee_rename", "payee_delete", "limit_change", "interbank_return",
    "email_change",
    "timeout",  # which limit ended the session (「15分間操作がなかったため」), written by the middleware
})
# 窓口入金's summary is staff's: 「<口座番号> <金額>円 伝票<伝票番号>」 (the shape the ledger's
# key guard asks of it, payeasy 0010). The customer reads the account, masked, and the
# amount — never the full number or the slip (walk27 F8: four identical empty rows).
_COUNTER_DEPOSIT = re.compile(r"(\d{4,}) (?:.* )?([\d,]+円) 伝票")


def _counter_deposit_detail(summary: str) -> str:
    deposit = _COUNTER_DEPOSIT.match(summary)
    return f"口座 {account_number_masked(deposit[1])} {deposit[2]}" if deposit else ""


# Staff's own work on a customer that changes nothing of the customer's (walk26 F5): a
# look at their transfers in admin, the printing of the card staff issued (the issue is
# shown: 画像認証カード発行), a notice mail sent again. Shown under 「お心当たりのない操作が
# ある場合は、至急当金庫までご連絡ください」 they only made customers call; staff read them in
# admin (操作ログ). Every staff action that changes the customer's state stays: 窓口入金,
# 口座の状態・拘束額の変更, ロック解除, IB取引中止／再開, 初回パスワード再発行, 画像認証カード発行,
# パスキーの一括削除, 振込予約取消（窓口）, 振込資金の返却 (docs/security.md).
STAFF_ONLY_ACTIONS = frozenset({"staff_transfer_view", "card_print", "outbox_retry"})


def audit_history_for_customer(*, customer: Customer, now: dt.datetime | None = None,
                               using: str = "default"):
    """The customer's own audit rows since three months ago, newest first (from ``using``:
    the replica unless the customer just wrote, cosei_ib.replica), without staff's own work
    (``STAFF_ONLY_ACTIONS``)."""
    since = (now or timezone.now()) - dt.timedelta(days=HISTORY_DAYS)
    return (AuditEvent.objects.using(using).filter(customer=customer, created_at__gte=since)
            .exclude(action__in=STAFF_ONLY_ACTIONS).order_by("-created_at", "-id"))


# The customer's words for staff's actions they see (walk26 F15): 「（職員）」 is admin's.
CUSTOMER_ACTION_LABELS = {"interbank_return": "振込資金の返却（当金庫）"}
# Who acted, where the row has no client address: the branch, or the bank's own jobs (the
# scheduled batch executing the customer's 予約 is no 窓口).
SYSTEM_ACTORS = frozenset({"batch", "manage.py"})


def customer_action_label(action: str) -> str:
    return CUSTOMER_ACTION_LABELS.get(action) or action_label(action).replace("（職員）", "（当金庫）")


def _credential_named(summary: str) -> str:
    """The credential a staff unlock was for (「ログインパスワード」, 「画像認証」 …): the
    summary's head before the staff's reason, only when it is one of the credentials' names."""
    head = summary.split("：", 1)[0]
    return head if any(head.startswith(label) for label in Credential.Kind.labels) else ""


def _detail(event: AuditEvent) -> str:
    """What was refused or failed (「アクセス拒否」 alone says nothing), and what a money or
    payee operation did; nothing else (CONTENT_ACTIONS)."""
    if event.action == "counter_deposit":
        return _counter_deposit_detail(event.summary)
    if event.actor and event.action == "unlock":
        return _credential_named(event.summary)  # which lock was lifted, never staff's reason
    if event.actor and event.action == "transfer_cancel_staff" and event.outcome == AuditEvent.Outcome.SUCCESS:
        # which 予約 the branch cancelled (受付番号, 振込日, 金額), never staff's reason (walk29 F5)
        return summary_for_customer(event.summary.split(" 理由：", 1)[0])
    if event.actor and event.action not in CONTENT_ACTIONS:
        return ""  # branch staff's action: that it happened, never their note (the reason)
    if event.outcome != AuditEvent.Outcome.SUCCESS:
        return summary_for_customer(event.summary)
    return summary_for_customer(event.summary) if event.action in CONTENT_ACTIONS else ""


@customer_required
@require_http_methods(["GET", "HEAD"])
def history_view(request):
    paginator = Paginator(audit_history_for_customer(customer=request.customer,
                                                     using=read_alias(request)), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        {"at": audit_local_time(event), "label": customer_action_label(event.action),
         "outcome": event.get_outcome_display(), "ok": event.outcome == AuditEvent.Outcome.SUCCESS,
         "detail": _detail(event),
         "ip": event.client_ip or ("当金庫（自動処理）" if event.actor in SYSTEM_ACTORS
                                   else "当金庫窓口" if event.actor else "")}
        for event in page.object_list
    ]
    return render(request, "history/history.html", {"page": page, "rows": rows, "days": HISTORY_DAYS})
