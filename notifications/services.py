"""Writes to the outbox. Call inside the transaction of the action being told about."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer

from .models import OutboxMessage

# event -> subject (NOTE-1). The body says what happened and when, never a secret.
SUBJECTS = {
    "password_change": "ログインパスワード変更のお知らせ",
    "lockout": "お取引ロックのお知らせ",
    "unlock": "ロック解除のお知らせ",
    "ib_suspend": "IB取引中止のお知らせ",
    "ib_resume": "IB取引再開のお知らせ",
    "otp_activate": "ワンタイムパスワード利用開始のお知らせ",
    "card_issue": "画像認証カード発行のお知らせ",
    "initial_password_issue": "初回ログインパスワード再発行のお知らせ",
    "deposit": "ご入金のお知らせ",
    "withdrawal": "お引出しのお知らせ",
    "limit_change": "利用限度額変更のお知らせ",
    "account_change": "口座の状態変更のお知らせ",
    "email_change": "Eメール設定変更のお知らせ",
    "transfer": "お振込受付のお知らせ",
    "transfer_executed": "予約振込実行のお知らせ",
    "transfer_unprocessed": "予約振込未処理のお知らせ",
}


def notice_enqueue(*, customer: Customer, event: str, lines: list[str]) -> OutboxMessage:
    """Queue a notice to the customer's registered address, in the caller's transaction.
    Without an address the row is kept as ``skipped`` (staff can see what was not sent)."""
    now = timezone.localtime()
    body = "\n".join(
        [f"{customer.name_kanji} 様", "", *lines, "",
         f"受付日時：{now:%Y年%m月%d日 %H時%M分}", "",
         "お心当たりのない場合は、至急当金庫までご連絡ください。",
         f"{settings.BANK_NAME} インターネットバンキング",
         "インターネットバンキングお問い合わせ窓口 0120-054-852（平日 9:00～16:30）"]
    )
    message = OutboxMessage.objects.create(
        customer=customer,
        event=event,
        to=customer.email,
        subject=f"【{settings.BANK_SHORT_NAME}】{SUBJECTS.get(event, 'お知らせ')}",
        body=body,
        status=OutboxMessage.Status.PENDING if customer.email else OutboxMessage.Status.SKIPPED,
    )
    if customer.email:
        transaction.on_commit(_wake_sender)
    return message


def _wake_sender() -> None:
    """Ask the worker to send now rather than at its next periodic sweep."""
    from .tasks import outbox_send

    try:
        outbox_send.defer()
    except Exception:  # noqa: BLE001 - the periodic sweep sends it anyway
        pass
