"""Refusals of the transfers app; ``message`` is Japanese, for the customer."""

from __future__ import annotations


class TransferError(Exception):
    """``final``: the confirmed operation can never succeed any more (the 予約 is no longer
    予約中, its day has passed), so the confirm page is not shown again to be retried:
    the customer goes back to the input page with the message (security.stepup_flow).
    ``audit_summary``: the operation's own 取引履歴 row for this refusal (「受付番号 12 …」),
    which it cannot keep itself when its transaction rolls back: the step-up flow writes it
    as 拒否 instead of a bare 失敗 (walk29 F5)."""

    def __init__(self, message: str, *, final: bool = False, audit_summary: str = "") -> None:
        self.message = message
        self.final = final
        self.audit_summary = audit_summary
        super().__init__(message)


class TransferRefused(TransferError):
    """A transfer, look-up or setting refused by a rule (limit, fee, hours, throttle …)."""


class PayeeAccountError(TransferError):
    """The payee's account is unknown, closed or frozen (口座名義確認)."""
