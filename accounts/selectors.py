"""Reads for 残高照会 (ACCT-1) and 入出金明細照会 (ACCT-2, ACCT-3), scoped to one customer
(ACCT-5).

Every past balance is one descent of the index ``entry_account_time_idx``
``(account_id, posted_at, id) INCLUDE (balance_after, amount)``: the last entry before a
moment carries the balance at that moment. Statement pages are keyset-paginated on
``(posted_at, id)``, so page 1 and page 10,000 cost the same and no OFFSET is ever used.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from textwrap import dedent

from django.db import connections
from django.db.models import Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404
from django.utils import timezone

from cosei_ib.bankcalendar import local_now, previous_business_day, start_of_day
from cosei_ib.textinput import ascii_int

from .models import Account, Branch, Customer, Entry, Journal
from .services import counter_deposit_key
from .templatetags.accounts_format import slash_date, yen

# 明細の保存期間: statements reach back this many months from today (docs/devices.md).
STATEMENT_RETENTION_MONTHS = 13
STATEMENT_PAGE_SIZE = 20
# 件数指定: the latest N entries.
STATEMENT_COUNTS = (10, 20, 50, 100)

MODE_DATE = "date"  # 日付指定
MODE_PERIOD = "period"  # 期間指定
MODE_COUNT = "count"  # 件数指定

CSV_CHUNK_SIZE = 2000


# --- accounts -----------------------------------------------------------------------------

def account_list_for_customer(*, customer: Customer) -> QuerySet[Account]:
    """The customer's own deposit accounts, in passbook order."""
    return (
        Account.objects.filter(customer=customer, purpose=Account.Purpose.CUSTOMER)
        .select_related("branch")
        .order_by("branch__code", "type", "number")
    )


@dataclass(frozen=True)
class DebitAccounts:
    payable: list[Account]  # offered as 引落口座 / お支払口座
    stopped: list[Account]  # 支払停止 (frozen): named on the page, not offered (ACCT-1)


def debit_accounts_for_customer(*, customer: Customer) -> DebitAccounts:
    """The customer's accounts a payment may come from, and the frozen ones the page says
    cannot be used now (walk25 F16: a frozen account silently vanished from 引落口座).
    One query; a closed account is neither."""
    accounts = list(account_list_for_customer(customer=customer)
                    .exclude(status=Account.Status.CLOSED))
    return DebitAccounts(
        payable=[account for account in accounts if account.status == Account.Status.OPEN],
        stopped=[account for account in accounts if account.status == Account.Status.FROZEN])


def account_get_for_customer(
    customer: Customer, account_id, *, accounts: list[Account] | None = None
) -> Account:
    """The customer's account with ``account_id``; Http404 for anything else (another
    customer's account, an internal account, a malformed or unknown id) — the same answer
    for all of them, so ids cannot be probed (ACCT-5).

    ``accounts``: the customer's accounts as ``account_list_for_customer`` has just read
    them for the same page; the account is then taken from that list (no second query)."""
    if not isinstance(account_id, int):
        # length before int(): thousands of digits are no id (and no 500)
        account_id = ascii_int(str(account_id or ""), max_digits=18)
    if account_id is None:
        raise Http404("no such account")
    if accounts is not None:
        for account in accounts:
            if account.pk == account_id and account.customer_id == customer.pk:
                return account
        raise Http404("no such account")
    try:
        return account_list_for_customer(customer=customer).get(pk=account_id)
    except Account.DoesNotExist:
        raise Http404("no such account") from None


# --- balances (残高照会) -------------------------------------------------------------------

def account_balance_at(*, account: Account | int, moment: dt.datetime) -> int:
    """Balance at ``moment`` (entries posted strictly before it); 0 before the first."""
    account_id = account if isinstance(account, int) else account.pk
    row = (
        Entry.objects.filter(account_id=account_id, posted_at__lt=moment)
        .order_by("-posted_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    return row or 0


@dataclass(frozen=True)
class BalanceCutoffs:
    """The two past moments 残高照会 shows, for a given today."""

    today: dt.date
    previous_business_day: dt.date  # 前日 = the last business day before today
    previous_day_close: dt.datetime  # end of that day (00:00 of the next day)
    previous_month_end: dt.date  # 前月末
    previous_month_close: dt.datetime  # end of the previous month (00:00 of the 1st)


def balance_cutoffs(today: dt.date) -> BalanceCutoffs:
    previous_day = previous_business_day(today)
    first_of_month = today.replace(day=1)
    return BalanceCutoffs(
        today=today,
        previous_business_day=previous_day,
        previous_day_close=start_of_day(previous_day + dt.timedelta(days=1)),
        previous_month_end=first_of_month - dt.timedelta(days=1),
        previous_month_close=start_of_day(first_of_month),
    )


@dataclass(frozen=True)
class AccountBalances:
    account: Account
    balance: int  # 現在残高
    previous_day_balance: int  # 前日残高
    previous_month_end_balance: int  # 前月末残高
    available_amount: int  # 支払可能額 = balance − holds, not below 0; 0 when payments are stopped
    stopped: bool = False  # 支払停止 (frozen by the branch): shown as 「お取引停止中」 (ACCT-1)


@dataclass(frozen=True)
class BalanceSummary:
    as_of: dt.datetime
    cutoffs: BalanceCutoffs
    accounts: list[AccountBalances]


# The customer's accounts with their branches, as account_list_for_customer() reads them
# (same rows, same order), in SQL written once: the pages that show them on every view
# would otherwise have the ORM rebuild and compile the query each time — ~0.7 ms of Python
# CPU for the list, ~2.3 ms with 残高照会's two past balances, more than the rest of the
# page's reads together (bench/pages_profile.py, issue 14). {columns}: extra columns.
# tests/accounts/test_balances.py and test_page_queries.py hold both to the ORM's rows.
_ACCOUNTS_SQL = """
    SELECT account.*, branch.code AS branch_code, branch.name AS branch_name,
           branch.name_kana AS branch_name_kana{columns}
    FROM accounts_account account
    JOIN accounts_branch branch ON branch.id = account.branch_id
    WHERE account.customer_id = %(customer_id)s AND account.purpose = %(purpose)s
    ORDER BY branch.code, account.type, account.number
"""
# 前日残高 and 前月末残高: each one backward descent of entry_account_time_idx.
_PAST_BALANCE_COLUMNS = """,
           COALESCE((SELECT entry.balance_after FROM accounts_entry entry
                     WHERE entry.account_id = account.id AND entry.posted_at < %(previous_day_close)s
                     ORDER BY entry.posted_at DESC, entry.id DESC LIMIT 1), 0) AS previous_day_balance,
           COALESCE((SELECT entry.balance_after FROM accounts_entry entry
                     WHERE entry.account_id = account.id AND entry.posted_at < %(previous_month_close)s
                     ORDER BY entry.posted_at DESC, entry.id DESC LIMIT 1), 0) AS previous_month_end_balance"""
_ACCOUNTS_QUERY = dedent(_ACCOUNTS_SQL.format(columns="")).strip()
_BALANCE_SUMMARY_QUERY = dedent(_ACCOUNTS_SQL.format(columns=_PAST_BALANCE_COLUMNS)).strip()


def _accounts_with_branch(sql: str, *, customer: Customer, **params) -> list[Account]:
    accounts = list(Account.objects.raw(sql, {
        "customer_id": customer.pk, "purpose": Account.Purpose.CUSTOMER.value, **params,
    }))
    for account in accounts:  # the branch from the same row, as select_related("branch")
        account.branch = Branch.from_db(account._state.db, ["id", "code", "name", "name_kana"], (
            account.branch_id, account.branch_code, account.branch_name, account.branch_name_kana))
    return accounts


def accounts_for_customer(*, customer: Customer) -> list[Account]:
    """The rows of ``account_list_for_customer()`` as a list, read with one statement whose
    SQL is not rebuilt per call: for the pages that list them on every view."""
    return _accounts_with_branch(_ACCOUNTS_QUERY, customer=customer)


def balance_summary_for_customer(
    *, customer: Customer, now: dt.datetime | None = None
) -> BalanceSummary:
    """残高照会 for all of the customer's accounts in ONE query, whatever the number of
    accounts or the length of their history: the account rows with two correlated
    index lookups each (前日残高, 前月末残高); the current balance is the cached one."""
    now = now or local_now()
    cutoffs = balance_cutoffs(now.date())
    accounts = [
        AccountBalances(
            account=account,
            balance=account.balance,
            previous_day_balance=account.previous_day_balance,
            previous_month_end_balance=account.previous_month_end_balance,
            # a frozen account pays nothing (LEDGER-2 refuses every debit): its 支払可能額
            # is 0, not the balance (walk25 F16); the status is on the row already
            available_amount=account.available_amount if account.status == Account.Status.OPEN else 0,
            stopped=account.status == Account.Status.FROZEN,
        )
        for account in _accounts_with_branch(
            _BALANCE_SUMMARY_QUERY, customer=customer,
            previous_day_close=cutoffs.previous_day_close, previous_month_close=cutoffs.previous_month_close,
        )
    ]
    return BalanceSummary(as_of=now, cutoffs=cutoffs, accounts=accounts)


# --- statements (入出金明細照会) -------------------------------------------------------------

def retention_start(today: dt.date) -> dt.date:
    """The oldest date a statement may show: the same day STATEMENT_RETENTION_MONTHS
    months ago (clamped to that month's end: Mar 31 → Feb 28)."""
    months = today.year * 12 + (today.month - 1) - STATEMENT_RETENTION_MONTHS
    year, month = divmod(months, 12)
    month += 1
    return dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class StatementQuery:
    """One 入出金明細照会: by one date, by a period (inclusive dates) or the latest N."""

    account: Account
    mode: str
    start: dt.date | None = None
    end: dt.date | None = None
    count: int | None = None
    newest_first: bool = True


@dataclass(frozen=True)
class StatementCursor:
    """Keyset position: the (posted_at, id) of the last row of the previous page."""

    posted_at: dt.datetime
    entry_id: int

    _EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def encode(self) -> str:
        micros = (self.posted_at - self._EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}.{self.entry_id}"

    @classmethod
    def decode(cls, value: str) -> StatementCursor:
        """Raises ValueError for anything that is not a cursor this module wrote."""
        micros, _, entry_id = value.partition(".")
        micros, entry_id = ascii_int(micros, max_digits=18), ascii_int(entry_id, max_digits=18)
        if micros is None or entry_id is None:
            raise ValueError("malformed cursor")
        posted_at = cls._EPOCH + dt.timedelta(microseconds=micros)
        return cls(posted_at=posted_at, entry_id=entry_id)


@dataclass(frozen=True)
class StatementPage:
    rows: list[dict]
    next_cursor: StatementCursor | None
    retention_start: dt.date


def _statement_queryset(
    query: StatementQuery, today: dt.date, using: str = "default"
) -> QuerySet[Entry]:
    """The entries of ``query``, ordered, unsliced: shared by the page and the CSV. Read
    from ``using``: the view passes ``cosei_ib.replica.read_alias(request)``."""
    entries = Entry.objects.using(using).filter(
        account_id=query.account.pk, posted_at__gte=start_of_day(retention_start(today))
    )
    if query.mode in (MODE_DATE, MODE_PERIOD):
        end = query.end if query.mode == MODE_PERIOD else query.start
        entries = entries.filter(
            posted_at__gte=start_of_day(query.start),
            posted_at__lt=start_of_day(end + dt.timedelta(days=1)),
        )
    elif query.mode == MODE_COUNT:
        # The latest N (N ≤ 100): a bounded backward index scan, then page within it.
        latest = (
            Entry.objects.filter(account_id=query.account.pk)
            .order_by("-posted_at", "-id")
            .values("id")[: query.count]
        )
        entries = entries.filter(id__in=Subquery(latest))
    else:
        raise ValueError(f"unknown statement mode {query.mode!r}")
    if query.newest_first:
        return entries.order_by("-posted_at", "-id")
    return entries.order_by("posted_at", "id")


def _after(
    entries: QuerySet[Entry], cursor: StatementCursor, newest_first: bool
) -> QuerySet[Entry]:
    """Rows strictly after ``cursor`` in the page order. The redundant bound on posted_at
    alone keeps the index range tight; the OR resolves ties on the same instant."""
    p, i = cursor.posted_at, cursor.entry_id
    if newest_first:
        return entries.filter(Q(posted_at__lt=p) | Q(posted_at=p, id__lt=i), posted_at__lte=p)
    return entries.filter(Q(posted_at__gt=p) | Q(posted_at=p, id__gt=i), posted_at__gte=p)


_ROW_FIELDS = ("id", "posted_at", "description", "amount", "balance_after")


def statement_page(
    *,
    query: StatementQuery,
    cursor: StatementCursor | None = None,
    page_size: int = STATEMENT_PAGE_SIZE,
    today: dt.date | None = None,
    using: str = "default",
) -> StatementPage:
    """One page of a statement (one query): up to ``page_size`` rows after ``cursor``,
    each with ``withdrawal`` (お引出し) / ``deposit`` (お預入れ) as positive yen, and
    the table's cells as the page writes them (``date_text``, ``withdrawal_text``,
    ``deposit_text``, ``balance_text``: |slash_date of the local date and |yen, empty
    for no amount), formatted once here rather than through a filter and an {% if %} per
    cell of every row in the template (issue 14)."""
    today = today or local_now().date()
    entries = _statement_queryset(query, today, using)
    if cursor is not None:
        entries = _after(entries, cursor, query.newest_first)
    rows = list(entries.values(*_ROW_FIELDS)[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = StatementCursor(posted_at=rows[-1]["posted_at"], entry_id=rows[-1]["id"])
    for row in rows:
        row["withdrawal"] = -row["amount"] if row["amount"] < 0 else None
        row["deposit"] = row["amount"] if row["amount"] > 0 else None
        row["date_text"] = slash_date(timezone.localtime(row["posted_at"]))
        row["withdrawal_text"] = yen(row["withdrawal"])
        row["deposit_text"] = yen(row["deposit"])
        row["balance_text"] = yen(row["balance_after"])
    return StatementPage(rows=rows, next_cursor=next_cursor, retention_start=retention_start(today))


def statement_rows_for_export(
    *, query: StatementQuery, today: dt.date | None = None, using: str = "default"
) -> Iterator[tuple]:
    """Every row of ``query`` as (local date, 摘要, amount, balance_after) tuples, streamed
    CSV_CHUNK_SIZE rows at a time: memory stays flat for any length (ACCT-3). The ORM
    writes the SQL; the rows skip its per-row machinery, which would otherwise cost more
    than the whole CSV formatting."""
    today = today or local_now().date()
    entries = _statement_queryset(query, today, using).annotate(local_date=TruncDate("posted_at"))
    columns = entries.values_list("local_date", "description", "amount", "balance_after")
    sql, params = columns.query.sql_with_params()
    return _stream(sql, params, using)


def _stream(sql: str, params, using: str) -> Iterator[tuple]:
    """One SELECT whose rows the server sends in chunks of CSV_CHUNK_SIZE as it reads them
    (libpq's chunked rows mode, through psycopg's ``stream``), one snapshot for the whole
    file. Not Django's server-side cursor: outside a transaction Django declares it WITH
    HOLD, and the server then reads the whole result into a store of its own before the
    first FETCH — twice the time of the download itself for 1,000,000 rows (issue 14, the
    CSV against COPY). A download abandoned half-way (the customer closes the tab) closes
    this generator; psycopg then cancels the query and drains the connection, so the next
    request on it finds it idle (tests/accounts/test_csv.py)."""
    connection = connections[using]
    with connection.cursor() as cursor, connection.wrap_database_errors:
        yield from cursor.cursor.stream(sql, params, size=CSV_CHUNK_SIZE)


def internal_balance(account: Account | int) -> int:
    """The balance of an internal account as the bank reads it: its own plus that of its
    stripes (Account.stripe_of, issue 14), where ledger_post() puts most of its lines."""
    account_id = account.pk if isinstance(account, Account) else account
    total = (Account.objects.filter(Q(pk=account_id) | Q(stripe_of_id=account_id))
             .aggregate(total=Coalesce(Sum("balance"), 0))["total"])
    return int(total)


def counter_deposit_slip_used(*, account: Account, amount: int, reference: str) -> str:
    """Whether a 窓口入金 slip number is used at the account's branch, said before the
    confirm page (walk27 F2; counter_deposit refuses the same under its lock): ``""`` —
    not yet; ``"same"`` — posted with this account and amount; ``"other"`` — another
    account or amount."""
    journal = Journal.objects.filter(idempotency_key=counter_deposit_key(account=account, reference=reference)).first()
    if journal is None:
        return ""
    same = Entry.objects.filter(journal=journal, account=account, amount=amount).exists()
    return "same" if same else "other"
