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
from functools import lru_cache
from textwrap import dedent
from typing import NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404

from cosei_ib.bankcalendar import local_now, previous_business_day, start_of_day
from cosei_ib.queries import epoch_micros, model_columns, moment, moments_made, prepared_cursor
from cosei_ib.textinput import ascii_int

from .models import Account, Branch, Customer, Entry, Journal
from .services import counter_deposit_key
from .templatetags.accounts_format import yen

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
# page's reads together (bench/pages_profile.py, issue 14). The rows become models through
# ``from_db`` straight from the cursor, as the ORM does, without ``raw()``'s per-query
# column mapping (~0.2 ms more per page). {account_columns}: the account's columns in the
# order of its concrete fields; {columns}: extra columns after the branch's.
# tests/accounts/test_balances.py and test_page_queries.py hold both to the ORM's rows.
_ACCOUNTS_SQL = """
    SELECT {account_columns}, branch.code AS branch_code, branch.name AS branch_name,
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
_BRANCH_NAMES = ("id", "code", "name", "name_kana")


@lru_cache(maxsize=None)
def _accounts_query(columns: str) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    """The SQL of the account list with ``columns`` after the branch's, the account's
    attribute names in the order of its columns and the positions of its timestamps
    (``cosei_ib.queries.model_columns``; written once per process: the models' fields do
    not change while it runs)."""
    account_columns, names, moments = model_columns(Account, "account")  # timestamps as integers
    sql = dedent(_ACCOUNTS_SQL.format(account_columns=", ".join(account_columns), columns=columns)).strip()
    return sql, names, moments


def _accounts_with_branch(columns: str, *, customer: Customer, **params) -> list[tuple[Account, tuple]]:
    """The customer's accounts, each with its branch set (as select_related("branch"))
    and the values of ``columns``. The columns are text and integers, which the driver
    returns as the ORM would (no field of Account or Branch converts them), and the
    account's timestamps, read as integers and made the ORM's datetimes here."""
    sql, names, moments = _accounts_query(columns)
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"customer_id": customer.pk, "purpose": Account.Purpose.CUSTOMER.value, **params})
        rows = cursor.fetchall()
    width = len(names)
    accounts = []
    for row in rows:
        account = Account.from_db(DEFAULT_DB_ALIAS, names, moments_made(row[:width], moments))
        account.branch = Branch.from_db(DEFAULT_DB_ALIAS, _BRANCH_NAMES, (account.branch_id, *row[width:width + 3]))
        accounts.append((account, row[width + 3:]))
    return accounts


def accounts_for_customer(*, customer: Customer) -> list[Account]:
    """The rows of ``account_list_for_customer()`` as a list, read with one statement whose
    SQL is not rebuilt per call: for the pages that list them on every view."""
    return [account for account, _ in _accounts_with_branch("", customer=customer)]


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
            previous_day_balance=previous_day_balance,
            previous_month_end_balance=previous_month_end_balance,
            # a frozen account pays nothing (LEDGER-2 refuses every debit): its 支払可能額
            # is 0, not the balance (walk25 F16); the status is on the row already
            available_amount=account.available_amount if account.status == Account.Status.OPEN else 0,
            stopped=account.status == Account.Status.FROZEN,
        )
        for account, (previous_day_balance, previous_month_end_balance) in _accounts_with_branch(
            _PAST_BALANCE_COLUMNS, customer=customer,
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


class StatementRow(NamedTuple):
    """One row of a statement page: ``withdrawal`` (お引出し) / ``deposit`` (お預入れ) as
    positive yen or None, and the table's cells as the page writes them (``date_text``:
    the local date as |slash_date writes it; the amounts as |yen writes them, empty for no
    amount), formatted once here rather than through a filter and an {% if %} per cell of
    every row in the template (issue 14)."""

    id: int
    posted_micros: int  # posted_at in microseconds since the epoch (as the cursor counts it)
    description: str
    amount: int
    balance_after: int
    withdrawal: int | None
    deposit: int | None
    date_text: str
    withdrawal_text: str
    deposit_text: str
    balance_text: str

    @property
    def posted_at(self) -> dt.datetime:
        """The entry's moment (UTC), made when asked: the page writes ``date_text``, and
        the driver's timestamp parsing cost ~4 µs a row (issue 14)."""
        return moment(self.posted_micros)


@dataclass(frozen=True)
class StatementPage:
    rows: list[StatementRow]
    next_cursor: StatementCursor | None
    retention_start: dt.date


def _statement_queryset(
    query: StatementQuery, today: dt.date, using: str = "default"
) -> QuerySet[Entry]:
    """The entries of ``query``, ordered, unsliced: the CSV's rows (statement_page() reads
    the same rows with SQL of its own; tests/accounts/test_statements.py holds the two
    to each other). Read from ``using``: the view passes
    ``cosei_ib.replica.read_alias(request)``."""
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


# A statement page in SQL written once per shape (mode, order, with or without a cursor):
# the same rows, in the same order, as _statement_queryset() sliced after the cursor. The
# ORM built and compiled that query on every page view — 0.4 ms of Python CPU, and as much
# again for its rows, most of the page's own work (bench/pages_profile.py, issue 14). The
# local date is written by the database (to_char in the bank's time zone, the page's
# |slash_date). The moment comes as microseconds since the epoch (cosei_ib.queries.epoch_micros,
# the cursor's own unit): Django's loader of timestamptz parses each in Python, ~4 µs a
# row, for a value the page only needs in its last row. Keyset pagination on
# (posted_at, id) along entry_account_time_idx; the redundant bound on posted_at alone
# keeps the index range tight, the OR resolves ties on the same instant.
_STATEMENT_PAGE_SQL = """
    SELECT entry.id, {posted_micros}, entry.description, entry.amount, entry.balance_after,
           to_char(entry.posted_at AT TIME ZONE %(zone)s, 'YYYY/MM/DD')
    FROM accounts_entry entry
    WHERE entry.account_id = %(account_id)s AND entry.posted_at >= %(retention_start)s{range}{after}
    ORDER BY entry.posted_at {direction}, entry.id {direction}
    LIMIT %(limit)s
"""
_STATEMENT_RANGES = {
    MODE_DATE: " AND entry.posted_at >= %(start)s AND entry.posted_at < %(end)s",
    MODE_PERIOD: " AND entry.posted_at >= %(start)s AND entry.posted_at < %(end)s",
    # the latest N (N ≤ 100): a bounded backward index scan, then page within it
    MODE_COUNT: """ AND entry.id IN (SELECT latest.id FROM accounts_entry latest
                                 WHERE latest.account_id = %(account_id)s
                                 ORDER BY latest.posted_at DESC, latest.id DESC LIMIT %(count)s)""",
}
_STATEMENT_AFTER = {  # by newest_first
    True: " AND entry.posted_at <= %(after_at)s AND (entry.posted_at < %(after_at)s OR entry.id < %(after_id)s)",
    False: " AND entry.posted_at >= %(after_at)s AND (entry.posted_at > %(after_at)s OR entry.id > %(after_id)s)",
}


@lru_cache(maxsize=None)
def _statement_page_sql(mode: str, newest_first: bool, after: bool) -> str:
    if mode not in _STATEMENT_RANGES:
        raise ValueError(f"unknown statement mode {mode!r}")
    return dedent(_STATEMENT_PAGE_SQL.format(
        posted_micros=epoch_micros("entry.posted_at"), range=_STATEMENT_RANGES[mode], after=_STATEMENT_AFTER[newest_first] if after else "",
        direction="DESC" if newest_first else "ASC")).strip()


def statement_page(
    *,
    query: StatementQuery,
    cursor: StatementCursor | None = None,
    page_size: int = STATEMENT_PAGE_SIZE,
    today: dt.date | None = None,
    using: str = "default",
) -> StatementPage:
    """One page of a statement (one query): up to ``page_size`` rows after ``cursor``."""
    today = today or local_now().date()
    oldest = retention_start(today)
    params = {"zone": settings.TIME_ZONE, "account_id": query.account.pk,
              "retention_start": start_of_day(oldest), "limit": page_size + 1}
    if query.mode in (MODE_DATE, MODE_PERIOD):
        end = query.end if query.mode == MODE_PERIOD else query.start
        params.update(start=start_of_day(query.start), end=start_of_day(end + dt.timedelta(days=1)))
    elif query.mode == MODE_COUNT:
        params["count"] = query.count
    if cursor is not None:
        params.update(after_at=cursor.posted_at, after_id=cursor.entry_id)
    sql = _statement_page_sql(query.mode, query.newest_first, cursor is not None)
    with prepared_cursor(using) as db_cursor:
        db_cursor.execute(sql, params)
        found = db_cursor.fetchall()
    next_cursor = None
    if len(found) > page_size:
        found = found[:page_size]
        last = found[-1]
        next_cursor = StatementCursor(posted_at=moment(last[1]), entry_id=last[0])
    rows = [
        StatementRow(entry_id, posted_micros, description, amount, balance_after,
                     -amount if amount < 0 else None, amount if amount > 0 else None, date_text,
                     yen(-amount) if amount < 0 else "", yen(amount) if amount > 0 else "", yen(balance_after))
        for entry_id, posted_micros, description, amount, balance_after, date_text in found
    ]
    return StatementPage(rows=rows, next_cursor=next_cursor, retention_start=oldest)


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
