"""Refusals of the transfers app; ``message`` is Japanese, for the customer."""

from __future__ import annotations


class TransferError(Exception):
    """``final``: the confirmed operation can never succeed any more (the 予約 is no longer
    予約中, its day has passed), so the confirm page is not shown again to be retried:
    the customer goes back to the input page with the message (security.stepup_flow)."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        self.message = message
        self.final = final
        super().__init__(message)


class TransferRefused(TransferError):
    """A transfer, look-up or setting refused by a rule (limit, fee, hours, throttle …)."""


class PayeeAccountError(TransferError):
    """The payee's account is unknown, closed or frozen (口座名義確認)."""
