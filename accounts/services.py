"""Writes to the ledger. ``journal_post`` is the only code that posts money (LEDGER-3)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from cosei_ib import bankcalendar
from cosei_ib.queries import prepared_cursor

from . import errors
from .models import Account, BankClosingDay, Journal
from .templatetags.accounts_format import account_label, japanese_date

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 64

_SQLSTATE_ERRORS: dict[str, type[errors.LedgerError]] = {
    "CI001": errors.InsufficientFunds,
    "23514": errors.InsufficientFunds,  # CHECK: customer balance >= 0 (the backstop)
    "CI002": errors.AccountClosed,
    "CI003": errors.AccountNotFound,
    "CI004": errors.AccountFrozen,
    "CI005": errors.IdempotencyConflict,
    "CI007": errors.AccountFrozen,  # the entry trigger's backstop (LEDGER-7)
    "CI008": errors.InsufficientFunds,  # the entry trigger: a debit below the hold
    "CI010": errors.InvalidPosting,
    "CI011": errors.InvalidPosting,
    "CI012": errors.InvalidPosting,
    "CI013": errors.InvalidPosting,
    "CI014": errors.InvalidPosting,
    "CI015": errors.InvalidPosting,  # a line beyond MAX_AMOUNT (accounts 0027)
    "CI016": errors.InvalidPosting,  # a call beyond MAX_LINES or MAX_AMOUNT net an account (accounts 0032)
}
# CHECK account_balance_bounded (accounts 0032): a balance beyond 10^15 yen is no lack of funds
BALANCE_BOUNDED = "account_balance_bounded"

# 一兆円 a line, either way: ledger_post() refuses more (CI015, accounts 0027), as it is the
# cap of a hold (MAX_HOLD); far beyond any real amount (the 振込 amount field stops at
# 999,999,999,999), and a balance is 9 million postings away from bigint's end.
MAX_AMOUNT = 10**12
# Journal.Kind.values builds its list again on every access (~25 µs a posting).
JOURNAL_KINDS = frozenset(Journal.Kind.values)


@dataclass(frozen=True)
class PostingLine:
    """One leg of a posting: ``amount`` yen (+ credit/deposit, − debit/withdrawal) on
    ``account``, shown to its holder as ``description`` (摘要; the journal's when empty)."""

    account: Account | int
    amount: int
    description: str = ""

    @property
    def account_id(self) -> int | None:
        """The account's id; None for anything that is neither an id nor an Account (which
        ``journal_post`` refuses as ``InvalidPosting``)."""
        if isinstance(self.account, Account):
            return self.account.pk
        return self.account if type(self.account) is int else None


def _validate(lines: Sequence[PostingLine], kind: str, description: str, key: str,
              posted_at: dt.datetime | None) -> None:
    if kind not in JOURNAL_KINDS:
        raise errors.InvalidPosting(f"unknown journal kind {kind!r}")
    if not key or len(key) > 128:
        raise errors.InvalidPosting("idempotency key must be 1-128 characters")
    if not description or len(description) > MAX_DESCRIPTION:
        raise errors.InvalidPosting("description must be 1-64 characters")
    if len(lines) < 2:
        raise errors.InvalidPosting("a journal needs at least two lines")
    for line in lines:
        # bool is an int subclass; floats and Decimals are never money here (LEDGER-1).
        if type(line.amount) is not int or line.amount == 0 or abs(line.amount) > MAX_AMOUNT:
            raise errors.InvalidPosting(f"amount must be a non-zero int, got {line.amount!r}")
        if type(line.account_id) is not int:
            raise errors.InvalidPosting(f"account must be an id or an Account, got {line.account!r}")
        if not isinstance(line.description, str) or len(line.description) > MAX_DESCRIPTION:
            raise errors.InvalidPosting("line description must be at most 64 characters")
    if sum(line.amount for line in lines) != 0:
        raise errors.InvalidPosting("lines do not sum to zero")
    if posted_at is not None and posted_at > timezone.now():
        # a future entry would block every later posting on its accounts
        raise errors.InvalidPosting("a posting cannot be dated in the future")


def journal_post(
    *,
    lines: Sequence[PostingLine],
    kind: str,
    description: str,
    idempotency_key: str,
    posted_at: dt.datetime | None = None,
    savepoint: bool = True,
) -> Journal:
    """Post one balanced journal, exactly once per ``idempotency_key``.

    Guarantees (enforced by the PostgreSQL function ``ledger_post`` in one round trip):
    every touched account is locked ``FOR UPDATE`` in id order; status and funds
    (balance − holds) are checked after the lock; the journal, its entries and the
    cached balances are written together or not at all. Called outside a transaction the
    single statement is its own transaction; inside ``transaction.atomic`` it joins the
    caller's, so a transfer, its audit row and its mail commit together.

    Returns the journal, with ``journal.created`` False when the key had already been
    used for the same request: kind, description, every line (account, amount,
    description) and ``posted_at`` as given — a reuse that differs in any of them raises
    ``IdempotencyConflict`` (LEDGER-7). Raises ``InsufficientFunds``, ``AccountClosed``,
    ``AccountFrozen``, ``AccountNotFound``, ``IdempotencyConflict`` or ``InvalidPosting``
    (all ``LedgerError``, with a Japanese ``message``).

    ``posted_at`` backdates the posting (demo history, migrations of old data); it may
    never be earlier than an account's last entry, nor in the future, and before the
    current bank day only onto customer accounts opened in the same transaction — no
    customer has seen their statements (accounts 0020, LEDGER-7) — and internal accounts
    without an entry from before it (accounts 0026).

    Inside a transaction the call has a savepoint of its own, so that the caller's
    transaction stays usable after a refusal. ``savepoint=False`` leaves it out where the
    caller's own ``atomic()`` block encloses the call and lets the refusal through, so
    that nothing runs in the aborted transaction (``transfer_execute``): two statements
    fewer per posting.
    """
    _validate(lines, kind, description, idempotency_key, posted_at)
    arguments = [
        kind,
        description,
        idempotency_key,
        [line.account_id for line in lines],
        [line.amount for line in lines],
        [line.description or description for line in lines],
        posted_at,
    ]
    # The connection itself, not django.db.connection: every attribute read through that
    # proxy is a context-local look-up (~5 µs each, eight of them a posting).
    db = connections[DEFAULT_DB_ALIAS]
    try:
        if db.in_atomic_block and savepoint:
            # A savepoint, so that a refusal (say, insufficient funds) leaves the caller's
            # transaction usable: the scheduled-transfer job records 未処理 in it.
            with transaction.atomic():
                journal_id, created, when = _call_ledger_post(db, arguments)
        else:
            journal_id, created, when = _call_ledger_post(db, arguments)
    except DatabaseError as exc:
        raise _domain_error(exc) from exc
    journal = Journal(
        id=journal_id,
        kind=kind,
        description=description,
        idempotency_key=idempotency_key,
        posted_at=when,
    )
    journal.created = created
    if created:
        logger.info("journal %s posted kind=%s key=%s", journal_id, kind, idempotency_key)
    else:
        logger.info("journal %s replayed for key=%s", journal_id, idempotency_key)
    return journal


# The casts pin the parameter types, whatever integer type psycopg picks for a list.
LEDGER_POST_SQL = ("SELECT journal_id, created, posted_at FROM ledger_post("
                   "%s, %s, %s, %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz)")


def _call_ledger_post(db, arguments: list) -> tuple[int, bool, dt.datetime]:
    # prepared: the server parses and plans the call once per connection, not per posting
    with prepared_cursor(db.alias) as cursor:
        cursor.execute(LEDGER_POST_SQL, arguments)
        return cursor.fetchone()


def _domain_error(exc: DatabaseError) -> errors.LedgerError:
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    detail = getattr(getattr(cause, "diag", None), "message_detail", None)
    account_id = int(detail) if detail and detail.isdigit() else None
    error_class = _SQLSTATE_ERRORS.get(sqlstate or "", errors.LedgerIntegrityError)
    if getattr(getattr(cause, "diag", None), "constraint_name", None) == BALANCE_BOUNDED:
        error_class = errors.LedgerIntegrityError
    if error_class is errors.LedgerIntegrityError:
        logger.error("ledger refused a posting: sqlstate=%s %s", sqlstate, exc)
    return error_class(f"{sqlstate}: {getattr(cause, 'diag', None) and cause.diag.message_primary}",
                       account_id=account_id)


MAX_COUNTER_DEPOSIT = 100_000_000


def counter_deposit_key(*, account: Account, reference: str) -> str:
    """The counter deposit's idempotency key: one posting per slip number at its branch."""
    return f"counter-deposit:{account.branch.code}:{reference}"


def counter_deposit(*, account: Account, amount: int, reference: str, actor: str) -> Journal:
    """A cash deposit at the branch counter (窓口入金), posted by staff in admin (STAFF-1).

    ``reference`` (the counter slip number) makes it idempotent: the same slip twice posts
    once. Writes the audit row and the customer's deposit notice in the same transaction.
    """
    from notifications.services import notice_enqueue
    from security.audit import audit_record

    if type(amount) is not int or not 0 < amount <= MAX_COUNTER_DEPOSIT:
        raise errors.InvalidPosting("counter deposit amount out of range")
    if account.is_internal:
        raise errors.InvalidPosting("counter deposits go to customer accounts")
    cash = Account.objects.get(purpose=Account.Purpose.CASH)
    with transaction.atomic():
        journal = journal_post(
            lines=[
                PostingLine(account=cash, amount=-amount, description=f"窓口入金 {account.number}"),
                PostingLine(account=account, amount=amount, description="窓口入金"),
            ],
            kind=Journal.Kind.DEPOSIT,
            description="窓口入金",
            idempotency_key=counter_deposit_key(account=account, reference=reference),
        )
        if journal.created:
            audit_record(action="counter_deposit", outcome="success", customer=account.customer,
                         summary=f"{account.number} {amount:,}円 伝票{reference}", actor=actor)
            notice_enqueue(customer=account.customer, event="deposit", lines=[
                f"口座（{account_label(account)}）に"
                f"{amount:,}円のご入金がありました（窓口入金）。",
            ])
    return journal


ACCOUNT_CLOSE_NOT_EMPTY = "残高または拘束額が残っている口座は解約できません。残高を払い出し、拘束を解除してから解約してください。"
HOLD_OUT_OF_RANGE = "拘束額は0円以上、1兆円以下で入力してください。"
HOLD_ABOVE_BALANCE = "拘束額は口座の残高（{balance:,}円）以下で入力してください。"
ACCOUNT_CLOSED_FINAL = "解約済みの口座は状態を変更できません。新しい口座を開設してください。"
INTERNAL_ACCOUNT_OWNER_ONLY = ("当金庫の勘定（お客様口座以外）の状態と拘束額は、管理画面では変更できません。"
                               "データベース管理者に依頼してください。")
MAX_HOLD = 10**12


def account_admin_change_problem(*, account: Account, status: str, hold_amount: int) -> str:
    """Why staff may not save this status and hold (empty: they may). Shared by the admin
    form (a message on the page) and the service (the same rule under the row lock)."""
    if account.is_internal and (status, hold_amount) != (account.status, account.hold_amount):
        return INTERNAL_ACCOUNT_OWNER_ONLY  # the owner's alone (CI111, accounts 0025)
    if account.status == Account.Status.CLOSED and status != Account.Status.CLOSED:
        return ACCOUNT_CLOSED_FINAL  # the database refuses it too (CI108, LEDGER-7)
    if not 0 <= hold_amount <= MAX_HOLD:
        return HOLD_OUT_OF_RANGE
    if not account.is_internal and hold_amount > account.balance:
        # the database holds the same rule (CHECK balance >= hold_amount, LEDGER-7)
        return HOLD_ABOVE_BALANCE.format(balance=account.balance)
    if status == Account.Status.CLOSED and (account.balance != 0 or hold_amount != 0):
        return ACCOUNT_CLOSE_NOT_EMPTY
    return ""


ACCOUNT_CHANGED_MEANWHILE = ("他の担当者がこの口座を変更しました（状態：{status}、拘束額：{hold:,}円）。"
                             "画面を開き直して内容を確認してから、もう一度操作してください。")


class AccountChangeRefused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def account_admin_change(*, account: Account, changed: Sequence[str], actor: str,
                         seen: tuple[str, int] | None = None, reason: str = "") -> None:
    """Save what staff changed on an account in admin — status and hold amount only (the
    ledger fields are read-only there and guarded by the database) — under the account's
    row lock, with an audit row and a notice to the customer. Closing needs an empty
    account: a closed account takes no postings, so money left in it would be stranded.

    ``seen``: the (status, hold) the staff member's page showed; when the account no longer
    has them (another staff member saved meanwhile) the change is refused, so a save never
    undoes a hold or a freeze its author did not see. ``reason``: why (admin asks for it,
    walk31 F1), in the 操作ログ with the state before; the customer's mail and 取引履歴 name
    neither."""
    from notifications.services import notice_enqueue
    from security.audit import audit_record

    fields = [name for name in changed if name in {"status", "hold_amount"}]
    if not fields:
        return
    with transaction.atomic():
        current = Account.objects.select_for_update().get(pk=account.pk)
        # and its stripes (issue 14): a posting holding one finishes first, and every later
        # one sees the new status (ledger_post checks a stripe's account after its locks)
        list(Account.objects.select_for_update().filter(stripe_of=account.pk).order_by("id"))
        if seen is not None and (current.status, current.hold_amount) != tuple(seen):
            raise AccountChangeRefused(ACCOUNT_CHANGED_MEANWHILE.format(
                status=current.get_status_display(), hold=current.hold_amount))
        problem = account_admin_change_problem(account=current, status=account.status,
                                               hold_amount=account.hold_amount)
        if problem:
            raise AccountChangeRefused(problem)
        Account.objects.filter(pk=account.pk).update(**{name: getattr(account, name) for name in fields})
        summary = "、".join(
            f"状態={account.get_status_display()}" if name == "status" else f"拘束額={account.hold_amount:,}円"
            for name in fields
        )
        before = f"変更前：状態={current.get_status_display()}、拘束額={current.hold_amount:,}円"
        audit_record(action="account_change", outcome="success", customer=account.customer,
                     summary=f"{account.number} {summary}（{before}）" + (f" 理由：{reason}" if reason else ""),
                     actor=actor)
        if account.customer is not None:
            # a sentence, not the audit's 「状態=支払停止」, which read like a log line (walk25 F21)
            told = "、".join(f"状態を「{account.get_status_display()}」に" if name == "status"
                            else f"拘束額を{account.hold_amount:,}円に" for name in fields)
            notice_enqueue(customer=account.customer, event="account_change", lines=[
                f"口座（{account.get_type_display()} {account.masked_number}）の{told}変更しました。",
            ])


# --- the bank's own closing days (臨時休業日, LEDGER-6, STAFF-1) ------------------------------

CLOSING_DAY_HORIZON_DAYS = 731  # about two years: a typo (2207 for 2027) is refused
CLOSING_DAY_NOT_FUTURE = "臨時休業日には明日以降の日付を指定してください（本日・過去の日付は登録できません）。"
CLOSING_DAY_TOO_FAR = "臨時休業日は{last}（約2年後）までの日付を指定してください。"
CLOSING_DAY_ALREADY_CLOSED = "{day}は{why}のため、もともと休業日です（登録の必要はありません）。"
CLOSING_DAY_DUPLICATE = "{day}はすでに臨時休業日に登録されています。"
CLOSING_DAY_PAST_HELD = "本日・過去の臨時休業日は削除できません（その日の取引は休業日として扱われています）。"
# dbprobe26 F14: the database holds at most this many days dated from a year ago on, each
# within a year back and three years ahead (accounts 0030, CI112); admin says so first
CLOSING_DAYS_MAX = 100
CLOSING_DAY_LIMIT = ("臨時休業日は1年前以降の日付で{max}日まで登録できます。"
                     "すでに{max}日登録されているため、これ以上は登録できません。")
CLOSING_DAY_REFUSED = "この日付は臨時休業日に登録できません。明日から約2年後までの日付を指定してください。"


class ClosingDayRefused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def bank_closing_day_problem(day: dt.date, *, today: dt.date) -> str:
    """Why ``day`` cannot become a 臨時休業日 ('' when it can): only a future day (today's
    and earlier business is done or under way), within about two years, that is not
    already closed (weekend, national holiday, year-end, an existing closing day)."""
    if day <= today:
        return CLOSING_DAY_NOT_FUTURE
    last = today + dt.timedelta(days=CLOSING_DAY_HORIZON_DAYS)
    if day > last:
        return CLOSING_DAY_TOO_FAR.format(last=japanese_date(last))
    if BankClosingDay.objects.filter(date__gte=bankcalendar.closing_days_window(today)[0]).count() >= CLOSING_DAYS_MAX:
        return CLOSING_DAY_LIMIT.format(max=CLOSING_DAYS_MAX)
    if bankcalendar.closing_day_name(day):
        return CLOSING_DAY_DUPLICATE.format(day=japanese_date(day))
    why = bankcalendar.closed_reason(day)
    if why:
        return CLOSING_DAY_ALREADY_CLOSED.format(day=japanese_date(day), why=why)
    return ""


def bank_closing_day_add(*, day: dt.date, name: str, actor: str) -> BankClosingDay:
    """Add a 臨時休業日 with its audit row (one transaction). Raises ``ClosingDayRefused``
    with the Japanese reason; two staff adding the same day at once: the unique index
    refuses the second, with the same message. Every process counts it within
    ``bankcalendar.CLOSING_DAYS_REFRESH_SECONDS`` (this one at once, accounts.signals)."""
    from security.audit import audit_record

    problem = bank_closing_day_problem(day, today=bankcalendar.local_now().date())
    if problem:
        raise ClosingDayRefused(problem)
    try:
        with transaction.atomic():
            closing_day = BankClosingDay.objects.create(date=day, name=name, created_by=actor)
            audit_record(action="staff_closing_day", outcome="success", actor=actor,
                         summary=f"臨時休業日追加 {closing_day}")
    except IntegrityError:
        raise ClosingDayRefused(CLOSING_DAY_DUPLICATE.format(day=japanese_date(day))) from None
    except DatabaseError as refused:  # the database's window or count (CI112), e.g. its clock
        if getattr(refused.__cause__, "sqlstate", None) != "CI112":
            raise
        first = bankcalendar.closing_days_window(bankcalendar.local_now().date())[0]
        over = BankClosingDay.objects.filter(date__gte=first).count() >= CLOSING_DAYS_MAX
        raise ClosingDayRefused(CLOSING_DAY_LIMIT.format(max=CLOSING_DAYS_MAX) if over
                                else CLOSING_DAY_REFUSED) from None
    return closing_day


def bank_closing_day_delete(*, closing_day: BankClosingDay, actor: str) -> None:
    """Delete a future 臨時休業日 with its audit row; today's and past ones stay (the
    day's business was done as a closed day). Raises ``ClosingDayRefused``."""
    from security.audit import audit_record

    with transaction.atomic():
        current = BankClosingDay.objects.select_for_update().filter(pk=closing_day.pk).first()
        if current is None:
            return
        if current.date <= bankcalendar.local_now().date():
            raise ClosingDayRefused(CLOSING_DAY_PAST_HELD)
        audit_record(action="staff_closing_day", outcome="success", actor=actor,
                     summary=f"臨時休業日削除 {current}")
        current.delete()
