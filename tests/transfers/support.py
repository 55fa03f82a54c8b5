"""Helpers for transfer tests: customers with a card and money, and transfers executed
through the service as a confirmed step-up would."""

from __future__ import annotations

import datetime as dt

from accounts.models import Account
from cosei_ib import bankcalendar
from cosei_ib.bankcalendar import local_now
from tests import factories
from tests.security.secondfactor import customer_with_card
from transfers import services
from transfers.directory import payee_account_resolve
from transfers.models import Payee


def payer(balance: int = 1_000_000, *, branch_code: str = "001", email: str = "payer@example.jp"):
    customer = customer_with_card(email=email)
    account = factories.account(owner=customer, balance=balance, branch_code=branch_code)
    return customer, account


def other_bank_payee(**overrides) -> dict:
    payee = {"bank_code": "0161", "bank_name": "池田泉州銀行", "branch_code": "002", "branch_name": "貝塚",
             "account_type": "1", "account_number": "0012345", "holder_kana": "ﾀﾅｶ ﾊﾅｺ",
             "credit_account_id": None, "payee_id": None}
    return {**payee, **overrides}


def our_payee(account: Account) -> dict:
    found = payee_account_resolve(bank_code="1633", branch_code=account.branch.code,
                                  account_type=account.type, account_number=account.number)
    return {"bank_code": "1633", "bank_name": "大阪厚生信金", "branch_code": account.branch.code,
            "branch_name": account.branch.name, "account_type": account.type,
            "account_number": account.number, "holder_kana": found.holder_kana,
            "credit_account_id": account.pk, "payee_id": None}


def content_for(customer, debit: Account, payee: dict, amount: int, *, borne: bool = False,
                day: dt.date | None = None, check: bool = True) -> dict:
    day = day or local_now().date()
    route = services.transfer_route(debit_account=debit, bank_code=payee["bank_code"],
                                    branch_code=payee["branch_code"])
    if check:
        quote = services.transfer_quote(customer=customer, debit_account=debit, bank_code=payee["bank_code"],
                                        branch_code=payee["branch_code"], amount=amount,
                                        fee_borne_by_payee=borne, day=day)
    else:
        schedule = services.fee_schedule_on(day)
        quote = services.TransferQuote(route=route, fee=services.fee_from(schedule, route=route, amount=amount),
                                       fee_schedule_id=schedule.pk)
    return services.transfer_content(debit_account=debit, payee=payee, amount=amount, fee_borne_by_payee=borne,
                                     sender_name="ﾔﾏﾀﾞ ﾀﾛｳ", day=day, quote=quote)


def execute(customer, content: dict, stepup_id=None):
    """A same-day transfer confirmed by a step-up of ``customer`` (transfers 0012; or by
    ``stepup_id``, verified and used by the caller's transaction)."""
    if stepup_id is not None:
        return services.transfer_execute(customer=customer, stepup_id=stepup_id, content=content)
    return factories.confirmed(customer, "transfer", content, lambda stepup_id: services.transfer_execute(
        customer=customer, stepup_id=stepup_id, content=content))


def registered_payee(customer, *, debit: Account | None = None, nickname: str = "", **fields) -> Payee:
    """A payee registered as the services do (XFER-7, transfers 0022: only after a transfer
    to that account): a 予約 to ``other_bank_payee(**fields)`` booked for a coming business
    day (nothing is debited), then 「今回の振込先を登録」 and the 登録名."""
    from tests.transfers.scheduled_support import schedule
    from transfers.demo import reference_ensure
    from transfers.models import FeeSchedule

    if not FeeSchedule.objects.exists():
        reference_ensure()  # a transactional (browser) test starts without the migrations' fee table
    debit = debit or (Account.objects.filter(customer=customer, purpose=Account.Purpose.CUSTOMER,
                                             status=Account.Status.OPEN).order_by("id").first()
                      or factories.account(owner=customer))
    day = bankcalendar.next_business_day(bankcalendar.next_business_day(local_now().date()))
    transfer = schedule(customer, debit, 1_000, day=day, payee=other_bank_payee(**fields))
    payee = services.payee_register(customer=customer, transfer=transfer)
    if nickname:
        payee = services.payee_rename(customer=customer, payee=payee, nickname=nickname)
    return payee
