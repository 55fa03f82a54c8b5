"""予約振込 (XFER-5, XFER-6, issue 9): making, cancelling and executing scheduled transfers.

A scheduled transfer is a ``Transfer`` with a future ``transfer_date`` and status
``scheduled``; nothing is posted until its day. The day's batch (``transfers_execute_due``,
run by the periodic job ``transfers.scheduled_execute`` and ``manage.py transfers_execute``)
executes each due transfer exactly once, whatever the number of workers:

* claim: ``SELECT … FOR UPDATE SKIP LOCKED`` of each customer's earliest due transfer
  *and* that customer's ``TransferLimit`` row (the customer's lock of services.py), so one
  customer's transfers are taken one at a time in the defined order (date, 受付日時, id)
  while other workers take other customers;
* each transfer's posting (idempotency key ``scheduled-transfer:<id>``), state change by
  a conditional UPDATE (``status = 'scheduled'`` → executed / unprocessed), audit row and
  mail commit together or not at all — in chunks of up to ``BATCH_CHUNK`` transfers of
  different customers per transaction, their accounts locked first in id order (below,
  and docs/transfers.md "The batch in chunks"). A worker killed mid-batch loses only its
  uncommitted chunk, whose transfers stay ``scheduled`` for the next run.

The funds rule (docs/architecture.md): the balance at the end of the day before the
transfer's date − the account's holds now − what the account's scheduled transfers dated
that day or earlier took since that day began must cover amount + fee (the debited
amount); the ledger's own check (balance − holds now) must pass too.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.errors import AccountClosed, AccountFrozen, IdempotencyConflict, InsufficientFunds, LedgerError
from accounts.models import Account, Branch, Customer, Journal
from accounts.services import journal_post
from accounts.templatetags.accounts_format import japanese_date, slash_date
from cosei_ib import bankcalendar
from notifications.services import notice_enqueue
from security.audit import audit_record, reference_text
from security.models import AuditEvent

from .errors import TransferRefused
from .models import OutgoingTransfer, Transfer, TransferLimit
from .scheduled_records import audit_records, notices_enqueue
from .selectors import daily_limit_in_force, default_daily_limit
from .services import (
    ACCOUNT_NOT_USABLE,
    OUTSIDE_HOURS,
    SCHEDULE_DATE_PASSED,
    TRANSFER_INTERNAL_PURPOSES,
    _outgoing_record,
    _transfer_details,
    _transfer_notice,
    confirm_refusal_summarised,
    confirmed_content_check,
    transfer_from_content,
    row_refusal,
    transfer_row_insert,
    transfer_lines,
    transfer_summary,
)

logger = logging.getLogger(__name__)

DATE_NOT_BUSINESS_DAY = "{day}は{why}のため、振込日に指定できません。営業日を指定してください。"
DATE_PAST = "振込日に過去の日付は指定できません。"
# probe34 F2: {last} is the last business day of the horizon (last_schedule_day) — it said
# 「2027年2月6日（60日後）まで」 of a Saturday, which the next try was refused as 土曜日
DATE_TOO_FAR = "振込日は{last}までの営業日を指定してください（ご予約は{days}日先までの営業日です）。"
# Today, left empty or given (the picker's min), is a same-day transfer (schedule_date_problem).
DATE_HINT = ("本日のお振込は本日の日付のままお進みください。予約する場合は翌営業日から{last}までの営業日を"
             "「{example}」のように入力してください（土日・祝日・12月31日～1月3日・当金庫の休業日は指定できません）。")
CANCEL_ON_THE_DAY = "振込指定日の当日となったため、取消できません（取消は振込指定日の前日まで）。"
CANCEL_NOT_SCHEDULED = "このお振込は予約中ではないため、取消できません。"
# walk29 F5: a 予約 already cancelled is said as such, not as 「予約中ではない」
CANCEL_ALREADY = "このご予約は既に取り消されています。お振込・お引落しは行われません。"
CANCEL_ALREADY_BY_BANK = ("このご予約は、当金庫窓口で既に取り消されています。お振込・お引落しは行われません"
                          "（取消のお知らせをＥメールでお送りしています）。")
STAFF_CANCEL_REASON_REQUIRED = "理由を入力してください。"
# the 予約's fee row was corrected before its date (dbprobe28 F4): the lower fee is charged
FEE_REPRICED = "振込手数料は、手数料表の訂正により、ご予約時の{booked:,}円から{fee:,}円になりました。"

BATCH_WAIT_SECONDS = 0.05
BATCH_WAIT_ROUNDS = 200  # ≈ 10 s waiting for a transfer another session holds


# --- the date (XFER-5) ---------------------------------------------------------------------


def horizon_days() -> int:
    return settings.TRANSFERS_SCHEDULE_HORIZON_DAYS


def date_example(*, today: dt.date) -> str:
    """The example date of the transfer-date field: the next business day, the first date
    a reservation can take — a fixed or calendar date could be one the bank refuses."""
    return slash_date(bankcalendar.next_business_day(today))


def last_schedule_day(today: dt.date) -> dt.date:
    """The last day a 予約 can take, the one the page names (DATE_TOO_FAR, DATE_HINT, the
    picker's max): the last business day within the horizon — ``horizon_days()`` after
    today, or the business day before it when the bank is closed then (probe34 F2). Should
    no business day follow today within the horizon (closing days staff added), the
    horizon's own date: no day is then named that the check would take."""
    last = today + dt.timedelta(days=horizon_days())
    if bankcalendar.is_business_day(last):
        return last
    try:
        day = bankcalendar.previous_business_day(last)
    except bankcalendar.NoBusinessDay:
        return last
    return day if day > today else last


def schedule_date_problem(day: dt.date, *, today: dt.date) -> str:
    """Why ``day`` cannot be a transfer date ('' when it can): today is a same-day transfer;
    a past day, a bank holiday or a day beyond the horizon is refused with its reason."""
    if day < today:
        return DATE_PAST
    if day == today:
        return ""
    if day > today + dt.timedelta(days=horizon_days()):
        return DATE_TOO_FAR.format(last=japanese_date(last_schedule_day(today)), days=horizon_days())
    if bankcalendar.is_bank_holiday(day):
        return DATE_NOT_BUSINESS_DAY.format(day=japanese_date(day), why=bankcalendar.closed_reason(day))
    return ""


# --- making one (XFER-5) -------------------------------------------------------------------


@confirm_refusal_summarised
def scheduled_transfer_create(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict,
                              ip: str | None = None) -> Transfer:
    """Record a confirmed scheduled transfer (nothing is debited). Runs in the caller's
    transaction (the one consuming the step-up), under the customer's lock: the date is
    checked again, and the limit in force on that date against the transfers already
    executed or scheduled for it. Audited (振込予約) and mailed (振込予約受付); a refusal is
    named for 取引履歴 (``confirm_refusal_summarised``). A date that is not after today
    (0:00 passed since the confirm page) is refused first of all, as final
    (SCHEDULE_DATE_PASSED: back to the input page to choose the date again) — never booked
    for a day already begun, whose batch may have run (sched35)."""
    today = bankcalendar.local_now().date()
    day = dt.date.fromisoformat(content["transfer_date"])
    if day <= today:
        raise TransferRefused(SCHEDULE_DATE_PASSED.format(day=japanese_date(day)), final=True)
    if not bankcalendar.is_service_open("default"):
        raise TransferRefused(OUTSIDE_HOURS.format(hours=bankcalendar.hours_text()))
    problem = schedule_date_problem(day, today=today)
    if problem:
        raise TransferRefused(problem)
    with transaction.atomic():
        debit, schedule = confirmed_content_check(customer=customer, content=content, day=day)
        if debit.status != Account.Status.OPEN:
            raise TransferRefused(ACCOUNT_NOT_USABLE)
        transfer = transfer_from_content(customer=customer, content=content, debit=debit, schedule=schedule,
                                         status=Transfer.Status.SCHEDULED, stepup_id=stepup_id)
        transfer_row_insert(transfer)
        audit_record(action="transfer_schedule", outcome="success", customer=customer, ip=ip,
                     summary=f"{transfer_summary(transfer)} 振込日{japanese_date(day)}")
        notice_enqueue(customer=customer, event="transfer_scheduled",
                       lines=["お振込のご予約を受け付けました。", ""] + _transfer_notice(transfer, debit)[2:]
                       + ["", "振込指定日の前日までに、ご指定の口座の残高を確保しておいてください。"])
    logger.info("transfer %s scheduled for %s customer=%s", transfer.pk, day, customer.contract_id)
    return transfer


# --- 振込予約取消 (XFER-6) -------------------------------------------------------------------


def scheduled_transfer_cancel_problem(transfer: Transfer, *, today: dt.date) -> str:
    if transfer.status == Transfer.Status.CANCELLED:
        return CANCEL_ALREADY
    if transfer.status != Transfer.Status.SCHEDULED:
        return CANCEL_NOT_SCHEDULED
    if transfer.transfer_date <= today:
        return CANCEL_ON_THE_DAY
    return ""


CANCEL_NOTHING_DEBITED = "このお振込は行われず、口座からのお引落し（振込金額・振込手数料）もありません。"


def _cancel_notice(opening: str, transfer: Transfer) -> list[str]:
    """A cancelled 予約's mail: nothing was or will be debited, so no 手数料 / 引落金額 lines
    that read like a debit that happened (walk28 F5)."""
    return [opening, CANCEL_NOTHING_DEBITED, "", *_transfer_details(transfer, transfer.debit_account)]


def scheduled_transfer_cancel(*, customer: Customer, transfer_id: int, ip: str | None = None) -> Transfer:
    """Cancel a scheduled transfer until the day before its date: one conditional UPDATE
    (still scheduled, date after today, the customer's own), so a cancel racing the batch
    either wins before the claim or finds the transfer already taken. Audited and mailed."""
    today = bankcalendar.local_now().date()
    with transaction.atomic():
        changed = (Transfer.objects.filter(pk=transfer_id, customer=customer, status=Transfer.Status.SCHEDULED,
                                           transfer_date__gt=today)
                   .update(status=Transfer.Status.CANCELLED, cancelled_at=timezone.now()))
        transfer = Transfer.objects.select_related("debit_account__branch").get(pk=transfer_id, customer=customer)
        if not changed:
            problem = scheduled_transfer_cancel_problem(transfer, today=today) or CANCEL_NOT_SCHEDULED
            if problem == CANCEL_ALREADY and _cancelled_by_the_bank(transfer):
                problem = CANCEL_ALREADY_BY_BANK
            refused = f"{reference_text(transfer.pk)} {problem}"[:200]
            audit_record(action="transfer_cancel", outcome="refused", customer=customer, ip=ip, summary=refused)
        else:
            audit_record(action="transfer_cancel", outcome="success", customer=customer, ip=ip,
                         summary=f"{transfer_summary(transfer)} 振込日{japanese_date(transfer.transfer_date)}")
            notice_enqueue(customer=customer, event="transfer_cancelled",
                           lines=_cancel_notice("お振込のご予約を取り消しました。", transfer))
    if not changed:  # not 予約中 any more, or its day has come: retrying cannot help (walk25 F11)
        # the step-up's transaction rolls back the row above: it writes this one instead
        raise TransferRefused(problem, final=True, audit_summary=refused)
    return transfer


def _cancelled_by_the_bank(transfer: Transfer) -> bool:
    """Whether branch staff cancelled ``transfer`` (their audit row; the transfer row does not
    say who cancelled it)."""
    return AuditEvent.objects.filter(customer_id=transfer.customer_id, action="transfer_cancel_staff",
                                     outcome="success", summary__startswith=f"{reference_text(transfer.pk)} ").exists()


def scheduled_transfer_staff_cancel(*, transfer_id: int, reason: str, actor: str) -> Transfer:
    """Branch staff, at the customer's request — typically after IB取引中止 (SEC-10), when
    the customer can no longer log in to cancel it themselves (XFER-6): cancel a transfer
    still waiting for the batch, also on its date if the batch has not taken it yet. The
    same conditional UPDATE as the customer's cancel: the batch holds the row locked while
    it executes, so a cancel racing it waits and then finds it taken. Audited with the
    staff user and the reason; the customer is mailed."""
    reason = reason.strip()
    if not reason:
        raise TransferRefused(STAFF_CANCEL_REASON_REQUIRED)
    with transaction.atomic():
        changed = (Transfer.objects.filter(pk=transfer_id, status=Transfer.Status.SCHEDULED)
                   .update(status=Transfer.Status.CANCELLED, cancelled_at=timezone.now()))
        transfer = (Transfer.objects.select_related("customer", "debit_account__branch")
                    .get(pk=transfer_id))
        if not changed:
            audit_record(action="transfer_cancel_staff", outcome="refused", customer=transfer.customer, actor=actor,
                         summary=f"{reference_text(transfer.pk)} {transfer.get_status_display()} 理由：{reason}")
        else:
            audit_record(action="transfer_cancel_staff", outcome="success", customer=transfer.customer,
                         actor=actor, summary=f"{reference_text(transfer.pk)} 振込日{japanese_date(transfer.transfer_date)} "
                                              f"{transfer.amount:,}円 理由：{reason}")
            # always sent, whatever the customer chose for receipts: a cancel done by staff
            # is told to the customer even if someone at the bank did it without asking
            notice_enqueue(customer=transfer.customer, event="transfer_cancelled_staff",
                           lines=_cancel_notice("お申し出により、当金庫でお振込のご予約を取り消しました。", transfer))
    if not changed:
        raise TransferRefused(CANCEL_NOT_SCHEDULED)
    return transfer


# --- the batch (XFER-5) --------------------------------------------------------------------


@dataclass
class BatchResult:
    executed: int = 0
    unprocessed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, transfer: Transfer) -> None:
        if transfer.status == Transfer.Status.EXECUTED:
            self.executed += 1
        else:
            self.unprocessed += 1
            self.reasons[transfer.unprocessed_reason] = self.reasons.get(transfer.unprocessed_reason, 0) + 1


# The batch reads with hand-written SQL: the ORM's claim (six tables joined for
# select_related) cost the planner about 6 ms per transfer, and the four reads of the
# funds rule and the limit were four round trips; here they are two statements (Issue 14).

def _columns(model, alias: str) -> tuple[list[str], str]:
    """(attribute names, SQL column list) of ``model``'s concrete fields, for ``from_db``."""
    fields = model._meta.concrete_fields
    return [f.attname for f in fields], ", ".join(f'{alias}."{f.column}"' for f in fields)


@functools.cache
def _claim_sql() -> tuple[list[str], list[str], str]:
    transfer_names, transfer_columns = _columns(Transfer, "t")
    limit_names, limit_columns = _columns(TransferLimit, "l")
    # The limit row joined by customer_id alone: an inner join, so the lock row exists.
    # Only each customer's earliest due transfer (in this statement's snapshot) is taken:
    # a claim never locks a transfer it will not execute, so a worker that finds one of
    # them locked can never take the customer's next one in its place.
    # The bank maximum (振込の設定) rides along: a cut since the booking caps its limit
    # (XFER-8, as for new transfers), at no extra statement.
    sql = (f"SELECT {transfer_columns}, {limit_columns},"
           "  COALESCE((SELECT s.bank_max_daily_limit FROM transfers_transfersettings s WHERE s.id = 1),"
           "           %(fallback_maximum)s)"
           " FROM transfers_transfer t"
           " JOIN transfers_transferlimit l ON l.customer_id = t.customer_id"
           " WHERE t.status = %(scheduled)s AND t.transfer_date <= %(day)s"
           "   AND NOT EXISTS (SELECT 1 FROM transfers_transfer e WHERE e.customer_id = t.customer_id"
           "                      AND e.status = %(scheduled)s AND e.transfer_date <= %(day)s"
           "                      AND (e.transfer_date, e.created_at, e.id) < (t.transfer_date, t.created_at, t.id))"
           " ORDER BY t.transfer_date, t.created_at, t.id LIMIT %(size)s FOR UPDATE OF t, l SKIP LOCKED")
    return transfer_names, limit_names, sql


def _claim(day: dt.date, size: int = 1) -> list[tuple[Transfer, TransferLimit]]:
    """The earliest due transfer of up to ``size`` customers whose transfer row and
    customer lock (their ``TransferLimit`` row) no one else holds, in the batch's order,
    each with its limit row (carrying the bank maximum as ``bank_maximum``, as
    ``transfer_limits_with_maximum`` does): all locked until the transaction ends."""
    transfer_names, limit_names, sql = _claim_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"scheduled": Transfer.Status.SCHEDULED, "day": day, "size": size,
                             "fallback_maximum": settings.TRANSFERS_BANK_MAX_DAILY_LIMIT})
        rows = cursor.fetchall()
    split = len(transfer_names)
    claimed = []
    for row in rows:
        limit = TransferLimit.from_db(connection.alias, limit_names, row[split:-1])
        limit.bank_maximum = row[-1]
        claimed.append((Transfer.from_db(connection.alias, transfer_names, row[:split]), limit))
    return claimed


@dataclass(frozen=True)
class ExecutionState:
    """What the funds rule and the limit look at, read in one statement under the locks."""

    closing: int  # the balance at the end of the day before the transfer's date
    hold: int  # the account's holds now
    taken: int  # what the account's scheduled transfers took since that day began
    day_total: int  # 振込金額 already executed for that date (the customer's)
    fee: int  # the fee to charge: the lower of the confirmed one and its row's now (transfers_fee_repriced)

    @property
    def funds(self) -> int:
        return self.closing - self.hold - self.taken


@functools.cache
def _state_sql() -> tuple[list[str], list[str], list[str], str]:
    account_names, account_columns = _columns(Account, "a")
    branch_names, branch_columns = _columns(Branch, "b")
    customer_names, customer_columns = _columns(Customer, "c")
    _, credit_columns = _columns(Account, "p")
    sql = (
        f"SELECT {account_columns}, {branch_columns}, {customer_columns}, {credit_columns},"
        # the last entry before 00:00 of the date carries the closing balance (0 before any)
        "  COALESCE((SELECT e.balance_after FROM accounts_entry e"
        "             WHERE e.account_id = a.id AND e.posted_at < q.day_start"
        "             ORDER BY e.posted_at DESC, e.id DESC LIMIT 1), 0),"
        # amount + fee (unless 先方負担) of the account's scheduled transfers (accepted before
        # their date) dated this day or earlier and executed since this day began
        "  (SELECT COALESCE(SUM(s.amount), 0) + COALESCE(SUM(s.fee) FILTER (WHERE NOT s.fee_borne_by_payee), 0)"
        "     FROM transfers_transfer s"
        "   WHERE s.debit_account_id = a.id AND s.status = %(executed)s AND s.transfer_date <= q.day"
        "      AND s.executed_at >= q.day_start"
        "      AND (s.created_at AT TIME ZONE %(zone)s)::date < s.transfer_date),"
        # the customer's 振込金額 executed for the date (still-waiting ones do not count)
        "  (SELECT COALESCE(SUM(d.amount), 0) FROM transfers_transfer d"
        "   WHERE d.customer_id = c.id AND d.transfer_date = q.day AND d.status = %(executed)s),"
        # the fee to charge (dbprobe28 F4, transfers 0033): the database's own rule, which the
        # transfer guard holds the state change to
        "  (SELECT public.transfers_fee_repriced(r) FROM transfers_transfer r WHERE r.id = q.transfer)"
        # one row per transfer asked about, in the order asked
        " FROM unnest(%(accounts)s::bigint[], %(customers)s::bigint[], %(credits)s::bigint[],"
        "             %(days)s::date[], %(starts)s::timestamptz[], %(transfers)s::bigint[])"
        "      WITH ORDINALITY AS q(account, customer, credit, day, day_start, transfer, ord)"
        " JOIN accounts_account a ON a.id = q.account JOIN accounts_branch b ON b.id = a.branch_id"
        " JOIN accounts_customer c ON c.id = q.customer"
        " LEFT JOIN accounts_account p ON p.id = q.credit"  # the payee's account at our bank
        " ORDER BY q.ord"
    )
    return account_names, branch_names, customer_names, sql


def _execution_states(transfers: list[Transfer]) -> list[ExecutionState]:
    """Read, in one statement, for each of ``transfers``: the debit account (with its
    branch), the customer, the payee's account at our bank and the figures of the funds
    rule and the limit; the objects are attached to the transfer (so the posting, the
    audit row and the mail read none of them again).

    Call after the claim: the statement's snapshot then holds every transfer of the
    customers committed before this worker took their locks (in the claim itself it would
    not: its snapshot predates the lock). The transfers must not share a customer or an
    account: each figure is as it stands before any of them is executed."""
    account_names, branch_names, customer_names, sql = _state_sql()
    params = {"executed": Transfer.Status.EXECUTED, "zone": timezone.get_current_timezone_name(),
              "accounts": [t.debit_account_id for t in transfers], "customers": [t.customer_id for t in transfers],
              "credits": [t.credit_account_id for t in transfers], "days": [t.transfer_date for t in transfers],
              "starts": [bankcalendar.start_of_day(t.transfer_date) for t in transfers],
              "transfers": [t.pk for t in transfers]}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if len(rows) != len(transfers):  # the PROTECT foreign keys make this impossible; never guess funds
        raise LedgerError(f"scheduled transfers {[t.pk for t in transfers]}: debit account or customer missing")
    sizes = (len(account_names), len(branch_names), len(customer_names), len(account_names))
    ends = list(itertools.accumulate(sizes))
    states = []
    for transfer, row in zip(transfers, rows, strict=True):
        debit = Account.from_db(connection.alias, account_names, row[:ends[0]])
        debit.branch = Branch.from_db(connection.alias, branch_names, row[ends[0]:ends[1]])
        transfer.debit_account = debit
        transfer.customer = Customer.from_db(connection.alias, customer_names, row[ends[1]:ends[2]])
        if transfer.credit_account_id is not None:
            transfer.credit_account = Account.from_db(connection.alias, account_names, row[ends[2]:ends[3]])
        closing, taken, day_total, fee = row[ends[3]:]
        states.append(ExecutionState(closing=closing, hold=debit.hold_amount, taken=taken, day_total=day_total,
                                     fee=transfer.fee if fee is None else fee))
    return states


def _repriced(transfers: list[Transfer], states: list[ExecutionState]) -> None:
    """Each 予約 charged the lower of the fee it was confirmed with and the fee its row gives
    now (``ExecutionState.fee``; dbprobe28 F4, transfers 0033): staff may correct a row until
    it is in force, also one a 予約 was booked under (a planted 10,000円 row), and the customer
    never pays more than the confirm page said. At execution the row is in force, so frozen.
    The confirmed fee is kept as ``booked_fee`` when it changes (the mail says so)."""
    for transfer, state in zip(transfers, states, strict=True):
        if state.fee != transfer.fee:
            transfer.booked_fee, transfer.fee = transfer.fee, state.fee


def funds_for(transfer: Transfer) -> int:
    """What the account may pay for ``transfer`` under the previous-day rule: the balance at
    the end of the day before its date − holds − what scheduled transfers of the account
    took since that day began."""
    return _execution_states([transfer])[0].funds


def _scheduled_for(day: dt.date) -> Q:
    """Transfers of ``day`` that were scheduled (accepted before that day began)."""
    return Q(transfer_date=day, created_at__lt=bankcalendar.start_of_day(day))


def _refusal(transfer: Transfer, state: ExecutionState, limit: TransferLimit) -> str:
    """The 未処理 reason the batch's own rules give (before the ledger's), '' if none."""
    status = transfer.debit_account.status
    if status == Account.Status.CLOSED:
        return Transfer.Reason.ACCOUNT_CLOSED
    if status != Account.Status.OPEN:
        return Transfer.Reason.ACCOUNT_FROZEN
    if state.funds < transfer.debited_amount:
        return Transfer.Reason.INSUFFICIENT_FUNDS
    # the limit in force: the customer's, capped by the bank maximum as it is now (XFER-8)
    if state.day_total + transfer.amount > daily_limit_in_force(limit, transfer.transfer_date):
        return Transfer.Reason.OVER_LIMIT
    if transfer.credit_account_id is not None and transfer.credit_account.status == Account.Status.FROZEN:
        # frozen since it was booked (口座名義確認 refuses one): the ledger refuses only debits
        return Transfer.Reason.PAYEE_UNAVAILABLE
    return ""


def _post(transfer: Transfer, internal: dict[str, Account] | None = None, *, savepoint: bool = True) -> Journal:
    return journal_post(lines=transfer_lines(transfer, internal=internal), kind=Journal.Kind.TRANSFER,
                        description=f"振込 {transfer.holder_kana}"[:64],
                        idempotency_key=f"scheduled-transfer:{transfer.pk}", savepoint=savepoint)


def _executed(transfer: Transfer, journal: Journal, now: dt.datetime) -> OutgoingTransfer | None:
    """Mark ``transfer`` executed (in memory); its Zengin record (unsaved) if it leaves the bank."""
    transfer.status, transfer.journal_id, transfer.executed_at = Transfer.Status.EXECUTED, journal.pk, now
    if transfer.route != Transfer.Route.OTHER_BANK:
        return None
    # settles on its date, or — executed late — on the first business day from today
    outgoing = _outgoing_record(transfer, max(transfer.transfer_date, bankcalendar.local_now().date()))
    outgoing.transfer = transfer
    return outgoing


def _unprocessed(transfer: Transfer, reason: str, now: dt.datetime) -> None:
    transfer.status, transfer.unprocessed_reason, transfer.executed_at = Transfer.Status.UNPROCESSED, reason, now


def _told(transfer: Transfer) -> tuple[str, str, str, list[str]]:
    """(audit outcome, audit summary, mail event, mail lines) of an executed or 未処理 transfer."""
    lines = _transfer_notice(transfer, transfer.debit_account)[2:]
    if transfer.status == Transfer.Status.EXECUTED:
        booked = getattr(transfer, "booked_fee", None)
        repriced = [] if booked is None else ["", FEE_REPRICED.format(booked=booked, fee=transfer.fee)]
        return ("success", f"予約振込実行 {transfer_summary(transfer)}"[:200], "transfer_executed",
                ["ご予約のお振込を実行しました。", ""] + lines + repriced)
    label = transfer.get_unprocessed_reason_display()
    return ("failure", f"予約振込未処理（{label}） {transfer_summary(transfer)}"[:200], "transfer_unprocessed",
            [f"理由：{label}", ""] + lines)


def result_told(transfer: Transfer) -> None:
    """The batch's audit row and the customer's mail of an executed or 未処理 transfer, in the
    caller's transaction: the database refuses the step without them (transfers 0034, CI232)."""
    outcome, summary, event, lines = _told(transfer)
    audit_record(action="transfer", outcome=outcome, customer=transfer.customer, actor="batch", summary=summary)
    notice_enqueue(customer=transfer.customer, event=event, lines=lines)


def scheduled_transfer_execute(transfer: Transfer, limit: TransferLimit) -> Transfer:
    """Execute one claimed transfer with its customer's locked limit row (call inside the
    claim's transaction). The batch's path for a transfer alone; ``_chunk_execute`` does
    the same for several in one transaction."""
    state = _execution_states([transfer])[0]
    _repriced([transfer], [state])
    reason = _refusal(transfer, state, limit)
    journal, changed = None, 0
    if not reason:
        try:
            # the posting's savepoint holds the 仕向 record too: one refused (CI221, below)
            # takes the posting back with it
            with transaction.atomic():
                journal = _post(transfer, savepoint=False)
                now = timezone.now()
                changed = (Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.SCHEDULED)
                           .update(status=Transfer.Status.EXECUTED, journal_id=journal.pk, executed_at=now,
                                   fee=transfer.fee))
                outgoing = _executed(transfer, journal, now)
                if outgoing is not None:
                    transfer_row_insert(outgoing)
        except InsufficientFunds:
            reason = Transfer.Reason.INSUFFICIENT_FUNDS
        except IdempotencyConflict:
            # its key ``scheduled-transfer:<id>`` already names another journal (squatted
            # before payeasy 0006 held the service keys): this transfer cannot be posted
            # under it — 未処理 and told, and the batch goes on (dbprobe25 F4)
            logger.error("scheduled transfer %s: its posting key is taken by another journal", transfer.pk)
            reason = Transfer.Reason.POSTING_REFUSED
        except (AccountClosed, AccountFrozen) as refused:
            if refused.account_id not in (None, transfer.debit_account_id):
                reason = Transfer.Reason.PAYEE_UNAVAILABLE
            elif isinstance(refused, AccountClosed):
                reason = Transfer.Reason.ACCOUNT_CLOSED
            else:
                reason = Transfer.Reason.ACCOUNT_FROZEN
        except LedgerError as refused:
            # any other refusal of the ledger (a line it cannot post, a bound it holds):
            # this transfer alone is 未処理, the batch goes on (dbprobe26 F4)
            logger.error("scheduled transfer %s: the ledger refused its posting: %s", transfer.pk, refused)
            reason = Transfer.Reason.POSTING_REFUSED
        except TransferRefused as refused:
            # the 仕向 record's 決済日 refused (CI221, dbprobe30 F6: closing days run on for
            # weeks): nothing posted, 未処理 and told, and the batch goes on
            logger.error("scheduled transfer %s: its 仕向 record was refused: %s", transfer.pk, refused.__cause__)
            reason = Transfer.Reason.POSTING_REFUSED
        if reason:
            journal, changed, transfer.journal_id = None, 0, None
    if journal is None:
        now = timezone.now()
        changed = (Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.SCHEDULED)
                   .update(status=Transfer.Status.UNPROCESSED, unprocessed_reason=reason, executed_at=now,
                           fee=transfer.fee))
        _unprocessed(transfer, reason, now)
    if changed != 1:  # cannot happen under the row lock; never post twice if it did
        raise LedgerError(f"scheduled transfer {transfer.pk} changed under its lock")
    result_told(transfer)
    return transfer


# --- the batch in chunks (Issue 14) --------------------------------------------------------
#
# One durable commit (a WAL flush) per transfer was most of a transfer's cost, so the batch
# executes up to BATCH_CHUNK transfers in one transaction (docs/transfers.md, "The batch in
# chunks"). What keeps that as safe as one transaction per transfer:
#
# * all or nothing: a worker killed mid-chunk loses the whole chunk, which stays
#   ``scheduled`` for the next run (nothing half-done: the postings, the state changes, the
#   audit rows and the mail of a chunk commit together);
# * no new deadlock: every account the chunk's postings will touch — debit and credit
#   accounts and the internal ones (為替決済, the fee-income stripe ledger_post() will choose
#   for this connection) — is locked first, in one statement, in id order, as every posting
#   locks; ledger_post() then finds its locks held and waits for nothing. Should it ever
#   have to wait all the same (its stripe rule changed), ``lock_timeout`` ends that wait
#   within CHUNK_LOCK_WAIT, the chunk rolls back and its transfers run one per transaction;
# * the funds rule exact: a chunk holds at most one transfer per customer and per account,
#   so each figure read once for the chunk is the one a transfer executed alone would read;
#   a chunk is read after its locks (claim, then accounts), and nothing else can move a
#   locked account's balance or holds before the commit;
# * anything unexpected (the ledger refusing a posting the batch's own checks passed) rolls
#   the chunk back and runs its transfers one per transaction, where the ledger's refusal
#   becomes the transfer's 未処理 reason as before.

BATCH_CHUNK = 16  # transfers per transaction at most: a chunk holds its accounts 16 transfers' time (~50 ms here)
BATCH_CHUNK_FIRST = 4
CHUNK_LOCK_WAIT = "100ms"


class _ChunkAbandoned(Exception):
    """A chunk the batch cannot finish as planned: roll it back, take its transfers alone."""


def _chunk_of(claimed: list[tuple[Transfer, TransferLimit]]) -> list[tuple[Transfer, TransferLimit]]:
    """The claimed transfers (one per customer) a chunk may hold: in the batch's order,
    none sharing an account with an earlier one. One that does (a customer paying another
    of the chunk's customers) stays locked and ``scheduled`` until a later chunk; its
    customer's later transfers cannot be claimed meanwhile (``_claim``)."""
    chunk, accounts = [], set()
    for transfer, limit in claimed:
        touched = {transfer.debit_account_id, transfer.credit_account_id} - {None}
        if not touched & accounts:
            chunk.append((transfer, limit))
            accounts |= touched
    return chunk


# The stripe below is chosen exactly as ledger_post() chooses it (migration 0012): by this
# connection's backend pid among the open stripes of an open striped account.
_CHUNK_LOCK_SQL = (
    "WITH internal AS ("
    "  SELECT coalesce(s.id, l.acc) AS id FROM unnest(%(internal)s::bigint[]) AS l(acc)"
    "  LEFT JOIN LATERAL ("
    "    SELECT x.id FROM (SELECT st.id, row_number() OVER (ORDER BY st.id) - 1 AS n, count(*) OVER () AS k"
    "                        FROM accounts_account p JOIN accounts_account st"
    "                          ON st.stripe_of_id = p.id AND st.purpose = 'stripe' AND st.status = 'open'"
    "                       WHERE p.id = l.acc AND p.purpose IN ('fee_income', 'payeasy_collection')"
    "                         AND p.status = 'open') AS x"
    "     WHERE x.n = pg_backend_pid() %% x.k) AS s ON true)"
    " SELECT a.id, a.balance - a.hold_amount, a.status, current_setting('lock_timeout') FROM accounts_account a"
    " WHERE a.id = ANY(%(accounts)s::bigint[]) OR a.id IN (SELECT id FROM internal)"
    " ORDER BY a.id FOR UPDATE OF a"
)


def _chunk_lock(transfers: list[Transfer], internal: dict[str, Account]) -> tuple[dict[int, tuple[int, str]], str]:
    """Lock every account the chunk's postings will touch, in id order, then bound the
    lock waits of the postings to come: ((balance − holds, status) of each account by id,
    the ``lock_timeout`` to restore after the postings)."""
    accounts = ({t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}) - {None}
    needed = set()
    for transfer in transfers:
        if transfer.route == Transfer.Route.OTHER_BANK:
            needed.add(internal[Account.Purpose.ZENGIN_SETTLEMENT].pk)
        if transfer.fee:
            needed.add(internal[Account.Purpose.FEE_INCOME].pk)
    with connection.cursor() as cursor:
        cursor.execute(_CHUNK_LOCK_SQL, {"accounts": sorted(accounts), "internal": sorted(needed)})
        rows = cursor.fetchall()
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [CHUNK_LOCK_WAIT])
    return {row[0]: (row[1], row[2]) for row in rows}, rows[0][3]


def _chunk_execute(chunk: list[tuple[Transfer, TransferLimit]], internal: dict[str, Account]) -> list[Transfer]:
    """Execute a chunk (``_chunk_of``) in the caller's transaction: the same decisions as
    ``scheduled_transfer_execute`` for each, the state changes, Zengin records, audit rows
    and mail written set-based. Raises ``_ChunkAbandoned`` when a posting is refused or
    waits (the caller rolls the chunk back)."""
    transfers = [transfer for transfer, _ in chunk]
    locked, usual_lock_wait = _chunk_lock(transfers, internal)
    states = _execution_states(transfers)
    _repriced(transfers, states)
    outcomes: list[Journal | str] = []  # each transfer's journal, or its 未処理 reason
    for (transfer, limit), state in zip(chunk, states, strict=True):
        reason = _refusal(transfer, state, limit)
        credit = locked.get(transfer.credit_account_id)
        if not reason and credit is not None and credit[1] == Account.Status.CLOSED:
            # the ledger would refuse it for the debit or the payee, whichever has the lower
            # id: the one-transfer path gives that answer
            raise _ChunkAbandoned(f"payee account of transfer {transfer.pk} closed")
        if not reason and locked[transfer.debit_account_id][0] < transfer.debited_amount:
            reason = Transfer.Reason.INSUFFICIENT_FUNDS  # the ledger's own check, balance − holds now
        if reason:
            outcomes.append(reason)
            continue
        try:
            outcomes.append(_post(transfer, internal))
        except LedgerError as refused:
            raise _ChunkAbandoned(f"transfer {transfer.pk}: {refused}") from refused
    now = timezone.now()  # after the postings, as on the one-transfer path
    outgoing = []
    for transfer, outcome in zip(transfers, outcomes, strict=True):
        if isinstance(outcome, str):
            _unprocessed(transfer, outcome, now)
        elif (record := _executed(transfer, outcome, now)) is not None:
            outgoing.append(record)
    with connection.cursor() as cursor:
        # the rows below wait as any other write would (no account is locked anew; the
        # audit rows' and mails' foreign-key checks take a key share of each customer's
        # row, which a request holding it FOR NO KEY UPDATE does not block: security.locks)
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [usual_lock_wait])
        cursor.execute(
            "UPDATE transfers_transfer t SET status = v.status, unprocessed_reason = v.reason,"
            " journal_id = v.journal, executed_at = %s, fee = v.fee"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::bigint[])"
            " AS v(id, status, reason, journal, fee)"
            " WHERE t.id = v.id AND t.status = %s",
            [now, [t.pk for t in transfers], [t.status for t in transfers],
             [t.unprocessed_reason for t in transfers], [t.journal_id for t in transfers],
             [t.fee for t in transfers], Transfer.Status.SCHEDULED])
        if cursor.rowcount != len(transfers):  # cannot happen under the row locks
            raise LedgerError(f"scheduled transfers {[t.pk for t in transfers]} changed under their locks")
    if outgoing:
        try:
            OutgoingTransfer.objects.bulk_create(outgoing)
        except DatabaseError as refused:
            if row_refusal(refused) is None:
                raise
            # a 決済日 refused (CI221, dbprobe30 F6): the one-transfer path makes that one 未処理
            raise _ChunkAbandoned(f"a 仕向 record refused: {refused}") from refused
    told = [(transfer, *_told(transfer)) for transfer in transfers]
    audit_records(action="transfer", actor="batch",
                  events=[(t.customer, outcome, summary) for t, outcome, summary, _, _ in told])
    notices_enqueue([(t.customer, event, lines) for t, _, _, event, lines in told])
    return transfers


def transfers_execute_due(*, day: dt.date | None = None, limit: int | None = None,
                          wait_for_others: bool = True) -> BatchResult:
    """Execute every scheduled transfer dated ``day`` (default today) or earlier, exactly
    once each, in chunks of up to ``BATCH_CHUNK`` transfers per transaction (above),
    claimed with SKIP LOCKED (safe with several workers and re-runs). ``limit`` stops after
    that many (tests simulate a killed worker with it). When only transfers held by another
    session remain, waits for them briefly (a customer busy with a same-day transfer holds
    the customer lock for milliseconds).

    A chunk starts small and doubles while each claim finds as many free customers as it
    asks for; when it finds fewer, the next asks for half of those: with few customers
    left, one worker's chunk would otherwise hold them all and leave the others idle."""
    day = day or bankcalendar.local_now().date()
    result = BatchResult()
    waited = 0
    size = BATCH_CHUNK_FIRST
    alone = 0  # transfers to take one per transaction after an abandoned chunk
    internal: dict[str, Account] | None = None
    while limit is None or result.executed + result.unprocessed < limit:
        left = size if limit is None else limit - result.executed - result.unprocessed
        try:
            with transaction.atomic():
                claimed = _claim(day, 1 if alone else min(size, left))
                chunk = _chunk_of(claimed)
                if len(chunk) > 1:
                    if internal is None:
                        internal = {account.purpose: account for account in
                                    Account.objects.filter(purpose__in=TRANSFER_INTERNAL_PURPOSES)}
                    done = _chunk_execute(chunk, internal)
                else:
                    done = [scheduled_transfer_execute(*pair) for pair in chunk]
        except _ChunkAbandoned as abandoned:
            logger.warning("scheduled batch: chunk of %s rolled back, taken one by one: %s", len(chunk), abandoned)
            alone = len(chunk)
            continue
        for transfer in done:
            result.add(transfer)
        if claimed:
            waited = 0
            alone = max(alone - len(done), 0)
            size = min(size * 2, BATCH_CHUNK) if len(claimed) == size else max(len(claimed) // 2, 2)
            continue
        if waited >= BATCH_WAIT_ROUNDS or not _due_exists(day):
            break
        if _limit_rows_ensure(day):
            continue  # a customer's lock row was missing (dbprobe26 F13): made, claim again
        if not wait_for_others:
            break
        waited += 1
        time.sleep(BATCH_WAIT_SECONDS)
    return result


def _limit_rows_ensure(day: dt.date) -> int:
    """The claim takes each customer's limit row with the transfer (an inner join: the
    customer's lock): when it finds nothing while transfers are due, a customer with a due
    transfer and no row — only the owner can remove one (transfers 0023, dbprobe26 F13) —
    gets the row a booking makes (the default limit), so their transfers are not skipped
    without a word. Returns how many were made."""
    missing = list(Transfer.objects.filter(status=Transfer.Status.SCHEDULED, transfer_date__lte=day,
                                           customer__transfer_limit__isnull=True)
                   .values_list("customer_id", flat=True).distinct())
    if missing:
        logger.error("scheduled batch: customers %s had no transfer limit row: the default made", missing)
        TransferLimit.objects.bulk_create([TransferLimit(customer_id=customer_id, daily_limit=default_daily_limit())
                                           for customer_id in missing], ignore_conflicts=True)
    return len(missing)


def _due_exists(day: dt.date) -> bool:
    return Transfer.objects.filter(status=Transfer.Status.SCHEDULED, transfer_date__lte=day).exists()


def batch_summary(day: dt.date) -> list[dict]:
    """The day's batch in figures (staff): count and amount by state and 未処理 reason."""
    rows = (Transfer.objects.filter(_scheduled_for(day))
            .values("status", "unprocessed_reason").annotate(count=Count("id"), amount=Sum("amount"))
            .order_by("status", "unprocessed_reason"))
    statuses, reasons = dict(Transfer.Status.choices), dict(Transfer.Reason.choices)
    return [{**row, "status_label": statuses.get(row["status"], row["status"]),
             "reason_label": reasons.get(row["unprocessed_reason"], "")} for row in rows]
