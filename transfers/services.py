"""Writes of the transfers app: name look-ups, transfers, payees and the daily limit.

Every write of a customer takes that customer's ``TransferLimit`` row FOR UPDATE before
any other row of this app (``_customer_lock``): the day's total against the limit, the
count of name look-ups and the count of payees are each checked and changed one request
at a time, so concurrent requests cannot both pass a limit (XFER-7/8/11). The ledger then
locks the accounts in id order inside ``journal_post`` (LEDGER-3). A confirmed operation
has taken the customer's row, the step-up and its factor before the limit row
(``security.locks``); the order customer → limit → accounts is the same everywhere, so
no deadlock.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import uuid
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.templatetags.accounts_format import account_label, japanese_date, month_day, payee_place
from accounts.errors import AccountClosed, LedgerError, LedgerIntegrityError
from accounts.models import Account, Branch, Customer, Journal, account_number_masked
from accounts.reference_data import BANK_CODE
from accounts.services import PostingLine, journal_post
from cosei_ib import bankcalendar
from cosei_ib.queries import unique_or_none
from notifications.services import notice_enqueue
from security.audit import audit_record, reference_text

from .directory import PayeeAccount, payee_account_resolve
from .errors import PayeeAccountError, TransferError, TransferRefused
from .forms import LIMIT_NEGATIVE
from .models import (
    Bank,
    BankBranch,
    FeeSchedule,
    NameLookup,
    OutgoingTransfer,
    Payee,
    Transfer,
    TransferLimit,
)
from .selectors import (
    DAY_TOTAL_STATUSES,
    bank_max_daily_limit,
    daily_limit_in_force,
    default_daily_limit,
    transfer_day_total,
    transfer_limits_with_maximum,
)
from .zengin import ALLOWED as ZENGIN_ALLOWED
from .zengin import zengin_kana

logger = logging.getLogger(__name__)

# re-exported: views and tests use them from here
__all__ = ["TransferRefused", "bank_max_daily_limit", "transfer_day_total"]

MAX_PAYEES = 99
MAX_AMOUNT = 999_999_999_999  # 12 digits: the largest amount the amount field accepts

# only what the customer can do: wait, or use a payee they registered (not throttled); a
# transfer would reset the count, but every transfer to a new payee needs a look-up (walk26 F1)
LOOKUP_THROTTLED = ("口座名義の確認が一定回数を超えたため、新しい振込先の口座名義の確認はしばらくご利用いただけません。"
                    "1時間ほど経ってから再度お試しください。")
LOOKUP_THROTTLED_PAYEES = "登録済みの振込先へのお振込は、引き続きご利用いただけます。"
FEE_NOT_BELOW_AMOUNT = "先方負担の場合、振込金額は手数料（{fee:,}円）より大きい金額を入力してください。"
OVER_LIMIT = "本日の振込の合計が1日の利用限度額（{limit:,}円）を超えます。本日あと{rest:,}円までお振込できます。"
OVER_LIMIT_ON = ("{day}の振込の合計（予約分を含む）が1日の利用限度額（{limit:,}円）を超えます。"
                 "この日はあと{rest:,}円までお振込できます。")
RAISE_NOT_YET = ("引き上げた利用限度額は明日0時から適用され、本日のご予約には現在の利用限度額が適用されます。")
OVER_BALANCE = "振込金額と手数料の合計（{total:,}円）がお支払可能額（{available:,}円）を超えています。"
SAME_ACCOUNT = "引落口座と同じ口座にはお振込できません。振込先の口座をご確認ください。"
NOT_TODAY = "日付が変わったため、このお取引は実行できません。最初から操作をやり直してください。"
# review33 F6: the 振込日 is shown with today's date; a page opened before 0:00 and confirmed
# after it has a day that is past. Nothing is done and the customer chooses the date again.
DATE_PASSED = "日付が変わったため、振込日（{day}）のお振込は実行していません。振込日を選び直してください。"
# sched35: a 予約 confirmed before 0:00 for the day that has now begun is neither executed
# (the confirm page said 予約) nor booked (that day's batch may have run): the same way back
SCHEDULE_DATE_PASSED = "日付が変わったため、振込日（{day}）のご予約は受け付けていません。振込日を選び直してください。"
OUTSIDE_HOURS = bankcalendar.MESSAGE_OUTSIDE_HOURS
ACCOUNT_NOT_USABLE = "引落口座はお取引できない状態です。"
PAYEE_ACCOUNT_CLOSED = "振込先の口座は解約済みのため、お振込できません。振込先をご確認ください。"
PAYEE_ACCOUNT_FROZEN = "振込先の口座はお取引が停止されているため、お振込できません。振込先をご確認ください。"
NO_FEE_SCHEDULE = "振込手数料が設定されていないため、お取引できません。当金庫までお問い合わせください。"
FEE_CHANGED = "振込手数料が変更されたため、最初から操作をやり直してください。"
PAYEES_FULL = "振込先は最大99件まで登録できます。不要な振込先を削除してから登録してください。"
PAYEE_EXISTS = "この振込先は既に登録されています。"
PAYEE_GONE = "この振込先は既に削除されています。"
LIMIT_OVER_MAX = "1日の利用限度額は{maximum:,}円以内で指定してください。"
LIMIT_SAME = "現在の利用限度額と同じです。"
LIMIT_CHANGED_MEANWHILE = ("お手続きの間に1日の利用限度額（当金庫の上限額）が変更されたため、お取扱いできませんでした。"
                           "お振込は行われていません。利用限度額をご確認のうえ、最初から操作をやり直してください。")
SETTLEMENT_UNAVAILABLE = ("当金庫の臨時休業日が続くため、他行宛のお振込の決済日を定められず、お取扱いできませんでした。"
                          "お振込は行われていません。当金庫までお問い合わせください。")
LIMIT_CHANGED = ("入力画面を表示した後に利用限度額（現在の限度額・引き上げ予定・当金庫の上限額）が変更されたため、"
                 "変更しませんでした。現在の内容をご確認のうえ、もう一度入力してください。")


# --- the customer's lock and limit --------------------------------------------------------


# The customer's limit row FOR UPDATE with the bank maximum (``transfer_limits_with_maximum``),
# as that queryset locks it. Written as SQL: the ORM spent ~0.4 ms of Python building the
# annotation's subquery and the lock on every transfer, a query of fixed shape (issue 14);
# tests/transfers/test_services.py holds it to the ORM's row.
_CUSTOMER_LOCK_SQL = """
    SELECT limit_row.id, limit_row.customer_id, limit_row.daily_limit, limit_row.pending_limit,
           limit_row.pending_from, limit_row.updated_at,
           COALESCE((SELECT setting.bank_max_daily_limit FROM transfers_transfersettings AS setting
                      WHERE setting.id = 1), %(default_maximum)s) AS bank_maximum
      FROM "transfers_transferlimit" AS limit_row
     WHERE limit_row.customer_id = %(customer_id)s
       FOR UPDATE OF limit_row"""


def _customer_lock(customer: Customer) -> TransferLimit:
    """The customer's limit row, locked FOR UPDATE (call inside a transaction); created
    first when missing (INSERT … ON CONFLICT DO NOTHING, so two first requests agree)."""
    locked = next(iter(TransferLimit.objects.raw(_CUSTOMER_LOCK_SQL, {
        "customer_id": customer.pk, "default_maximum": settings.TRANSFERS_BANK_MAX_DAILY_LIMIT})), None)
    if locked is not None:
        return locked
    TransferLimit.objects.bulk_create(
        [TransferLimit(customer=customer, daily_limit=default_daily_limit())], ignore_conflicts=True)
    return transfer_limits_with_maximum().select_for_update(of=("self",)).get(customer=customer)


def limit_problem(*, limit: TransferLimit | None, customer: Customer, day: dt.date, amount: int,
                  used: int | None = None) -> str:
    """Why ``amount`` does not fit the limit of ``day`` (empty: it fits). A booking for a
    later day (XFER-5) fits that day's limit and, while a raise is not yet in force, today's
    as well: a raise counts from 0:00 tomorrow for what is booked too, so a stolen session
    can neither raise and spend nor raise and book (XFER-8). ``used``: the day's total, when
    the caller read it (after the customer's lock); read here otherwise."""
    today = bankcalendar.local_now().date()
    # the bank maximum, lowered by staff, caps a limit chosen above it
    daily = daily_limit_in_force(limit, day)
    raise_pending = False
    if limit is not None and day > today and daily_limit_in_force(limit, today) < daily:
        daily, raise_pending = daily_limit_in_force(limit, today), True
    if used is None:
        used = transfer_day_total(customer=customer, day=day)
    if used + amount > daily:
        if day > today:  # a scheduled transfer (XFER-5)
            message = OVER_LIMIT_ON.format(day=month_day(day), limit=daily,
                                           rest=max(daily - used, 0))
            return message + RAISE_NOT_YET if raise_pending else message
        return OVER_LIMIT.format(limit=daily, rest=max(daily - used, 0))
    return ""


# --- fees (XFER-4) ------------------------------------------------------------------------


def transfer_route(*, debit_account: Account, bank_code: str, branch_code: str) -> str:
    if bank_code != BANK_CODE:
        return Transfer.Route.OTHER_BANK
    if branch_code == debit_account.branch.code:
        return Transfer.Route.SAME_BRANCH
    return Transfer.Route.OTHER_BRANCH


def fee_schedule_on(day: dt.date) -> FeeSchedule:
    schedule = FeeSchedule.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if schedule is None:
        raise TransferRefused(NO_FEE_SCHEDULE)
    return schedule


def fee_from(schedule: FeeSchedule, *, route: str, amount: int) -> int:
    band = "under" if amount < schedule.threshold else "over"
    return getattr(schedule, f"{route}_{band}")


# --- 口座名義確認 (XFER-3, XFER-11) -----------------------------------------------------------


def name_lookup(*, customer: Customer, bank_code: str, branch_code: str, account_type: str,
                account_number: str, ip: str | None = None) -> PayeeAccount:
    """Resolve the payee's holder name, counting the look-up. More than
    ``TRANSFERS_LOOKUPS_PER_HOUR`` look-ups in the last hour since the customer's last
    completed transfer or 予約 (any Transfer: each is a confirmed step-up) are refused
    (TransferRefused LOOKUP_THROTTLED, audited). An account the customer registered as a
    payee is neither counted nor throttled: it was looked up and transferred to before
    (``payee_register`` takes a transfer), so its look-up tells nothing new (walk26 F1,
    docs/transfers.md). An unknown, closed or frozen account raises PayeeAccountError; the
    look-up still counts."""
    window_start = timezone.now() - dt.timedelta(hours=1)
    error: Exception | None = None
    key = dict(bank_code=bank_code, branch_code=branch_code, account_type=account_type,
               account_number=account_number)
    with transaction.atomic():
        _customer_lock(customer)
        registered = Payee.objects.filter(customer=customer, **key).exists()
        codes = f"{bank_code}-{branch_code} {account_type}-{account_number}"  # staff's, in admin
        if not registered and _lookups_since_last_transfer(customer, window_start) >= settings.TRANSFERS_LOOKUPS_PER_HOUR:
            audit_record(action="transfer_lookup", outcome="refused", customer=customer, ip=ip,
                         summary=f"{_payee_place(**key)} 口座名義の確認回数の上限超過", staff_detail=codes)
            has_payees = Payee.objects.filter(customer=customer).exists()
            error = TransferRefused(LOOKUP_THROTTLED + (LOOKUP_THROTTLED_PAYEES if has_payees else ""))
        else:
            try:
                found = payee_account_resolve(**key)
            except PayeeAccountError as refused:
                error = refused
                found = None
            if not registered:
                NameLookup.objects.create(customer=customer, bank_code=bank_code, branch_code=branch_code,
                                          account_number=account_number, found=found is not None)
            if error is not None:
                audit_record(action="transfer_lookup", outcome="failure", customer=customer, ip=ip,
                             summary=f"{_payee_place(**key)} {error.message[:40]}", staff_detail=codes)
    if error is not None:
        raise error
    return found


def _payee_place(*, bank_code: str, branch_code: str, account_type: str | None = None,
                 account_number: str | None = None) -> str:
    """How a refusal's audit row names the payee for the customer's 取引履歴 (walk26 F15):
    「池田泉州銀行 貝塚支店 普通 0012345」 as the mails do (walk27 F11) — the bank and
    branch by name where the tables know them, by code otherwise. Only refusals ask."""
    branch = (BankBranch.objects.select_related("bank").filter(bank__code=bank_code, code=branch_code)
              .only("name", "bank__name", "bank__type").first())
    place = payee_place(branch.bank.display_name, branch.name) if branch else f"{bank_code}-{branch_code}"
    if account_number is None:
        return place
    return f"{place} {dict(Account.Type.choices).get(account_type, account_type)} {account_number}"


def _lookups_since_last_transfer(customer: Customer, window_start: dt.datetime) -> int:
    """Look-ups of new accounts in the hour, counted from the customer's last confirmed
    transfer or 予約 when that is later — whatever became of it since (executed, 未処理,
    取消済): a booking reset the count as a same-day transfer does (walk26 F1)."""
    last_transfer = Transfer.objects.filter(customer=customer).aggregate(at=Max("created_at"))["at"]
    since = max(window_start, last_transfer) if last_transfer else window_start
    return NameLookup.objects.filter(customer=customer, created_at__gt=since).count()


# --- the transfer (XFER-1, XFER-4, XFER-8, LEDGER-3) --------------------------------------


@dataclass(frozen=True)
class TransferQuote:
    route: str
    fee: int
    fee_schedule_id: int

    def debited(self, amount: int, fee_borne_by_payee: bool) -> int:
        return amount if fee_borne_by_payee else amount + self.fee


def transfer_quote(*, customer: Customer, debit_account: Account, bank_code: str, branch_code: str,
                   amount: int, fee_borne_by_payee: bool, day: dt.date, ip: str | None = None,
                   credit_account_id: int | None = None) -> TransferQuote:
    """The fee and the checks a customer sees before 確認 (XFER-9 messages): the payee is
    the debit account itself (``credit_account_id``: the payee's account at our bank), 先方負担
    with a fee ≥ amount, over the balance, over the day's limit. Raises TransferRefused, written
    to the audit log (取引履歴照会). Nothing is locked: ``transfer_execute`` checks it all
    again under the locks."""
    try:
        return _transfer_quote(customer=customer, debit_account=debit_account, bank_code=bank_code,
                               branch_code=branch_code, amount=amount, fee_borne_by_payee=fee_borne_by_payee,
                               day=day, credit_account_id=credit_account_id)
    except TransferRefused as refused:
        audit_record(action="transfer", outcome="refused", customer=customer, ip=ip,
                     summary=_refusal_summary(_payee_place(bank_code=bank_code, branch_code=branch_code), amount,
                                              refused.message),
                     staff_detail=f"{bank_code}-{branch_code}")
        raise


def _refusal_summary(place: str, amount: int, message: str) -> str:
    """How 取引履歴 names a refused transfer (拒否): to where, how much, and why — at the
    input page and at the confirm alike (walk33 F4)."""
    return f"{place} {amount:,}円 {message}"


def confirm_refusal_summarised(operation):
    """``operation`` (a confirmed transfer's execution: ``transfer_execute``,
    ``scheduled_transfer_create``) with its refusals named for 取引履歴: a rule of the
    transfer or the ledger's (残高不足 …) gets ``audit_summary`` — the payee and the amount,
    as the same refusal at the input page — which the step-up flow writes as 拒否 when the
    operation's transaction has rolled back (walk33 F4: it was 「失敗」 and the bare
    message). A refusal that names itself (a 予約's 受付番号) keeps its own; a fault
    (LedgerIntegrityError: a deadlock, a timeout, a bug) gets none and stays 失敗 (review33 F4)."""
    @functools.wraps(operation)
    def summarised(*, content: dict, **kwargs):
        try:
            return operation(content=content, **kwargs)
        except (TransferError, LedgerError) as refused:
            if not isinstance(refused, LedgerIntegrityError) and not getattr(refused, "audit_summary", ""):
                refused.audit_summary = _refusal_summary(payee_place(content["bank_name"], content["branch_name"]),
                                                         int(content["amount"]), refused.message)
            raise
    return summarised


def _transfer_quote(*, customer: Customer, debit_account: Account, bank_code: str, branch_code: str,
                    amount: int, fee_borne_by_payee: bool, day: dt.date,
                    credit_account_id: int | None = None) -> TransferQuote:
    if credit_account_id is not None and credit_account_id == debit_account.pk:
        raise TransferRefused(SAME_ACCOUNT)
    route = transfer_route(debit_account=debit_account, bank_code=bank_code, branch_code=branch_code)
    schedule = fee_schedule_on(day)
    fee = fee_from(schedule, route=route, amount=amount)
    quote = TransferQuote(route=route, fee=fee, fee_schedule_id=schedule.pk)
    if fee_borne_by_payee and fee >= amount:
        raise TransferRefused(FEE_NOT_BELOW_AMOUNT.format(fee=fee))
    total = quote.debited(amount, fee_borne_by_payee)
    # a scheduled transfer needs its funds the day before its date, not now (XFER-5)
    if day <= bankcalendar.local_now().date() and total > debit_account.available_amount:
        raise TransferRefused(OVER_BALANCE.format(total=total, available=debit_account.available_amount))
    limit = transfer_limits_with_maximum().filter(customer=customer).first()
    problem = limit_problem(limit=limit, customer=customer, day=day, amount=amount)
    if problem:
        raise TransferRefused(problem)
    return quote


def transfer_content(*, debit_account: Account, payee: dict, amount: int, fee_borne_by_payee: bool,
                     sender_name: str, day: dt.date, quote: TransferQuote, today: dt.date | None = None) -> dict:
    """What the customer confirms and what executes (SEC-14): every field, as JSON. Whether
    it is a 予約 (``scheduled``: ``day`` after ``today``, the bank's day now by default) is
    decided here, once: the confirm page says it and the confirmation executes it, whatever
    the clock says by then (XFER-5, ``transfer_is_scheduled``)."""
    today = today or bankcalendar.local_now().date()
    return {
        "operation": "transfer", "debit_account_id": debit_account.pk, "route": quote.route,
        "bank_code": payee["bank_code"], "bank_name": payee["bank_name"],
        "branch_code": payee["branch_code"], "branch_name": payee["branch_name"],
        "account_type": payee["account_type"], "account_number": payee["account_number"],
        "holder_kana": payee["holder_kana"], "credit_account_id": payee.get("credit_account_id"),
        "payee_id": payee.get("payee_id"), "amount": amount, "fee": quote.fee,
        "fee_schedule_id": quote.fee_schedule_id, "fee_borne_by_payee": fee_borne_by_payee,
        "sender_name": sender_name, "transfer_date": day.isoformat(), "scheduled": day > today,
    }


def transfer_is_scheduled(content: dict) -> bool:
    """Whether the confirmed ``content`` is a 予約 (XFER-5): as decided when it was made
    (``transfer_content``), part of what the step-up binds. A content held before the flag
    existed (a confirm page open across the release) is judged by its date, as it was then."""
    if "scheduled" in content:
        return bool(content["scheduled"])
    return content["transfer_date"] > bankcalendar.local_now().date().isoformat()


@confirm_refusal_summarised
def transfer_execute(*, customer: Customer, stepup_id: uuid.UUID | str, content: dict,
                     ip: str | None = None) -> Transfer:
    """Execute a confirmed same-day transfer, exactly what ``content`` says, once.

    Runs in the caller's transaction (the one that consumes the step-up). Takes the
    customer's lock, checks the hours, the date, the fee and the day's limit under it, then
    posts one journal — debit the customer (amount, and the fee as its own line unless
    先方負担), credit the payee's account at our bank or the 為替決済 account for another
    bank, and the fee to fee income — with ``transfer:<stepup id>`` as its idempotency key.
    Writes the Transfer (unique per step-up), the Zengin record for another bank, the audit
    row and the mail. Raises TransferRefused or a LedgerError (InsufficientFunds …), named
    for 取引履歴 (``confirm_refusal_summarised``)."""
    passed = transfer_date_passed(content)
    if passed:  # never to be: back to the input page, to choose the date again (review33 F6)
        raise TransferRefused(passed, final=True)
    if not bankcalendar.is_service_open("default"):
        raise TransferRefused(OUTSIDE_HOURS.format(hours=bankcalendar.hours_text()))
    today = bankcalendar.local_now().date()
    day = dt.date.fromisoformat(content["transfer_date"])
    if day != today:
        raise TransferRefused(NOT_TODAY)
    with transaction.atomic():
        rows = _confirmed_content_check(customer=customer, content=content, day=day, with_kana=True)
        debit = rows.debit
        transfer = transfer_from_content(customer=customer, content=content, debit=debit, schedule=rows.schedule,
                                         status=Transfer.Status.EXECUTED, stepup_id=stepup_id)
        lines = transfer_lines(transfer, internal=rows.internal)
        outgoing = (_outgoing_record(transfer, today, kana=rows.kana)
                    if content["route"] == Transfer.Route.OTHER_BANK else None)
        # Audit row and mail first: everything below the posting runs while the shared
        # internal accounts (fee income, 為替決済) are locked, so keep that part short. The
        # id is taken from its sequence now so that the row names the 受付番号 (ACCT-4).
        transfer.pk = _transfer_id_reserve()
        audit_record(action="transfer", outcome="success", customer=customer, ip=ip, summary=transfer_summary(transfer))
        notice_enqueue(customer=customer, event="transfer_accepted", lines=_transfer_notice(transfer, debit))
        try:
            # this atomic block is the posting's savepoint: a refusal rolls it all back
            journal = journal_post(lines=lines, kind=Journal.Kind.TRANSFER, description=f"振込 {transfer.holder_kana}"[:64],
                                   idempotency_key=f"transfer:{stepup_id}", savepoint=False)
        except AccountClosed as closed:
            # the payee's account at our bank was closed after 口座名義確認: say whose it is
            # (the ledger's own message reads as if it were the customer's)
            if closed.account_id is not None and closed.account_id == transfer.credit_account_id:
                raise TransferRefused(PAYEE_ACCOUNT_CLOSED) from closed
            raise
        transfer.journal_id, transfer.executed_at = journal.pk, timezone.now()
        transfer_row_insert(transfer)
        if outgoing is not None:
            outgoing.transfer = transfer
            transfer_row_insert(outgoing)  # CI221 refused: rolled back whole with this atomic block
    logger.info("transfer %s executed customer=%s journal=%s", transfer.pk, customer.contract_id, journal.pk)
    return transfer


def transfer_date_passed(content: dict) -> str:
    """Why the transfer ``content`` describes can no longer be done as confirmed, because
    the day changed since ('' when it can): DATE_PASSED when a same-day transfer's 振込日
    is before today — the input page was shown (with today's date in it) before 0:00 and
    the transfer is confirmed after it (review33 F6); SCHEDULE_DATE_PASSED when a 予約's is
    today or before — it is not executed now (the confirm page said 予約) nor booked for a
    day already begun (sched35). Either way the customer chooses the date again."""
    day = dt.date.fromisoformat(content["transfer_date"])
    today = bankcalendar.local_now().date()
    if transfer_is_scheduled(content):
        return SCHEDULE_DATE_PASSED.format(day=japanese_date(day)) if day <= today else ""
    return DATE_PASSED.format(day=japanese_date(day)) if day < today else ""


def _transfer_id_reserve() -> int:
    """The next Transfer id from the table's own sequence (the row is inserted with it)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Transfer._meta.db_table])
        return cursor.fetchone()[0]


def transfer_summary(transfer: Transfer) -> str:
    """How an audit row names a transfer: 「受付番号 3」 as on the done page, then what was
    sent where (取引履歴照会, ACCT-4)."""
    return (f"{reference_text(transfer.pk)} {payee_place(transfer.bank_name, transfer.branch_name)} "
            f"{transfer.get_account_type_display()} {transfer.account_number} {transfer.holder_kana} "
            f"{transfer.amount:,}円 手数料{transfer.fee:,}円" + ("（先方負担）" if transfer.fee_borne_by_payee else ""))


def confirmed_content_check(*, customer: Customer, content: dict, day: dt.date) -> tuple[Account, FeeSchedule]:
    """Under the customer's lock (taken here; call inside a transaction): the debit account
    is the customer's, the fee row and fee are what was confirmed, 先方負担 leaves
    something, and the amount fits the limit of ``day``. Returns the debit account and the
    fee row; raises TransferRefused."""
    rows = _confirmed_content_check(customer=customer, content=content, day=day)
    return rows.debit, rows.schedule


def _confirmed_content_check(*, customer: Customer, content: dict, day: dt.date,
                             with_kana: bool = False) -> TransferRows:
    """``confirmed_content_check``, returning all that ``_transfer_accounts`` read with the
    debit account: the internal accounts of ``transfer_lines``, the fee row, and with
    ``with_kana`` the payee's bank and branch kana for the Zengin record (another bank's)."""
    amount, fee = int(content["amount"]), int(content["fee"])
    limit = _customer_lock(customer)
    other_bank = content["route"] == Transfer.Route.OTHER_BANK
    credit_account_id = content.get("credit_account_id") if not other_bank else None
    # the day's total with the accounts: a statement after the lock's, so its snapshot has
    # every transfer committed by whoever held the lock before (issue 14: one read fewer)
    rows = _transfer_accounts(
        customer=customer, debit_account_id=content["debit_account_id"],
        credit_account_id=credit_account_id, day=day,
        payee_bank=(content["bank_code"], content["branch_code"]) if other_bank and with_kana else None)
    debit, credit, used, schedule = rows.debit, rows.credit, rows.used, rows.schedule
    if debit is None:
        raise TransferRefused(ACCOUNT_NOT_USABLE)
    # the row in force on the date, as the quote took it (``fee_schedule_on``, read with the
    # accounts): one added for that date since the confirm page was shown (a 予約's date)
    # is a changed fee too — the database holds the same (transfers 0025, CI224)
    if schedule is None:
        raise TransferRefused(NO_FEE_SCHEDULE)
    if (str(schedule.pk) != str(content["fee_schedule_id"])
            or fee_from(schedule, route=content["route"], amount=amount) != fee):
        raise TransferRefused(FEE_CHANGED, final=True)  # the confirmed fee can never hold again (walk30 F3)
    if content["fee_borne_by_payee"] and fee >= amount:
        raise TransferRefused(FEE_NOT_BELOW_AMOUNT.format(fee=fee))
    problem = limit_problem(limit=limit, customer=customer, day=day, amount=amount, used=used)
    if problem:
        raise TransferRefused(problem)
    if credit is not None and credit.status == Account.Status.FROZEN:
        # frozen since 口座名義確認 (which refuses one): the ledger refuses only its debits
        raise TransferRefused(PAYEE_ACCOUNT_FROZEN)
    if credit is not None and credit.status == Account.Status.CLOSED:
        # closed since 口座名義確認: a same-day transfer met the ledger's refusal, but a
        # 予約振込 posts nothing now and was booked, to become 未処理 on its date (XFER-5)
        raise TransferRefused(PAYEE_ACCOUNT_CLOSED)
    return rows


# The internal accounts a transfer credits (LEDGER-4): 為替決済 for another bank, fee income.
TRANSFER_INTERNAL_PURPOSES = (Account.Purpose.ZENGIN_SETTLEMENT, Account.Purpose.FEE_INCOME)


# What a transfer uses of its accounts: the ids, the debit account's status (a scheduled
# transfer refuses a frozen one) and its label in the notice (branch, type, number). The
# ledger re-reads the rest under its own locks. Written as SQL: the ORM spent ~1 ms of
# Python building this OR of two conditions, with the branch joined and the columns
# chosen, on every transfer (issue 14); tests/transfers/test_services.py holds it to the
# ORM's rows. Ordered as the model's ordering.
_TRANSFER_ACCOUNTS_SQL = """
    SELECT account.id, account.purpose, account.customer_id, account.status, account.type, account.number,
           account.branch_id, branch.code AS branch_code, branch.name AS branch_name,
           (SELECT COALESCE(SUM(transfer.amount), 0) FROM transfers_transfer AS transfer
             WHERE transfer.customer_id = %(customer_id)s AND transfer.transfer_date = %(day)s
               AND transfer.status = ANY(%(counted)s)) AS day_total
      FROM accounts_account AS account
      JOIN accounts_branch AS branch ON branch.id = account.branch_id
     WHERE (account.id = %(debit_account_id)s AND account.customer_id = %(customer_id)s
            AND account.purpose = %(customer_purpose)s)
        OR account.purpose IN (%(settlement_purpose)s, %(fee_income_purpose)s)
        OR account.id = %(credit_account_id)s
     ORDER BY branch.code, account.type, account.number"""

# The same statement with the fee row in force on the day (``fee_schedule_on``) and the
# payee's bank and branch kana for the Zengin record (``_outgoing_record``'s look-up) on
# every row: two statements fewer per transfer (issue 14). Neither is a row the customer's
# lock serialises (staff's fee table, the Zengin directory), so reading them in this
# statement rather than after it changes nothing; the database checks the fee again on
# the transfer's row (transfers 0025, CI224). tests/transfers/test_services.py holds both
# to the ORM's reads.
_FEE_COLUMNS = ("id", "effective_from", "threshold", "same_branch_under", "same_branch_over",
                "other_branch_under", "other_branch_over", "other_bank_under", "other_bank_over")
_TRANSFER_ROWS_SQL = _TRANSFER_ACCOUNTS_SQL.replace("""
      FROM accounts_account AS account""", """,
           {fee_columns},
           (SELECT bank.kana FROM transfers_bank AS bank WHERE bank.code = %(bank_code)s) AS payee_bank_kana,
           (SELECT bank_branch.kana FROM transfers_bankbranch AS bank_branch
              JOIN transfers_bank AS bank ON bank.id = bank_branch.bank_id
             WHERE bank.code = %(bank_code)s AND bank_branch.code = %(branch_code)s) AS payee_branch_kana
      FROM accounts_account AS account
      LEFT JOIN (SELECT {fee_select} FROM transfers_feeschedule AS fee
                  WHERE fee.effective_from <= %(day)s
                  ORDER BY fee.effective_from DESC LIMIT 1) AS fee ON TRUE""".format(
    fee_columns=", ".join(f"fee.{name} AS fee_{name}" for name in _FEE_COLUMNS),
    fee_select=", ".join(f"fee.{name}" for name in _FEE_COLUMNS)))
assert "payee_bank_kana" in _TRANSFER_ROWS_SQL


class TransferRows(NamedTuple):
    """What ``_transfer_accounts`` reads in one statement."""

    debit: Account | None
    internal: dict[str, Account]
    credit: Account | None
    used: int | None
    schedule: FeeSchedule | None = None
    kana: tuple[str | None, str | None] | None = None


def _transfer_accounts(*, customer: Customer, debit_account_id, credit_account_id=None,
                       day: dt.date | None = None, payee_bank: tuple[str, str] | None = None) -> TransferRows:
    """In one query: the customer's own account ``debit_account_id`` (None when it is not
    theirs), with its branch, the internal accounts of a transfer by purpose, and the
    payee's account at our bank ``credit_account_id`` (None when not given), and the
    customer's transfers counted against the limit of ``day`` (``transfer_day_total``;
    None without a day or without a row). With ``day``, also the fee row in force on it
    (``fee_schedule_on``; None: none); with ``payee_bank`` (bank code, branch code), the
    kana of that bank and branch (``_payee_kana``)."""
    debit, internal, credit, used, schedule, kana = None, {}, None, None, None, None
    sql = _TRANSFER_ROWS_SQL if day is not None else _TRANSFER_ACCOUNTS_SQL
    bank_code, branch_code = payee_bank or (None, None)
    for account in Account.objects.raw(sql, {
            "debit_account_id": debit_account_id, "customer_id": customer.pk,
            "customer_purpose": Account.Purpose.CUSTOMER.value,
            "settlement_purpose": Account.Purpose.ZENGIN_SETTLEMENT.value,
            "fee_income_purpose": Account.Purpose.FEE_INCOME.value, "credit_account_id": credit_account_id,
            "day": day, "counted": list(DAY_TOTAL_STATUSES),  # as transfer_day_total counts
            "bank_code": bank_code, "branch_code": branch_code}):
        if day is not None:
            used = int(account.day_total)
            if schedule is None and account.fee_id is not None:
                schedule = FeeSchedule.from_db(account._state.db, _FEE_COLUMNS,
                                               [getattr(account, f"fee_{name}") for name in _FEE_COLUMNS])
            if payee_bank is not None:
                kana = (account.payee_bank_kana, account.payee_branch_kana or "")
        # the branch from the same row, as select_related("branch")
        account.branch = Branch.from_db(account._state.db, ["id", "code", "name"],
                                        (account.branch_id, account.branch_code, account.branch_name))
        if account.pk == credit_account_id:
            credit = account
        if account.purpose != Account.Purpose.CUSTOMER:
            internal[account.purpose] = account
        elif account.customer_id == customer.pk and str(account.pk) == str(debit_account_id):
            debit = account
    return TransferRows(debit, internal, credit, used, schedule, kana)


# The database's own checks of a transfer row (transfers 0025 CI224: the fee is its
# schedule's; 0026 CI225: the day's total within the limit) repeat the checks made above
# under the customer's lock. They differ only when staff changed the fee table or lowered
# the bank maximum in between: the customer is told, as by the checks, not shown a 500.
# The 仕向 record's (transfers 0026 CI221: its 決済日 within 14 days and one per closing
# day) differs when the bank's closing days run on for weeks (dbprobe30 F6).
_ROW_REFUSALS = {"CI224": FEE_CHANGED, "CI225": LIMIT_CHANGED_MEANWHILE, "CI221": SETTLEMENT_UNAVAILABLE}
# those the confirmed content can never pass again: back to the start with the message, not a
# confirm page whose button can only fail the same way (walk30 F3); a limit or a closing day
# may change back, so those keep the button
_FINAL_ROW_REFUSALS = {"CI224"}


def row_refusal(error: DatabaseError) -> str | None:
    """The customer's message for a refusal of the database's own checks of a transfer's
    rows (``_ROW_REFUSALS``); None for any other error."""
    return _ROW_REFUSALS.get(getattr(error.__cause__, "sqlstate", None))


def transfer_row_insert(row: Transfer | OutgoingTransfer) -> None:
    """INSERT ``row``, a transfer or its 仕向 record (inside the caller's atomic block,
    which a refusal rolls back); a refusal of ``_ROW_REFUSALS`` becomes TransferRefused."""
    try:
        row.save(force_insert=True)
    except DatabaseError as refused:
        message = row_refusal(refused)
        if message is None:
            raise
        final = getattr(refused.__cause__, "sqlstate", None) in _FINAL_ROW_REFUSALS
        raise TransferRefused(message, final=final) from refused


def transfer_from_content(*, customer: Customer, content: dict, debit: Account, schedule: FeeSchedule,
                          status: str, stepup_id) -> Transfer:
    """The (unsaved) Transfer exactly as confirmed (SEC-14)."""
    return Transfer(
        customer=customer, debit_account=debit,
        credit_account_id=None if content["route"] == Transfer.Route.OTHER_BANK else content["credit_account_id"],
        payee_id=_own_payee_id(customer, content.get("payee_id")), route=content["route"],
        bank_code=content["bank_code"], bank_name=content["bank_name"],
        branch_code=content["branch_code"], branch_name=content["branch_name"],
        account_type=content["account_type"], account_number=content["account_number"],
        holder_kana=content["holder_kana"], amount=int(content["amount"]), fee=int(content["fee"]),
        fee_borne_by_payee=bool(content["fee_borne_by_payee"]), fee_schedule=schedule,
        sender_name=content["sender_name"], transfer_date=dt.date.fromisoformat(content["transfer_date"]),
        status=status, stepup_id=stepup_id,
    )


def transfer_lines(transfer: Transfer, *, internal: dict[str, Account] | None = None) -> list[PostingLine]:
    """The journal of a transfer: debit the customer (amount, and the fee as its own line
    unless 先方負担), credit the payee's account at our bank or 為替決済 for another bank,
    and the fee to fee income. Used for today's transfer and by the scheduled batch.
    ``internal``: the internal accounts by purpose when the caller has read them already."""
    debit, amount, fee = transfer.debit_account, transfer.amount, transfer.fee
    if internal is None and (fee or transfer.route == Transfer.Route.OTHER_BANK):
        # read only when a line needs one: a same-bank transfer without a fee does not
        internal = {account.purpose: account
                    for account in Account.objects.filter(purpose__in=TRANSFER_INTERNAL_PURPOSES)}
    # an id is all the posting needs: the payee's account at our bank is not read here
    credit_target = (transfer.credit_account_id if transfer.route != Transfer.Route.OTHER_BANK
                     else internal[Account.Purpose.ZENGIN_SETTLEMENT])
    lines = [PostingLine(debit, -amount, f"振込 {transfer.holder_kana}"[:64])]
    if fee and not transfer.fee_borne_by_payee:
        lines.append(PostingLine(debit, -fee, "振込手数料"))
    lines.append(PostingLine(credit_target, transfer.credited_amount, f"振込 {transfer.sender_name}"[:64]))
    if fee:
        lines.append(PostingLine(internal[Account.Purpose.FEE_INCOME], fee,
                                 f"振込手数料 {transfer.customer.contract_id}"))
    return lines


def _own_payee_id(customer: Customer, payee_id) -> int | None:
    if not payee_id:
        return None
    return Payee.objects.filter(pk=payee_id, customer=customer).values_list("pk", flat=True).first()


def _payee_kana(bank_code: str, branch_code: str) -> tuple[str | None, str]:
    """The bank's and the branch's kana in the Zengin directory (the bank's alone, None when
    unknown; the branch's blank when unknown)."""
    return (unique_or_none(BankBranch.objects.filter(bank__code=bank_code, code=branch_code)
                           .values_list("bank__kana", "kana"))
            or (Bank.objects.filter(code=bank_code).values_list("kana", flat=True).first(), ""))


def _outgoing_record(transfer: Transfer, today: dt.date,
                     kana: tuple[str | None, str] | None = None) -> OutgoingTransfer:
    """The Zengin 総合振込 data record (unsaved); a transfer made on a bank holiday settles on
    the next business day (the payee's bank credits it then). ``kana``: the payee's bank
    and branch kana when the caller read them (``_transfer_accounts``), else read here."""
    settlement = bankcalendar.settlement_day(today)
    bank_kana, branch_kana = kana if kana is not None else _payee_kana(transfer.bank_code, transfer.branch_code)
    return OutgoingTransfer(
        bank_code=transfer.bank_code, bank_kana=_directory_kana(bank_kana),
        branch_code=transfer.branch_code, branch_kana=_directory_kana(branch_kana),
        account_type=transfer.account_type, account_number=transfer.account_number,
        payee_kana=transfer.holder_kana[:30], amount=transfer.credited_amount,
        sender_name=transfer.sender_name[:40], edi="", settlement_date=settlement,
    )


def _directory_kana(kana: str | None) -> str:
    """A bank or branch name of the directory as the 全銀 record carries it (15 characters),
    or blank (the field is optional) when it has a character outside the Zengin set: the
    database refuses such a record (transfers 0021), and the transfer must still go."""
    value = zengin_kana(kana or "")[:15]
    return value if all(ZENGIN_ALLOWED.fullmatch(char) for char in value) else ""


def _transfer_details(transfer: Transfer, debit: Account) -> list[str]:
    """What the transfer is — from, to, when, how much — without what it takes from the account."""
    return [
        f"引落口座：{account_label(debit)}",
        f"振込先：{payee_place(transfer.bank_name, transfer.branch_name)} {transfer.get_account_type_display()} "
        f"{account_number_masked(transfer.account_number)}",
        f"受取人名：{transfer.holder_kana}",
        f"振込日：{japanese_date(transfer.transfer_date)}",
        f"振込金額：{transfer.amount:,}円",
    ]


def _transfer_notice(transfer: Transfer, debit: Account) -> list[str]:
    return [
        "お振込を受け付けました。",
        "",
        *_transfer_details(transfer, debit),
        f"振込手数料：{transfer.fee:,}円" + ("（先方負担）" if transfer.fee_borne_by_payee else ""),
        f"引落金額：{transfer.debited_amount:,}円",
    ]


# --- payees (XFER-7) ----------------------------------------------------------------------


def payee_register(*, customer: Customer, transfer: Transfer, ip: str | None = None) -> Payee:
    """「今回の振込先を登録」: the transfer's payee, at most 99 per customer (counted under
    the customer's lock). Raises TransferRefused PAYEES_FULL (audited) / PAYEE_EXISTS."""
    key = dict(bank_code=transfer.bank_code, branch_code=transfer.branch_code,
               account_type=transfer.account_type, account_number=transfer.account_number)
    with transaction.atomic():
        _customer_lock(customer)
        if Payee.objects.filter(customer=customer, **key).exists():
            raise TransferRefused(PAYEE_EXISTS)
        if Payee.objects.filter(customer=customer).count() >= MAX_PAYEES:
            # the refusal is recorded (committed with this transaction), then raised
            audit_record(action="payee_register", outcome="refused", customer=customer, ip=ip,
                         summary="登録件数の上限（99件）")
            payee = None
        else:
            payee = Payee.objects.create(customer=customer, bank_name=transfer.bank_name,
                                         branch_name=transfer.branch_name, holder_kana=transfer.holder_kana,
                                         **key)
            if transfer.pk:
                Transfer.objects.filter(pk=transfer.pk).update(payee=payee)
            audit_record(action="payee_register", outcome="success", customer=customer, ip=ip,
                         summary=_payee_summary(payee))
    if payee is None:
        raise TransferRefused(PAYEES_FULL)
    return payee


def payee_rename(*, customer: Customer, payee: Payee, nickname: str, ip: str | None = None) -> Payee:
    with transaction.atomic():
        if not Payee.objects.filter(pk=payee.pk, customer=customer).update(nickname=nickname):
            raise TransferRefused(PAYEE_GONE)  # deleted in another tab since the page was read
        payee.nickname = nickname
        # an empty name clears it: the list shows the holder's name again
        renamed = f"登録名「{nickname}」" if nickname else "登録名を削除"
        audit_record(action="payee_rename", outcome="success", customer=customer, ip=ip,
                     summary=f"{_payee_summary(payee)} {renamed}")
    return payee


def payee_delete(*, customer: Customer, payee: Payee, ip: str | None = None) -> None:
    with transaction.atomic():
        deleted, _ = Payee.objects.filter(pk=payee.pk, customer=customer).delete()
        if not deleted:  # a second click or another tab got there first: already done
            return
        audit_record(action="payee_delete", outcome="success", customer=customer, ip=ip,
                     summary=_payee_summary(payee))


def _payee_summary(payee: Payee) -> str:
    return (f"{payee_place(payee.bank_name, payee.branch_name)} {payee.get_account_type_display()} "
            f"{payee.account_number} {payee.holder_kana}")


# --- 利用限度額変更 (XFER-8) ------------------------------------------------------------------


@dataclass(frozen=True)
class LimitShown:
    """The figures the 利用限度額変更 input page showed (XFER-8): in force today, a raise
    waiting for tomorrow (None: none), the bank maximum."""

    current: int
    pending: int | None
    maximum: int


def limit_before_text(*, current: int, chosen: int) -> str:
    """「800,000円」, or 「1,000,000円（当金庫の上限により800,000円）」 while the bank maximum
    caps the customer's choice (walk26 F6)."""
    return f"{current:,}円" if chosen <= current else f"{chosen:,}円（当金庫の上限により{current:,}円）"


def transfer_limit_change(*, customer: Customer, new_limit: int, shown: LimitShown | None = None,
                          ip: str | None = None) -> TransferLimit:
    """Change the customer's daily limit within the bank maximum, under the customer's
    lock. A cut applies at once (and drops a waiting raise); a raise applies from 0:00 of
    the next day. Audited and mailed in the same transaction. Raises TransferRefused.

    ``shown``: the figures the customer chose ``new_limit`` against; when any differs under
    the lock (another session changed the limit, staff changed the maximum, a raise came
    into force at 0:00), nothing changes (LIMIT_CHANGED) — a cut the customer saw could
    otherwise apply as a raise, or drop a raise the confirm page did not mention (SEC-14)."""
    maximum = bank_max_daily_limit()
    if new_limit < 0:
        raise TransferRefused(LIMIT_NEGATIVE)
    if new_limit > maximum:
        raise TransferRefused(LIMIT_OVER_MAX.format(maximum=maximum))
    today = bankcalendar.local_now().date()
    with transaction.atomic():
        limit = _customer_lock(customer)
        current = daily_limit_in_force(limit, today, maximum=maximum)
        waiting_now = limit.pending_limit if limit.pending_limit is not None and limit.pending_from > today else None
        if shown is not None and shown != LimitShown(current=current, pending=waiting_now, maximum=maximum):
            raise TransferRefused(LIMIT_CHANGED)
        if limit.pending_limit is not None and limit.pending_from <= today:
            limit.daily_limit, limit.pending_limit, limit.pending_from = limit.pending_limit, None, None
        # the customer's own choice, above ``current`` while the bank maximum caps it: the
        # capped figure typed again lowers the choice to it (walk26 F6), it is no 「同じ」
        chosen = limit.daily_limit
        if new_limit == current and limit.pending_limit is None and chosen <= current:
            raise TransferRefused(LIMIT_SAME)
        waiting = limit.pending_limit  # a raise not yet in force: dropped or replaced below
        if new_limit <= current:
            limit.daily_limit, limit.pending_limit, limit.pending_from = new_limit, None, None
            when = "本日より"
        else:
            tomorrow = today + dt.timedelta(days=1)
            limit.pending_limit, limit.pending_from = new_limit, tomorrow
            when = f"{japanese_date(tomorrow)} 0:00より"
        limit.save()
        before = limit_before_text(current=current, chosen=chosen)
        audit_record(action="limit_change", outcome="success", customer=customer, ip=ip,
                     summary=f"{before} → {new_limit:,}円（{when}）")
        notice_enqueue(customer=customer, event="limit_change", lines=[
            f"1日の振込利用限度額を{before}から{new_limit:,}円に変更しました（{when}適用）。",
            *([f"予定していた{waiting:,}円への引き上げは取り消しました。"]
              if waiting is not None and waiting != new_limit else []),
        ])
    return limit
