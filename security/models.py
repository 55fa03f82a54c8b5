"""Security state kept in the database: lockout counters per credential and the audit log."""

from __future__ import annotations

from django.db import models

from accounts.models import Customer


class Credential(models.Model):
    """Failure counter and lock of one credential of one customer (SEC-8). Checked and
    bumped under ``SELECT … FOR UPDATE``, so parallel guesses cannot pass the limit."""

    class Kind(models.TextChoices):
        PASSWORD = "password", "ログインパスワード"
        IMAGE_CARD = "image_card", "画像認証"
        OTP = "otp", "ワンタイムパスワード"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    failures = models.PositiveIntegerField("連続失敗回数", default=0)
    locked_at = models.DateTimeField("ロック日時", null=True, blank=True)
    unlocked_at = models.DateTimeField("ロック解除日時", null=True, blank=True)

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


class AuditEvent(models.Model):
    """One IB operation or authentication decision (ACCT-4, SEC-13). Written by services
    in the same transaction as the action; never holds a secret."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "正常"
        FAILURE = "failure", "失敗"
        REFUSED = "refused", "拒否"

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="audit_events", null=True, blank=True
    )
    contract_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=48)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    summary = models.CharField("内容", max_length=128, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    actor = models.CharField("操作者", max_length=64, blank=True)  # staff username, if any
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "取引履歴"
        verbose_name_plural = "取引履歴"
        indexes = [models.Index(fields=["customer", "-created_at"], name="audit_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.contract_id} {self.action} {self.outcome}"


class CustomerSession(models.Model):
    """Which server-side sessions belong to a customer, so that a password change or a
    lock can end them all without scanning every session (SEC-12)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
