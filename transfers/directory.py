"""口座名義確認 (XFER-3): who holds the account a customer is about to pay.

Our bank answers from the ledger. Other banks answer through one ``InterbankDirectory``
interface; ``SimulatedInterbankDirectory`` (the default, ``TRANSFERS_INTERBANK_DIRECTORY``)
answers from the ``InterbankDemoAccount`` table, seeded by ``transfers.demo`` with demo
accounts at a few real banks. A production adapter would ask the Zengin network and
implement the same ``holder`` method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["PayeeAccountError", "PayeeAccount", "InterbankDirectory", "SimulatedInterbankDirectory",
           "payee_account_resolve"]

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.models import Account, Branch
from accounts.reference_data import BANK_CODE

from .errors import PayeeAccountError
from .models import InterbankDemoAccount
from .zengin import ZenginNameError, zengin_kana, zengin_name

ACCOUNT_UNKNOWN = "入力された口座は見つかりませんでした。金融機関・支店・科目・口座番号をご確認ください。"
ACCOUNT_CLOSED = "入力された口座は解約済みのため、お振込できません。"
ACCOUNT_FROZEN = "入力された口座はお取引が停止されているため、お振込できません。"
HOLDER_NOT_ZENGIN = ("振込先の口座名義に全銀協の規定で送れない文字が含まれているため、お振込できません。"
                     "当金庫までお問い合わせください。")


@dataclass(frozen=True)
class PayeeAccount:
    holder_kana: str
    credit_account: Account | None = None  # our bank only


class InterbankDirectory(Protocol):
    def holder(self, *, bank_code: str, branch_code: str, account_type: str, account_number: str) -> str:
        """The Zengin kana name of the holder; PayeeAccountError when unknown or closed."""


class SimulatedInterbankDirectory:
    """A stand-in for the interbank name enquiry: answers for the accounts in
    ``InterbankDemoAccount`` and refuses every other number as unknown."""

    def holder(self, *, bank_code: str, branch_code: str, account_type: str, account_number: str) -> str:
        found = InterbankDemoAccount.objects.filter(
            bank_code=bank_code, branch_code=branch_code, account_type=account_type,
            account_number=account_number,
        ).first()
        if found is None:
            raise PayeeAccountError(ACCOUNT_UNKNOWN)
        if found.closed:
            raise PayeeAccountError(ACCOUNT_CLOSED)
        return found.holder_kana


def interbank_directory() -> InterbankDirectory:
    return import_string(settings.TRANSFERS_INTERBANK_DIRECTORY)()


def payee_account_resolve(*, bank_code: str, branch_code: str, account_type: str,
                          account_number: str) -> PayeeAccount:
    """The holder of the account (and, at our bank, its ledger account). Raises
    PayeeAccountError with a Japanese message: unknown, closed or frozen."""
    if bank_code == BANK_CODE:
        account = (Account.objects.filter(
            branch__in=Branch.objects.filter(code=branch_code), number=account_number,
            type=account_type, purpose=Account.Purpose.CUSTOMER).first())
        if account is None:
            raise PayeeAccountError(ACCOUNT_UNKNOWN)
        if account.status == Account.Status.CLOSED:
            raise PayeeAccountError(ACCOUNT_CLOSED)
        if account.status == Account.Status.FROZEN:
            raise PayeeAccountError(ACCOUNT_FROZEN)
        return PayeeAccount(holder_kana=zengin_kana(account.holder_kana), credit_account=account)
    holder = interbank_directory().holder(bank_code=bank_code, branch_code=branch_code,
                                          account_type=account_type, account_number=account_number)
    try:
        # the name travels in the 総合振込 file (XFER-12): what the set cannot carry stops here,
        # not when the day's file is built after the money has left the customer's account
        return PayeeAccount(holder_kana=zengin_name(holder))
    except ZenginNameError:
        raise PayeeAccountError(HOLDER_NOT_ZENGIN) from None
