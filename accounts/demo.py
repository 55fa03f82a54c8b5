"""Demo data for `python3 dev.py run`: customers with known contract IDs and passwords,
2–3 accounts each and 18 months of believable history, all posted through journal_post.

Deterministic (fixed seed) and idempotent: customers that exist are left alone, and every
posting has an idempotency key, so re-running posts nothing twice.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cosei_ib import bankcalendar

from .errors import InsufficientFunds
from .models import Account, Branch, Customer, Journal
from .services import PostingLine, journal_post

HISTORY_MONTHS = 18


@dataclass(frozen=True)
class DemoAccount:
    branch: str
    type: str
    number: str
    opening: int


@dataclass(frozen=True)
class DemoCustomer:
    contract_id: str
    password: str
    name_kanji: str
    name_kana: str
    email: str
    employer: str
    salary: int
    accounts: list[DemoAccount] = field(default_factory=list)
    note: str = ""
    password_is_initial: bool = False


DEMO_CUSTOMERS = [
    DemoCustomer(
        contract_id="1000000001", password="Demo2026", name_kanji="山田 太郎",
        name_kana="ﾔﾏﾀﾞ ﾀﾛｳ", email="yamada@example.jp", employer="ｶ)ｺｳｾｲｼﾖｳｼﾞ",
        salary=285_000,
        accounts=[DemoAccount("001", "1", "1234567", 420_000), DemoAccount("001", "4", "2345678", 1_500_000)],
        note="ふだんのお客様",
    ),
    DemoCustomer(
        contract_id="1000000002", password="Hana2026", name_kanji="佐藤 花子",
        name_kana="ｻﾄｳ ﾊﾅｺ", email="sato@example.jp", employer="ｲﾘﾖｳﾎｳｼﾞﾝ ｺｳｾｲｶｲ",
        salary=312_000,
        accounts=[DemoAccount("002", "1", "3456789", 250_000), DemoAccount("002", "2", "4567890", 800_000),
                  DemoAccount("001", "4", "5678901", 2_000_000)],
        note="口座3つ",
    ),
    DemoCustomer(
        contract_id="1000000003", password="Init2026", name_kanji="鈴木 一郎",
        name_kana="ｽｽﾞｷ ｲﾁﾛｳ", email="suzuki@example.jp", employer="ｶ)ﾅﾆﾜｹﾝｾﾂ",
        salary=240_000,
        accounts=[DemoAccount("003", "1", "6789012", 90_000), DemoAccount("003", "4", "7890123", 300_000)],
        note="初回ログイン（パスワード変更が必要）", password_is_initial=True,
    ),
]

STAFF_USERNAME = "staff01"
STAFF_PASSWORD = "Staff-2026-demo"
# the branch's 役席 (supervisor): also freezes accounts and sets holds (accounts.roles)
SUPERVISOR_USERNAME = "yakuseki01"
SUPERVISOR_PASSWORD = "Yakuseki-2026-demo"

# (description seen by the customer, journal kind, counterparty purpose, day of month,
#  low, high): monthly items. Amounts are drawn from a fixed-seed RNG (demo data only).
MONTHLY = [
    ("ﾔﾁﾝ ｶ)ﾅﾆﾜﾌﾄﾞｳｻﾝ", Journal.Kind.TRANSFER, Account.Purpose.ZENGIN_SETTLEMENT, 27, 78_000, 92_000),
    ("ｶｰﾄﾞ ｼﾞｴｰｼｰﾋﾞｰ", Journal.Kind.CARD, Account.Purpose.ZENGIN_SETTLEMENT, 10, 18_000, 96_000),
    ("ﾃﾞﾝｷﾘﾖｳ ｶﾝｻｲﾃﾞﾝﾘﾖｸ", Journal.Kind.UTILITY, Account.Purpose.ZENGIN_SETTLEMENT, 20, 5_500, 14_000),
    ("ｶﾞｽﾀﾞｲ ｵｵｻｶｶﾞｽ", Journal.Kind.UTILITY, Account.Purpose.ZENGIN_SETTLEMENT, 22, 3_200, 9_800),
    ("ｹｲﾀｲﾘﾖｳｷﾝ", Journal.Kind.UTILITY, Account.Purpose.ZENGIN_SETTLEMENT, 27, 4_000, 8_900),
]


@dataclass(order=True)
class _Event:
    when: dt.datetime
    key: str
    account: Account = field(compare=False)
    amount: int = field(compare=False)
    description: str = field(compare=False)
    kind: str = field(compare=False)
    counterparty: str = field(compare=False)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _business_day_on_or_before(day: dt.date) -> dt.date:
    return day if bankcalendar.is_business_day(day) else bankcalendar.previous_business_day(day)


def _business_day_on_or_after(day: dt.date) -> dt.date:
    return bankcalendar.settlement_day(day)


def _months(start: dt.date, end: dt.date):
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _history(demo: DemoCustomer, accounts: list[Account], today: dt.date) -> list[_Event]:
    rng = random.Random(int(demo.contract_id))
    start = today - dt.timedelta(days=HISTORY_MONTHS * 30 + 5)
    main, *others = accounts
    events: list[_Event] = []

    def add(account, when, amount, description, kind, counterparty):
        if when.date() >= today:
            return
        key = f"demo:{demo.contract_id}:{account.number}:{when:%Y%m%d%H%M}:{description}"
        events.append(_Event(when, key, account, amount, description, kind, counterparty))

    opening_day = _business_day_on_or_after(start)
    for account, spec in zip(accounts, demo.accounts):
        add(account, _at(opening_day, 9, 5), spec.opening, "ｺﾞﾆﾕｳｷﾝ", Journal.Kind.DEPOSIT, Account.Purpose.CASH)

    for year, month in _months(start + dt.timedelta(days=1), today):
        payday = _business_day_on_or_before(dt.date(year, month, 25))
        add(main, _at(payday, 8, 30), demo.salary + rng.randrange(-5, 6) * 1000,
            f"ｷﾕｳﾖ {demo.employer}", Journal.Kind.SALARY, Account.Purpose.ZENGIN_SETTLEMENT)
        if month in (6, 12):
            bonus_day = _business_day_on_or_before(dt.date(year, month, 10))
            add(main, _at(bonus_day, 8, 30), demo.salary * 2, f"ｼﾖｳﾖ {demo.employer}",
                Journal.Kind.SALARY, Account.Purpose.ZENGIN_SETTLEMENT)
        for description, kind, counterparty, day, low, high in MONTHLY:
            due = _business_day_on_or_after(dt.date(year, month, day))
            add(main, _at(due, 10), -rng.randrange(low, high, 10), description, kind, counterparty)
        for week_day in (3, 12, 17, 28):
            try:
                day = dt.date(year, month, week_day)
            except ValueError:
                continue
            add(main, _at(day, 12 + rng.randrange(0, 7), rng.randrange(0, 60)),
                -rng.randrange(1, 6) * 10_000, "ATM ｼﾊﾗｲ", Journal.Kind.ATM, Account.Purpose.CASH)
        for account in others:
            if month in (3, 9) and account.type == Account.Type.SAVINGS:
                interest_day = _business_day_on_or_before(dt.date(year, month, 20))
                add(account, _at(interest_day, 9), max(1, account_balance_hint(account) // 10_000),
                    "ﾘｿｸ", Journal.Kind.INTEREST, Account.Purpose.FEE_INCOME)
            if account.type == Account.Type.CURRENT:
                add(account, _at(_business_day_on_or_after(dt.date(year, month, 5)), 11),
                    -rng.randrange(20_000, 90_000, 100), "ﾃｶﾞﾀ ｼﾊﾗｲ", Journal.Kind.TRANSFER,
                    Account.Purpose.ZENGIN_SETTLEMENT)
                add(account, _at(_business_day_on_or_after(dt.date(year, month, 15)), 11),
                    rng.randrange(30_000, 100_000, 100), "ﾌﾘｺﾐ ｶ)ﾅﾆﾜｼﾖｳｶｲ", Journal.Kind.TRANSFER,
                    Account.Purpose.ZENGIN_SETTLEMENT)
    return events


def account_balance_hint(account: Account) -> int:
    return next(spec.opening for demo in DEMO_CUSTOMERS for spec in demo.accounts
                if spec.number == account.number)


def seed_demo(*, today: dt.date | None = None, stdout=None) -> list[DemoCustomer]:
    """Create the demo customers and their history; returns the customers created now."""
    today = today or timezone.localdate()
    user_model = get_user_model()
    created: list[DemoCustomer] = []
    events: list[_Event] = []
    with transaction.atomic():
        for demo in DEMO_CUSTOMERS:
            if Customer.objects.filter(contract_id=demo.contract_id).exists():
                continue
            user = user_model.objects.create_user(username=demo.contract_id, password=demo.password)
            customer = Customer.objects.create(
                user=user, contract_id=demo.contract_id, name_kanji=demo.name_kanji,
                name_kana=demo.name_kana, email=demo.email,
                password_is_initial=demo.password_is_initial,
            )
            accounts = [
                Account.objects.create(
                    branch=Branch.objects.get(code=spec.branch), customer=customer,
                    type=spec.type, number=spec.number, holder_kana=demo.name_kana,
                )
                for spec in demo.accounts
            ]
            events.extend(_history(demo, accounts, today))
            created.append(demo)
        staff_totp_secrets = {
            username: _staff_create(username, password, group, name)
            for username, password, group, name in _demo_staff()
            if not user_model.objects.filter(username=username).exists()
        }
        counterparties = {account.purpose: account for account in Account.objects.exclude(purpose="customer")}
        for event in sorted(events):
            other = counterparties[event.counterparty]
            try:
                journal_post(
                    lines=[PostingLine(other, -event.amount),
                           PostingLine(event.account, event.amount, event.description)],
                    kind=event.kind, description=event.description, idempotency_key=event.key,
                    posted_at=event.when,
                )
            except InsufficientFunds:
                continue  # the ATM said no that day; history goes on
    return DemoResult(created, staff_totp_secrets)


@dataclass(frozen=True)
class DemoResult:
    customers: list[DemoCustomer]
    # {staff username: base32 TOTP key}, shown once when the staff user is created
    staff_totp_secrets: dict[str, str]


def _demo_staff() -> list[tuple[str, str, str, tuple[str, str]]]:
    from .roles import BRANCH_STAFF_GROUP, SUPERVISOR_GROUP

    return [(STAFF_USERNAME, STAFF_PASSWORD, BRANCH_STAFF_GROUP, ("窓口", "担当")),
            (SUPERVISOR_USERNAME, SUPERVISOR_PASSWORD, SUPERVISOR_GROUP, ("役席", "課長"))]


def _staff_create(username: str, password: str, group: str, name: tuple[str, str]) -> str:
    """A demo staff user in ``group``, with a TOTP device for the admin's second factor.
    Returns the base32 secret (to print once)."""
    import base64

    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from .roles import branch_staff_group_ensure

    staff = get_user_model().objects.create_user(
        username=username, password=password, is_staff=True, first_name=name[0], last_name=name[1],
    )
    branch_staff_group_ensure()
    staff.groups.add(Group.objects.get(name=group))
    device = TOTPDevice.objects.create(user=staff, name="営業店端末", confirmed=True)
    return base64.b32encode(device.bin_key).decode()
