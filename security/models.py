"""Security state kept in the database: lockout counters per credential and the audit log."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Customer
from notifications.models import DatabaseWrittenChange


class Credential(models.Model):
    """Failure counter and lock of one credential of one customer (SEC-8). Checked and
    bumped under ``SELECT … FOR UPDATE``, so parallel guesses cannot pass the limit."""

    class Kind(models.TextChoices):
        PASSWORD = "password", "ログインパスワード"
        IMAGE_CARD = "image_card", "画像認証"
        OTP = "otp", "ワンタイムパスワード"
        PASSKEY = "passkey", "パスキー"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credentials",
                                 verbose_name="契約者")
    kind = models.CharField("種類", max_length=16, choices=Kind.choices)
    failures = models.PositiveIntegerField("連続失敗回数", default=0)
    locked_at = models.DateTimeField("ロック日時", null=True, blank=True)
    unlocked_at = models.DateTimeField("ロック解除日時", null=True, blank=True)
    # Wrong login passwords typed while the contract was suspended (IB取引中止): staff see
    # it before they resume, and resuming after any such attempt issues a new password.
    failures_while_suspended = models.PositiveIntegerField("IB取引中止中の失敗回数", default=0)

    class Meta:
        verbose_name = "認証情報"
        verbose_name_plural = "認証情報"
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind"], name="credential_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.customer.contract_id} {self.get_kind_display()}"

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class CredentialLockChange(DatabaseWrittenChange):
    """SEC-8, SEC-13 (outside review dbprobe28 F5): one row per lock and per lift of a
    customer's credential (a ``locked_at`` set or cleared, or a locked row removed), written
    by the database alone (trigger ``security_credential_lock_record``, SECURITY DEFINER,
    security 0013) and never changed or removed; the app's role may only read it
    (accounts/db_roles.py). Since security 0014 (CI305) a lock or an unlock needs its
    service's audit row and mail in its transaction; branch staff read this history in
    admin as ロック履歴 (``CredentialLockChangeAdmin``, read-only)."""

    kind = models.CharField("種類", max_length=16, choices=Credential.Kind.choices)
    locked = models.BooleanField("ロック")  # False: the lock lifted
    failures = models.PositiveIntegerField("連続失敗回数")  # after the change

    history_label = "ロック・ロック解除"

    class Meta:
        verbose_name = "ロック履歴"
        verbose_name_plural = "ロック履歴"


class AuditEvent(models.Model):
    """One IB operation or authentication decision (ACCT-4, SEC-13). Written by services
    in the same transaction as the action; never holds a secret."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "正常"
        FAILURE = "failure", "失敗"
        REFUSED = "refused", "拒否"

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="audit_events", null=True, blank=True,
        verbose_name="契約者",
    )
    contract_id = models.CharField("契約者ID", max_length=32, blank=True)
    action = models.CharField("操作", max_length=48)
    outcome = models.CharField("結果", max_length=16, choices=Outcome.choices)
    summary = models.CharField("内容", max_length=128, blank=True)
    client_ip = models.GenericIPAddressField("IPアドレス", null=True, blank=True)
    actor = models.CharField("操作者", max_length=64, blank=True)  # staff username, if any
    created_at = models.DateTimeField("日時", auto_now_add=True, db_index=True)
    # when the database wrote the row (its clock, set by a trigger whatever the INSERT
    # says; security 0009): a row dated back by whoever holds the app's role stands out
    # (manage.py audit_check). Empty on rows written before the column.
    recorded_at = models.DateTimeField("記録日時（データベース）", null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "取引履歴"
        verbose_name_plural = "取引履歴"
        indexes = [models.Index(fields=["customer", "-created_at"], name="audit_customer_time_idx"),
                   # audit_check's nightly window
                   models.Index(fields=["recorded_at"], name="audit_recorded_idx")]

    def __str__(self) -> str:
        """The admin page's title, as the page itself shows the row: Japan time to the
        second, the action's and the outcome's Japanese labels (walk27 F7: UTC and codes,
        「2026-12-07 03:41 1000000002 initial_password_issue success」)."""
        from .audit import action_label, audit_local_time

        return " ".join(part for part in (audit_local_time(self), self.contract_id, action_label(self.action),
                                          self.get_outcome_display()) if part)


class CustomerSession(models.Model):
    """Which server-side sessions belong to a customer, so that a password change or a
    lock can end them all without scanning every session (SEC-12)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


# --- SEC-5: image authentication card (画像認証カード) ------------------------------------


class ImageCard(models.Model):
    """A customer's image authentication card: 50 distinct pictograms in a 5×10 grid
    (rows A–E, columns 1…9,0), drawn with ``secrets``. One active card per customer; a
    reissued card is kept inactive (it no longer answers any challenge)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="image_cards",
                                 verbose_name="契約者")
    # 50 pictogram codes, row-major: A1 … A0, B1 … E0. Never shown to staff after printing.
    layout = models.JSONField("配置")
    is_active = models.BooleanField("有効", default=True)
    issued_at = models.DateTimeField("発行日時", auto_now_add=True)
    issued_by = models.CharField("発行者", max_length=64, blank=True)
    deactivated_at = models.DateTimeField("無効化日時", null=True, blank=True)

    class Meta:
        verbose_name = "画像認証カード"
        verbose_name_plural = "画像認証カード"
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(is_active=True),
                                    name="image_card_one_active_per_customer"),
        ]

    def __str__(self) -> str:
        return f"{self.customer.contract_id} 画像認証カード（{self.issued_at:%Y-%m-%d}）"


class ImageCardChallenge(models.Model):
    """The two cells a customer must answer (SEC-5). Sticky: the same cells and the same
    candidates until answered correctly or the image-card credential locks, across reloads
    and sessions, so a phisher who learnt one cell cannot wait for it to come up."""

    class Closed(models.TextChoices):
        ANSWERED = "answered", "正解"
        LOCKED = "locked", "ロック"
        REISSUED = "reissued", "カード再発行"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="image_card_challenges")
    card = models.ForeignKey(ImageCard, on_delete=models.CASCADE, related_name="challenges")
    cells = models.JSONField()  # grid indexes 0–49 of the two cells, e.g. [12, 49]
    candidates = models.JSONField()  # per cell, the shuffled pictogram codes offered
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=16, choices=Closed.choices, blank=True)

    class Meta:
        verbose_name = "画像認証チャレンジ"
        verbose_name_plural = "画像認証チャレンジ"
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=models.Q(closed_at__isnull=True),
                                    name="image_card_challenge_one_open_per_customer"),
        ]


# --- SEC-6: one-time password software token (ソフトウェアトークン) ---------------------


class OtpToken(models.Model):
    """The bank's record of a customer's software token: its serial number, the TOTP
    device (django-otp) holding the key, and whether OTP is also asked at login."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="otp_token",
                                    verbose_name="契約者")
    device = models.OneToOneField("otp_totp.TOTPDevice", on_delete=models.CASCADE,
                                  related_name="cosei_token", verbose_name="トークン")
    serial = models.CharField("シリアル番号", max_length=12, unique=True)
    required_at_login = models.BooleanField("ログイン時認証", default=False)
    issued_at = models.DateTimeField("発行日時", auto_now_add=True)
    activated_at = models.DateTimeField("利用開始日時", null=True, blank=True)

    class Meta:
        verbose_name = "ワンタイムパスワード（ソフトウェアトークン）"
        verbose_name_plural = "ワンタイムパスワード（ソフトウェアトークン）"

    def __str__(self) -> str:
        return f"{self.customer.contract_id} {self.serial}"

    @property
    def is_active(self) -> bool:
        return self.activated_at is not None


# --- SEC-7 / SEC-14: step-up authorisation of one pending operation -------------------


class StepUp(models.Model):
    """One pending operation awaiting (or having passed) step-up authorisation. The
    content the customer confirmed is held here with its hash; the answer is bound to it,
    expires, and is consumed once (``used_at`` set by a conditional UPDATE)."""

    class Method(models.TextChoices):
        IMAGE_CARD = "image_card", "画像認証"
        OTP = "otp", "ワンタイムパスワード"
        PASSKEY = "passkey", "パスキー"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="step_ups",
                                 verbose_name="契約者")
    kind = models.CharField("取引", max_length=32)
    content = models.JSONField("内容")
    content_hash = models.CharField("内容ハッシュ", max_length=64)
    method = models.CharField("認証方法", max_length=16, choices=Method.choices)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)
    expires_at = models.DateTimeField("有効期限")
    verified_at = models.DateTimeField("認証日時", null=True, blank=True)
    used_at = models.DateTimeField("実行日時", null=True, blank=True)

    class Meta:
        verbose_name = "取引認証"
        verbose_name_plural = "取引認証"
        indexes = [models.Index(fields=["customer", "-created_at"], name="stepup_customer_time_idx")]


class StaffLoginCounter(models.Model):
    """Consecutive failed admin logins of one staff user (SEC-8, STAFF-1): a wrong password
    and a wrong code both count; the fifth locks the user until a superuser lifts it.
    Checked and bumped under ``SELECT … FOR UPDATE`` (``staff_admin.staff_login_authenticate``),
    so parallel guesses cannot pass the limit."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="staff_login_counter", verbose_name="スタッフ")
    failures = models.PositiveIntegerField("連続失敗回数", default=0)
    locked_at = models.DateTimeField("ロック日時", null=True, blank=True)

    class Meta:
        verbose_name = "管理画面ログインのロック"
        verbose_name_plural = "管理画面ログインのロック"

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class Passkey(models.Model):
    """A WebAuthn credential of one customer (SEC-16): its public key, never a secret."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="passkeys",
                                 verbose_name="契約者")
    name = models.CharField("名前", max_length=32)
    credential_id = models.BinaryField("クレデンシャルID", max_length=1023)
    public_key = models.BinaryField("公開鍵")
    sign_count = models.BigIntegerField("署名カウンタ", default=0)
    transports = models.JSONField("トランスポート", default=list, blank=True)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)
    last_used_at = models.DateTimeField("最終利用日時", null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "パスキー"
        verbose_name_plural = "パスキー"
        constraints = [models.UniqueConstraint(fields=["credential_id"], name="passkey_credential_unique")]
        permissions = [("reset_passkeys", "お客様のパスキーを一括削除できる")]

    def __str__(self) -> str:
        return f"{self.customer.contract_id} {self.name}"


class WebAuthnChallenge(models.Model):
    """One WebAuthn ceremony's challenge, used once (``used_at`` set by a conditional
    UPDATE). For a step-up the challenge is SHA-256(content hash ‖ nonce): the signed
    assertion is bound to exactly the confirmed operation (SEC-14/16)."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "登録"
        LOGIN = "login", "ログイン"
        STEP_UP = "step_up", "取引認証"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="webauthn_challenges")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    nonce = models.BinaryField(max_length=64)
    challenge = models.BinaryField(max_length=64)
    stepup = models.ForeignKey(StepUp, on_delete=models.CASCADE, null=True, blank=True)
    name = models.CharField(max_length=32, blank=True)  # the passkey's name, on registration
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["challenge"], name="webauthn_challenge_unique")]
