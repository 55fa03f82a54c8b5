"""Demo data of the transfers app (idempotent): the Zengin bank list, the default fee
table and bank maximum, and the accounts at other banks the simulated interbank
directory knows (docs/transfers.md lists them)."""

from __future__ import annotations

import datetime as dt

from .banks import zengin_load
from .models import Bank, FeeSchedule, InterbankDemoAccount, TransferSettings

# (bank, branch, 科目, number, holder kana, closed) at real banks and branches.
DEMO_INTERBANK_ACCOUNTS = [
    ("0161", "002", "1", "0012345", "ﾀﾅｶ ﾊﾅｺ", False),        # 池田泉州 貝塚
    ("0001", "001", "1", "1111111", "ｶ)ｺｳｾｲｼﾖｳｼﾞ", False),   # みずほ 東京営業部
    ("0005", "001", "1", "2222222", "ﾅﾆﾜ ｼﾞﾛｳ", False),       # 三菱ＵＦＪ 本店
    ("0009", "001", "1", "3333333", "ｻｶｲ ﾐﾂｺ", False),        # 三井住友
    ("0159", "001", "2", "5555555", "ｶ)ﾅﾆﾜｹﾝｾﾂ", False),      # 関西みらい 心斎橋営業部 当座
    ("9900", "008", "1", "4444444", "ﾕｳﾁﾖ ﾀﾛｳ", False),       # ゆうちょ 〇〇八
    ("0001", "001", "1", "9999999", "ｶｲﾔｸ ｻﾚﾀ", True),        # closed: refused by name
]


def reference_ensure() -> None:
    """The default fee table and the bank maximum (also made by migration 0002; tests
    that flush the database call this)."""
    FeeSchedule.objects.get_or_create(effective_from=dt.date(2000, 1, 1))
    TransferSettings.objects.get_or_create(pk=1)


def interbank_accounts_ensure() -> None:
    for bank, branch, kind, number, holder, closed in DEMO_INTERBANK_ACCOUNTS:
        InterbankDemoAccount.objects.update_or_create(
            bank_code=bank, branch_code=branch, account_type=kind, account_number=number,
            defaults={"holder_kana": holder, "closed": closed})


def seed_transfers_demo(*, stdout=None) -> None:
    if Bank.objects.count() < 1000:
        banks, branches = zengin_load()
        if stdout is not None:
            stdout.write(f"zengin: {banks} banks, {branches} branches loaded")
    reference_ensure()
    interbank_accounts_ensure()
