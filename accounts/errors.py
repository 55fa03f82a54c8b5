"""Domain errors of the ledger. ``message`` is Japanese, for the customer; ``str(error)``
stays English with ids, for the log."""

from __future__ import annotations


class LedgerError(Exception):
    message = "お取引を完了できませんでした。"

    def __init__(self, detail: str = "", *, account_id: int | None = None) -> None:
        self.account_id = account_id
        super().__init__(detail or self.__class__.__name__)


class InsufficientFunds(LedgerError):
    message = "お支払可能額が不足しているため、お取引できません。"


class AccountClosed(LedgerError):
    message = "この口座は解約済みのため、お取引できません。"
    final = True  # a closed account never reopens: the confirmation cannot be retried


class AccountFrozen(LedgerError):
    message = "この口座はお支払いが停止されているため、お取引できません。"


class AccountNotFound(LedgerError):
    message = "口座が見つかりません。"


class IdempotencyConflict(LedgerError):
    message = "同じお取引が別の内容で既に受け付けられています。最初からやり直してください。"


class InvalidPosting(LedgerError):
    message = "お取引の内容に誤りがあります。"


class LedgerIntegrityError(LedgerError):
    """The database refused a write that breaks a ledger invariant: a bug, never a
    customer's mistake."""

    message = "システムエラーのため、お取引を完了できませんでした。お手数ですが当金庫までお問い合わせください。"
