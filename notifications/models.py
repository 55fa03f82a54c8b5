"""The mail outbox (NOTE-3): a message is written in the same transaction as the event it
tells about, and sent later by the worker. A rolled-back action leaves no message; a crash
after commit loses none."""

from __future__ import annotations

import json
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import Customer

# event -> subject (NOTE-1). The body says what happened and when, never a secret.
SUBJECTS = {
    "password_change": "ログインパスワード変更のお知らせ",
    "lockout": "お取引ロックのお知らせ",
    "unlock": "ロック解除のお知らせ",
    "ib_suspend": "IB取引中止のお知らせ",
    "ib_resume": "IB取引再開のお知らせ",
    "otp_activate": "ワンタイムパスワード利用開始のお知らせ",
    "otp_login_setting": "ワンタイムパスワードのログイン時認証設定変更のお知らせ",
    "otp_revoke": "ワンタイムパスワード利用停止のお知らせ",
    "card_issue": "画像認証カード発行のお知らせ",
    "initial_password_issue": "初回ログインパスワード再発行のお知らせ",
    "deposit": "ご入金のお知らせ",
    "withdrawal": "お引出しのお知らせ",
    "limit_change": "利用限度額変更のお知らせ",
    "account_change": "口座の状態変更のお知らせ",
    "email_change": "Ｅメール設定変更のお知らせ",
    # dbprobe32 F3: the choice of notices has its own event, apart from the address's mails
    "notice_choice": "通知設定変更のお知らせ",
    "email_verify": "Ｅメールアドレス確認コードのお知らせ",
    "transfer_executed": "予約振込実行のお知らせ",
    "transfer_unprocessed": "予約振込未処理のお知らせ",
    "passkey_add": "パスキー登録のお知らせ",
    "passkey_remove": "パスキー削除のお知らせ",
    "passkey_only": "パスキーでのみログインの設定変更のお知らせ",
    "transfer_accepted": "振込受付のお知らせ",
    "transfer_scheduled": "振込予約受付のお知らせ",
    "transfer_cancelled": "振込予約取消のお知らせ",
    "transfer_cancelled_staff": "振込予約取消（窓口）のお知らせ",
    "payeasy_accepted": "税金・各種料金の払込み受付のお知らせ",
    "login": "ログインのお知らせ",
    "transfer_returned": "振込資金返却のお知らせ",
}


# The events of the mails the database's "the customer was told" rules count (a mail of the
# transaction, pending to the customer's address): CI310 and CI311 (notifications 0022, 0026),
# the passwords and credentials, lock and IB中止 rules (security), the image card, OTP and passkey
# rules, and the 予約振込 cancel and batch rules (transfers). A mail of one of them that the app
# did not seal (written by SQL) is not sent as written; the sender sends the event's fixed notice
# in its place (``notifications.services.unsealed_notice``, dbprobe32 F1).
TOLD_EVENTS = frozenset({
    "email_change", "notice_choice",
    "password_change", "initial_password_issue", "lockout", "unlock", "ib_suspend", "ib_resume",
    "card_issue", "otp_activate", "otp_login_setting", "otp_revoke",
    "passkey_add", "passkey_remove", "passkey_only",
    "transfer_cancelled", "transfer_cancelled_staff", "transfer_executed", "transfer_unprocessed",
})


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "未送信"
        SENT = "sent", "送信済"
        FAILED = "failed", "送信失敗"
        SKIPPED = "skipped", "送信対象外"

    # Japanese names: staff read them as the admin's column and field labels (UI-1)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="outbox",
                                 verbose_name="契約者")
    event = models.CharField("種類", max_length=48)
    to = models.EmailField("宛先", blank=True)
    subject = models.CharField("件名", max_length=128)
    body = models.TextField("本文")
    status = models.CharField("状態", max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField("送信試行回数", default=0)
    # when the worker may try (again): now for a new message, later after a failed send
    next_attempt_at = models.DateTimeField("次回送信予定", default=timezone.now)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    sent_at = models.DateTimeField("送信日時", null=True, blank=True)
    # dbprobe31 F1: the app's role wrote a mail of its own choosing (a phishing link, from the
    # bank's signed sender) with one INSERT. The app's writers seal what they write with a
    # key from SECRET_KEY, which the database never holds; the worker signs and sends only
    # a mail whose seal is right (``sealed``).
    seal = models.CharField("封緘", max_length=64, blank=True, db_default="")
    # dbprobe32 F1: a copy of an older sealed mail (INSERT … SELECT, seal included) was sealed
    # right too, and met every "the customer was told" rule with a text about something else.
    # Each mail's seal covers a random nonce of its own, so no two seals are equal, and a
    # seal is unique in the table (notifications 0024): a copy fails at its INSERT (23505).
    seal_nonce = models.CharField("封緘の乱数", max_length=64, blank=True, default="", db_default="")
    SEAL_SALT = "cosei_ib.notifications.OutboxMessage.seal"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "送信メール"
        verbose_name_plural = "送信メール"
        permissions = [("retry_outboxmessage", "送信失敗のメールを再送できる")]
        indexes = [
            # the worker's claim: pending rows that are due, in order of due time
            models.Index(fields=["next_attempt_at", "id"], name="outbox_pending_idx",
                         condition=models.Q(status="pending")),
            # /health/'s check of the failed mails for unsealed ones (notifications.selectors)
            models.Index(fields=["created_at"], name="outbox_failed_idx", condition=models.Q(status="failed")),
        ]
        constraints = [
            # dbprobe32 F1: a copied mail (its seal with it) fails at its INSERT (notifications 0024)
            models.UniqueConstraint(fields=["seal"], name="outbox_seal_unique", condition=~models.Q(seal="")),
        ]

    def seal_for(self, secret: str | None = None) -> str:
        """The seal of what this mail says, to whom and its nonce (``secret``: SECRET_KEY
        unless given). Without a nonce it is the seal of notifications 0021 (0024 reads it)."""
        fields = [self.customer_id, self.event, self.to, self.subject, self.body]
        content = json.dumps([*fields, self.seal_nonce] if self.seal_nonce else fields, ensure_ascii=False)
        return salted_hmac(self.SEAL_SALT, content, secret=secret, algorithm="sha256").hexdigest()

    def sealed_now(self) -> OutboxMessage:
        """This mail with a new nonce and its seal set (the writers call it before the INSERT)."""
        self.seal_nonce = secrets.token_hex(16)
        self.seal = self.seal_for()
        return self

    def seal_is_right(self, *, nonce_needed: bool = True) -> bool:
        """Whether the seal is right for the mail as it stands, under SECRET_KEY or one of
        SECRET_KEY_FALLBACKS (a key being rotated out still lets its pending mails go)."""
        keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        return bool(self.seal) and (bool(self.seal_nonce) or not nonce_needed) and any(
            constant_time_compare(self.seal, self.seal_for(key)) for key in keys)

    def is_sealed(self) -> bool:
        """Whether the app wrote this mail as it stands, with a nonce of its own (a seal of
        0021's form, without one, is no longer the app's: 0024 resealed the waiting ones)."""
        return self.seal_is_right()

    @property
    def event_label(self) -> str:
        return SUBJECTS.get(self.event, self.event)

    def __str__(self) -> str:
        # staff read it as the message page's title and in the list's labels (STAFF-1)
        return f"{self.event_label} → {self.customer.contract_id}（{self.get_status_display()}）"


class NoticePreference(models.Model):
    """The customer's choice of optional notices (NOTE-2, Ｅメール設定). Security notices
    (password, lockout, IB中止, limit, address …) are always sent and have no switch.
    No row means the defaults below."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="notice_preference")
    postings = models.BooleanField("入出金のお知らせ", default=True)
    receipts = models.BooleanField("振込・ペイジーの受付のお知らせ", default=True)
    login = models.BooleanField("ログインのお知らせ", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "通知の選択"
        verbose_name_plural = "通知の選択"


class EmailChangeRequestQuerySet(models.QuerySet):
    def open(self):
        """The requests still waiting for their code (at most one per customer)."""
        return self.filter(ended_at__isnull=True)

    def end(self, outcome: str) -> int:
        """End the open ones among these (they stay, CI241) with ``outcome`` (an Outcome but
        OPEN); the database dates the end."""
        return self.open().update(ended_at=timezone.now(), outcome=outcome)


class EmailChangeRequest(models.Model):
    """A registration or change of the address waiting for the code sent to the new
    address (NOTE-2). At most one open per customer: a new request ends the old one, so a
    code sent to an earlier address no longer works. Only an HMAC of the code is kept.

    A request is never deleted, only ended (notifications 0016, dbprobe27 F6b): it is the
    proof that the 確認コード mail to its address was the service's — the app's role wrote a
    request, a mail with any text to its address, and deleted the request after the commit."""

    class Outcome(models.TextChoices):
        OPEN = "", "確認待ち"
        CONFIRMED = "confirmed", "変更済"
        REPLACED = "replaced", "新しい申込みで無効"
        EXPIRED = "expired", "期限切れ"
        TOO_MANY = "too_many", "誤り回数超過"
        REMOVED = "removed", "アドレス削除で無効"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="email_change_requests")
    new_email = models.EmailField("新しいアドレス")
    code_hash = models.CharField(max_length=64)
    failures = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField("終了日時", null=True, blank=True)  # the database's clock
    outcome = models.CharField("結果", max_length=16, choices=Outcome.choices, default=Outcome.OPEN,
                               db_default=Outcome.OPEN, blank=True)

    objects = EmailChangeRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "アドレス確認待ち"
        verbose_name_plural = "アドレス確認待ち"
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(ended_at__isnull=True),
                                    name="email_change_request_one_open"),
        ]


class PostingNotice(models.Model):
    """One entry on a customer account waiting to become a 入出金 notice (NOTE-1).

    Rows are written only by the database trigger ``notifications_entry_notice`` on
    ``accounts_entry`` (migration 0004), in the transaction of the posting, so every
    journal — whatever code posted it — leaves one; the worker turns them into outbox
    messages (``processed_at``)."""

    entry = models.OneToOneField("accounts.Entry", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(OutboxMessage, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")

    class Meta:
        verbose_name = "入出金通知待ち"
        verbose_name_plural = "入出金通知待ち"
        indexes = [
            models.Index(fields=["id"], name="posting_notice_pending_idx",
                         condition=models.Q(processed_at__isnull=True)),
        ]


# NOTE-2: the customer's choices of optional notices, in the customer's and staff's words
PREFERENCE_LABELS = {"postings": "入出金", "receipts": "振込・ペイジーの受付", "login": "ログイン"}


def choice_said(value: bool) -> str:
    return "受け取る" if value else "受け取らない"


class DatabaseWrittenChange(models.Model):
    """A row of a history the database alone writes (a SECURITY DEFINER trigger) and never
    changes: whose, when by the database's clock, in which transaction, by which DB user."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+", db_index=False,
                                 verbose_name="契約者")
    changed_at = models.DateTimeField("変更日時")  # clock_timestamp()
    xact_id = models.BigIntegerField("トランザクションID")  # pg_current_xact_id()
    db_user = models.CharField("DBユーザー", max_length=64)  # session_user

    # what the row records, in its admin page's title (walk26 F12: 「EmailAddressChange object (1)」)
    history_label = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        when = timezone.localtime(self.changed_at)
        return (f"{self.customer.contract_id} {self.history_label}"
                f"（{when.year}年{when.month}月{when.day}日 {when:%H:%M:%S}）")


class EmailAddressChange(DatabaseWrittenChange):
    """NOTE-1, NOTE-2 (dbprobe25 F5): one row per change of a customer's registered
    address, written by the database alone (trigger ``notifications_email_change_record``
    on accounts_customer, SECURITY DEFINER, migration 0010) and never changed or removed;
    the app's role may only read it (accounts/db_roles.py). It is the trace of an address
    changed behind the customer's back, and what lets the outbox guard accept the one mail
    that goes to an address the customer no longer has: the notice of the change (or
    removal) to the OLD address, written by the same transaction (``xact_id``)."""

    old_email = models.CharField("変更前のアドレス", max_length=254, blank=True)
    new_email = models.CharField("変更後のアドレス", max_length=254, blank=True)

    history_label = "アドレス変更"

    class Meta:
        verbose_name = "アドレス変更履歴"
        verbose_name_plural = "アドレス変更履歴"
        indexes = [models.Index(fields=["customer", "xact_id"], name="email_change_customer_xact_idx")]


class NoticePreferenceChange(DatabaseWrittenChange):
    """NOTE-1, NOTE-2 (dbprobe25 F5): one row per change of a customer's choice of optional
    notices (入出金・受付・ログインのお知らせ), written by the database alone (trigger
    ``notifications_preference_change_record`` on notifications_noticepreference, SECURITY
    DEFINER, migration 0011) and never changed or removed; the app's role may only read it
    (accounts/db_roles.py). 入出金のお知らせ turned off behind the customer's back — no mail
    for the withdrawals that follow — leaves this trace. No preference row means the
    defaults (入出金 and 受付 on, ログイン off): a first row or a removed one is told against
    them."""

    postings_before = models.BooleanField("入出金のお知らせ（変更前）")
    postings_after = models.BooleanField("入出金のお知らせ（変更後）")
    receipts_before = models.BooleanField("振込・ペイジーの受付のお知らせ（変更前）")
    receipts_after = models.BooleanField("振込・ペイジーの受付のお知らせ（変更後）")
    login_before = models.BooleanField("ログインのお知らせ（変更前）")
    login_after = models.BooleanField("ログインのお知らせ（変更後）")

    history_label = "通知設定の変更"

    class Meta:
        verbose_name = "通知設定の変更履歴"
        verbose_name_plural = "通知設定の変更履歴"
        indexes = [models.Index(fields=["customer", "changed_at"], name="preference_change_customer_idx")]

    def changes(self) -> list[str]:
        """What changed, in staff's words: 「入出金のお知らせ：受け取る → 受け取らない」."""
        return [f"{label}のお知らせ：{choice_said(getattr(self, f'{field}_before'))} → "
                f"{choice_said(getattr(self, f'{field}_after'))}"
                for field, label in PREFERENCE_LABELS.items()
                if getattr(self, f"{field}_before") != getattr(self, f"{field}_after")]
