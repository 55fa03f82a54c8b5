"""The mail outbox (NOTE-3): a message is written in the same transaction as the event it
tells about, and sent later by the worker. A rolled-back action leaves no message; a crash
after commit loses none."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import Customer


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "未送信"
        SENT = "sent", "送信済"
        FAILED = "failed", "送信失敗"
        SKIPPED = "skipped", "送信対象外"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="outbox")
    event = models.CharField(max_length=48)
    to = models.EmailField(blank=True)
    subject = models.CharField(max_length=128)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # when the worker may try (again): now for a new message, later after a failed send
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "送信メール"
        verbose_name_plural = "送信メール"
        indexes = [
            # the worker's claim: pending rows that are due, in order of due time
            models.Index(fields=["next_attempt_at", "id"], name="outbox_pending_idx",
                         condition=models.Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.customer.contract_id} ({self.status})"
