"""Refusals of the transfers app; ``message`` is Japanese, for the customer."""

from __future__ import annotations


class TransferError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class TransferRefused(TransferError):
    """A transfer, look-up or setting refused by a rule (limit, fee, hours, throttle …)."""


class PayeeAccountError(TransferError):
    """The payee's account is unknown, closed or frozen (口座名義確認)."""
