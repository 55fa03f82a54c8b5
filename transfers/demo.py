"""Demo data of the transfers app (idempotent): the Zengin bank list, the default fee
table and bank maximum, and the accounts at other banks the simulated interbank
directory knows (docs/transfers.md lists them)."""

from __future__ import annotations

import datetime as dt

from .banks import zengin_load
from .models import Bank, FeeSchedule, InterbankDemoAccount, Transfer, TransferLimit, TransferSettings

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


def reference_ensure(*, using: str = "default") -> None:
    """The default fee table and the bank maximum (also made by migration 0002; the test
    profile's flush puts them back as the owner, cosei_ib.testing)."""
    FeeSchedule.objects.using(using).get_or_create(effective_from=dt.date(2000, 1, 1))
    TransferSettings.objects.using(using).get_or_create(pk=1)


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
    scheduled_demo_ensure()


def scheduled_demo_ensure() -> None:
    """予約振込 (issue 9): the first demo customer has one transfer waiting for the next
    business day (to 池田泉州 貝塚 ﾀﾅｶ ﾊﾅｺ), so 振込予約取消 has something to show. Made only
    when the customer has nothing waiting; nothing is posted until the batch runs."""
    from django.db import transaction

    from accounts.models import Account, Customer
    from cosei_ib import bankcalendar
    from security.stepup import stepup_seed_used

    from .services import TransferQuote, transfer_content, transfer_from_content

    customer = Customer.objects.filter(contract_id="1000000001").first()
    if customer is None or Transfer.objects.filter(customer=customer, status=Transfer.Status.SCHEDULED).exists():
        return
    account = (Account.objects.filter(customer=customer, purpose=Account.Purpose.CUSTOMER, status=Account.Status.OPEN)
               .order_by("id").first())
    day = bankcalendar.next_business_day(bankcalendar.local_now().date())
    # the row in force on its date (transfers 0025: the database takes no other)
    schedule = FeeSchedule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if account is None or schedule is None:
        return
    TransferLimit.objects.get_or_create(customer=customer, defaults={"daily_limit": 1_000_000})
    payee = {"bank_code": "0161", "bank_name": "池田泉州銀行", "branch_code": "002", "branch_name": "貝塚",
             "account_type": "1", "account_number": "0012345", "holder_kana": "ﾀﾅｶ ﾊﾅｺ"}
    quote = TransferQuote(route=Transfer.Route.OTHER_BANK, fee=schedule.other_bank_under, fee_schedule_id=schedule.pk)
    content = transfer_content(debit_account=account, payee=payee, amount=12_000, fee_borne_by_payee=False,
                               sender_name=customer.name_kana[:48], day=day, quote=quote)
    with transaction.atomic():  # the step-up used with the row it confirms (transfers 0012)
        stepup = stepup_seed_used(customer=customer, kind="transfer", content=content)
        transfer_from_content(customer=customer, content=content, debit=account, schedule=schedule,
                              status=Transfer.Status.SCHEDULED, stepup_id=stepup.pk).save(force_insert=True)
