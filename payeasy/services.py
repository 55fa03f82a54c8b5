"""Pay-easy writes (PAY-1, PAY-3, PAY-4): looking a bill up under the daily wrong-entry
limit, paying it exactly once, and accepting a signed 情報リンク once.

Every refusal is a ``PayeasyRefused`` whose ``message`` is Japanese (for the customer) and
is written to the audit log; every payment writes its audit row and its mail in the
posting's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import InsufficientFunds, LedgerError, LedgerIntegrityError
from accounts.models import Account, Customer, Journal
from accounts.services import PostingLine, journal_post
from cosei_ib.bankcalendar import local_now, start_of_day
from accounts.templatetags.accounts_format import account_label
from notifications.services import notice_enqueue
from security.audit import audit_record, reference_text
from security.models import AuditEvent

from .gateway import BillInfo, GatewayUnavailable, gateway
from .models import Biller, EntryFailureCounter, LinkNonce, Payment
from .selectors import biller_label

logger = logging.getLogger(__name__)

BILLER_UNKNOWN = "入力された収納機関番号の収納機関はお取り扱いしていません。収納機関番号をご確認ください。"
BILL_NOT_FOUND = ("入力された{label}または確認番号に誤りがあります。内容をご確認のうえ、もう一度入力してください"
                  "（誤入力が1日{limit}回に達すると、当日中はペイジーをご利用いただけません）。")
BILL_NOT_FOUND_PRIVATE = ("入力されたお客様番号に誤りがあります。内容をご確認のうえ、もう一度入力してください"
                          "（誤入力が1日{limit}回に達すると、当日中はペイジーをご利用いただけません）。")
BLOCKED = ("番号の誤入力が1日の上限（{limit}回）に達したため、ペイジーのご利用を停止しています。"
           "{until}以降にあらためてご利用ください。")
BILL_PAID = "この請求は既に払込み済みです。同じ請求を二度払い込むことはできません。"
BILL_EXPIRED = "この請求は払込期限（{due}）を過ぎているため、払い込めません。収納機関にお問い合わせください。"
GATEWAY_DOWN = ("収納機関と通信できなかったため、お取引を受け付けできませんでした（お口座からの引落しはありません）。"
                "しばらくしてから、あらためてお試しください。")
AMOUNT_OUT_OF_RANGE = "払込金額は{min:,}円以上{max:,}円以下で入力してください。"
AMOUNT_MISMATCH = "払込金額が請求金額と一致しません。"
INSUFFICIENT = "お支払可能額が不足しているため、払込みできません（お支払可能額：{available:,}円）。"
DUPLICATE_NOT_ACKNOWLEDGED = ("同じ収納機関・番号への払込みが{date}に{amount:,}円ありました。"
                              "二重払いでないことをご確認のうえ、確認欄にチェックしてください。")
ACCOUNT_UNAVAILABLE = "お支払口座を選択し直してください。"
# the bill or the biller changed after the confirm page was shown (probe34 F1): the pending
# payment is dropped (``BillChanged``), the customer sent back to the bill as it is now
NOTHING_DEBITED = "お支払いを中止しました（お口座からの引落しはありません）。"
BILL_CONTENT_CHANGED = ("確認画面を表示した後に請求内容が変更されたため、" + NOTHING_DEBITED
                        + "最新の請求内容をご確認のうえ、もう一度お手続きください。")
BILL_GONE = ("確認画面を表示した後に請求内容が変更され、請求を確認できなくなったため、" + NOTHING_DEBITED
             + "番号をご確認のうえ、もう一度お手続きください。")
BILL_PAID_MEANWHILE = ("この請求は既に払込み済みとなっているため、" + NOTHING_DEBITED
                       + "同じ請求を二度払い込むことはできません。")
BILL_EXPIRED_MEANWHILE = ("確認画面を表示した後に、この請求の払込期限（{due}）を過ぎたため、" + NOTHING_DEBITED
                          + "収納機関にお問い合わせください。")
BILLER_STOPPED = ("確認画面を表示した後に、この収納機関のお取扱いが停止されたため、" + NOTHING_DEBITED
                  + "詳しくは収納機関にお問い合わせください。")
LINK_BILL_CHANGED = ("収納機関の請求内容が変更されたため、このお支払情報ではお支払いできません"
                     "（お口座からの引落しはありません）。収納機関のページから、もう一度お手続きください。")
LINK_INVALID = "収納機関からのお支払情報を確認できませんでした（改ざんされているか、内容が不足しています）。収納機関のページからやり直してください。"
LINK_EXPIRED = "収納機関からのお支払情報の有効期限が切れています。収納機関のページからやり直してください。"
LINK_REPLAYED = "このお支払情報は既に使用されています。収納機関のページからやり直してください。"


class PayeasyRefused(Exception):
    """A refusal with a Japanese ``message`` (stepup_flow shows and audits it).
    ``audit_summary``: its 取引履歴 row at the confirm (``_refusal_summarised``)."""

    audit_summary = ""

    def __init__(self, message: str, *, field: str | None = None, blocked: bool = False) -> None:
        self.message = message
        self.field = field
        self.blocked = blocked
        super().__init__(message)


class BillChanged(PayeasyRefused):
    """The bill (amount, bounds, due date, status, description) or the biller changed
    after the confirm page was shown (probe34 F1): the confirmation can never pay, so it is
    ``final`` — the step-up flow drops the pending payment (the right answer is no wrong
    one) and the view sends the customer to ``step``: 「bill」 with ``bill`` as it is now,
    「numbers」 (the bill is gone, paid or past its due date) or 「start」 (the biller is no
    longer handled). Never a message about what the customer typed: they typed nothing."""

    final = True

    def __init__(self, message: str, *, step: str, bill: BillInfo | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.bill = bill


def _limit() -> int:
    return settings.PAYEASY_MAX_FAILURES_PER_DAY


def _format_until(moment: dt.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def payeasy_blocked_until(*, customer: Customer) -> dt.datetime | None:
    """When today's block ends (the next 0:00), or None when Pay-easy is open to the
    customer. The block is a count of today's wrong entries; tomorrow's row starts at 0."""
    today = local_now().date()
    counter = EntryFailureCounter.objects.filter(customer=customer, day=today).first()
    if counter is None or counter.failures < _limit():
        return None
    return start_of_day(today + dt.timedelta(days=1))


def blocked_message(until: dt.datetime) -> str:
    return BLOCKED.format(limit=_limit(), until=_format_until(until))


def biller_for_entry(number: str) -> Biller:
    biller = Biller.objects.filter(number=number, is_active=True).first()
    if biller is None:
        raise PayeasyRefused(BILLER_UNKNOWN, field="biller")
    return biller


def bill_lookup_for_customer(*, customer: Customer, biller: Biller, number: str, confirmation: str,
                             category: str, ip: str | None) -> BillInfo:
    """Ask the biller for the bill these numbers identify (PAY-1).

    Under the row lock of today's wrong-entry counter (PAY-3): refused when the customer
    has already made ``PAYEASY_MAX_FAILURES_PER_DAY`` wrong entries today; a wrong entry
    bumps the count before the lock is released, so concurrent wrong entries cannot pass
    the limit — the lock is held across the biller's answer. Wrong entries, the block,
    paid and expired bills and a biller that does not answer are audited; a not-found
    answer never says which of the numbers was wrong."""
    today = local_now().date()
    refusal: PayeasyRefused | None = None
    bill: BillInfo | None = None
    summary = f"{biller.number} {biller.name}"
    with transaction.atomic():
        EntryFailureCounter.objects.bulk_create([EntryFailureCounter(customer=customer, day=today)],
                                                ignore_conflicts=True)
        counter = EntryFailureCounter.objects.select_for_update().get(customer=customer, day=today)
        if counter.failures >= _limit():
            refusal = PayeasyRefused(blocked_message(start_of_day(today + dt.timedelta(days=1))), blocked=True)
            audit_record(action="payeasy_lookup", outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                         summary=f"{summary} 誤入力による利用停止中", ip=ip)
        else:
            try:
                bill = gateway().bill_lookup(biller=biller, number=number, confirmation=confirmation,
                                             category=category)
            except GatewayUnavailable:
                logger.warning("payeasy gateway unavailable for biller %s", biller.number, exc_info=True)
                refusal = PayeasyRefused(GATEWAY_DOWN)
                audit_record(action="payeasy_lookup", outcome=AuditEvent.Outcome.FAILURE,
                             customer=customer, summary=f"{summary} 収納機関応答なし", ip=ip)
            else:
                if bill is None:
                    counter.failures += 1
                    counter.save(update_fields=["failures"])
                    template = BILL_NOT_FOUND if biller.is_public else BILL_NOT_FOUND_PRIVATE
                    refusal = PayeasyRefused(template.format(label=biller.number_label, limit=_limit()))
                    audit_record(action="payeasy_lookup", outcome=AuditEvent.Outcome.FAILURE,
                                 customer=customer, ip=ip,
                                 summary=f"{summary} 番号誤り（本日{counter.failures}回目）")
                    if counter.failures >= _limit():
                        until = start_of_day(today + dt.timedelta(days=1))
                        refusal = PayeasyRefused(blocked_message(until), blocked=True)
                        audit_record(action="payeasy_block", outcome=AuditEvent.Outcome.REFUSED,
                                     customer=customer, ip=ip,
                                     summary=f"誤入力{counter.failures}回 {_format_until(until)}まで利用停止")
                else:
                    refusal = _bill_refusal(bill)
                    if refusal is not None:
                        audit_record(action="payeasy_lookup", outcome=AuditEvent.Outcome.REFUSED,
                                     customer=customer, ip=ip, summary=f"{summary} {refusal.message[:40]}")
    if refusal is not None:
        raise refusal
    return bill


def _bill_refusal(bill: BillInfo, *, meanwhile: bool = False) -> PayeasyRefused | None:
    """Paid or past its due date. ``meanwhile``: since the confirm page showed it payable
    (``BillChanged``, the customer is sent back to the numbers)."""
    due = f"{bill.due_date.year}年{bill.due_date.month}月{bill.due_date.day}日"
    if bill.paid:
        return BillChanged(BILL_PAID_MEANWHILE, step="numbers") if meanwhile else PayeasyRefused(BILL_PAID)
    if bill.due_date < local_now().date():
        return (BillChanged(BILL_EXPIRED_MEANWHILE.format(due=due), step="numbers") if meanwhile
                else PayeasyRefused(BILL_EXPIRED.format(due=due)))
    return None


def bill_shown(bill: BillInfo) -> dict:
    """The bill as a confirm page shows it, held in the confirmation's content: the payment
    compares the biller's answer with it (``payeasy_pay``) and the page is drawn from it."""
    return bill.as_session()


def _bill_changed_from(shown: dict | None, bill: BillInfo) -> bool:
    return shown is not None and {**shown, "paid": False} != {**bill.as_session(), "paid": False}


def amount_range_text(bill: BillInfo) -> str:
    """「払込金額は1円以上1,000,000円以下で入力してください。」 for an open-amount bill."""
    return AMOUNT_OUT_OF_RANGE.format(min=bill.min_amount, max=bill.max_amount)


def amount_check(bill: BillInfo, amount: int) -> None:
    """The payable amount: the bill's own, or within an open bill's bounds."""
    if bill.is_open_amount:
        if not bill.min_amount <= amount <= bill.max_amount:
            raise PayeasyRefused(amount_range_text(bill), field="amount")
    elif amount != bill.amount:
        raise PayeasyRefused(AMOUNT_MISMATCH, field="amount")


def duplicate_earlier(*, customer: Customer, biller: Biller, number: str) -> Payment | None:
    """PAY-3: the customer's latest payment to the same biller and number within
    ``PAYEASY_DUPLICATE_DAYS`` (three months), if any."""
    since = timezone.now() - dt.timedelta(days=settings.PAYEASY_DUPLICATE_DAYS)
    return (Payment.objects.filter(customer=customer, biller=biller, number=number, paid_at__gte=since)
            .order_by("-paid_at", "-id").first())


def duplicate_summary(payment: Payment | None) -> dict | None:
    if payment is None:
        return None
    paid = timezone.localtime(payment.paid_at)
    return {"date": f"{paid.year}年{paid.month}月{paid.day}日", "amount": payment.amount,
            "reference": payment.reference}


def _new_reference() -> str:
    # 受付番号: date + 8 random digits, unique in the table (_payment_insert draws again)
    return f"{local_now():%y%m%d}{secrets.randbelow(10**8):08d}"


# 10**8 numbers a day: two of 10,000 payments share one with odds near 40 %
REFERENCE_DRAWS = 5


def _payment_insert(**fields) -> Payment:
    """Insert the payment under a fresh 受付番号, drawn again when the number is taken (the
    unique index decides, also against a concurrent payment). A second payment of the same
    bill is refused (payment_bill_once)."""
    draws_left = REFERENCE_DRAWS
    while True:
        try:
            with transaction.atomic():
                return Payment.objects.create(reference=_new_reference(), paid_at=timezone.now(), **fields)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if constraint == "payment_bill_once":
                raise PayeasyRefused(BILL_PAID) from None
            draws_left -= 1
            if constraint != "payeasy_payment_reference_key" or not draws_left:
                raise


def _refusal_summarised(operation):
    """``payeasy_pay`` with its refusals named for 取引履歴: ``audit_summary`` — the biller
    and the amount, 「58001 コウセイ電力株式会社 12,000円 …」 — which the step-up flow writes
    as 拒否 when the payment's transaction has rolled back (walk33 F4: it was a bare 失敗).
    A fault (LedgerIntegrityError: a deadlock, a timeout, a bug) gets none: 失敗 (review33 F4)."""
    @functools.wraps(operation)
    def summarised(*, biller_number: str, amount: int, **kwargs):
        try:
            return operation(biller_number=biller_number, amount=amount, **kwargs)
        except (PayeasyRefused, LedgerError) as refused:
            if not isinstance(refused, LedgerIntegrityError):
                refused.audit_summary = f"{biller_label(biller_number)} {int(amount):,}円 {refused.message}"
            raise
    return summarised


@_refusal_summarised
def payeasy_pay(*, customer: Customer, account_id: int, biller_number: str, number: str,
                confirmation: str | None, category: str, bill_id: str, amount: int,
                via_link: bool, duplicate_acknowledged: bool, ip: str | None,
                shown: dict | None = None) -> Payment:
    """Pay one bill (PAY-1), in one transaction: ask the biller again (paid elsewhere or
    expired since the customer saw it → refused), insert the payment — the unique
    ``payment_bill_once`` makes a second payment of the same bill fail here, also from a
    concurrent request, which waits on the index until the first commits —, post one
    journal from the customer's account to the Pay-easy collection account, report the
    payment to the biller, write the audit row and the mail. Any refusal rolls all of it
    back, and is named for 取引履歴 (``_refusal_summarised``). A payment has no cancellation
    (the guide).

    ``shown``: the bill as the confirm page showed it (``bill_shown``). The biller's answer
    differing from it in anything — amount, bounds, due date, description —, the bill gone,
    paid or past its due date, or the biller no longer handled is ``BillChanged`` (final):
    it was 「払込金額が請求金額と一致しません」 at every retry, as if the customer had typed
    a wrong amount (probe34 F1)."""
    with transaction.atomic():
        account = (Account.objects.filter(pk=account_id, customer=customer, purpose=Account.Purpose.CUSTOMER)
                   .select_related("branch").first())
        if account is None:
            raise PayeasyRefused(ACCOUNT_UNAVAILABLE)
        try:
            biller = biller_for_entry(biller_number)
        except PayeasyRefused:
            raise BillChanged(BILLER_STOPPED, step="start") from None
        try:
            bill = gateway().bill_lookup(biller=biller, number=number, confirmation=confirmation,
                                         category=category)
        except GatewayUnavailable:
            logger.warning("payeasy gateway unavailable for biller %s", biller.number, exc_info=True)
            raise PayeasyRefused(GATEWAY_DOWN) from None
        if bill is None or bill.bill_id != bill_id:
            if _paid_here(biller, bill_id):
                raise BillChanged(BILL_PAID_MEANWHILE, step="numbers")
            if bill is None:  # a 情報リンク has no numbers to check: its biller's page makes a new one
                raise BillChanged(LINK_BILL_CHANGED if via_link else BILL_GONE, step="numbers")
            refusal = _bill_refusal(bill, meanwhile=True)  # another bill of the number now
            raise refusal or _changed_to(bill, amount=amount, via_link=via_link)
        refusal = _bill_refusal(bill, meanwhile=True)
        if refusal is not None:
            raise refusal
        if _paid_here(biller, bill.bill_id):  # the clear message; the constraint below decides
            raise BillChanged(BILL_PAID_MEANWHILE, step="numbers")
        if _bill_changed_from(shown, bill):
            raise _changed_to(bill, amount=amount, via_link=via_link)
        amount_check(bill, amount)
        earlier = duplicate_earlier(customer=customer, biller=biller, number=number)
        if earlier is not None and not duplicate_acknowledged:
            summary = duplicate_summary(earlier)
            raise PayeasyRefused(DUPLICATE_NOT_ACKNOWLEDGED.format(date=summary["date"], amount=earlier.amount))
        payment = _payment_insert(customer=customer, account=account, biller=biller, bill_id=bill.bill_id,
                                  number=number, category=category, description=bill.description[:48],
                                  amount=amount, via_link=via_link)
        reference = payment.reference
        collection = Account.objects.get(purpose=Account.Purpose.PAYEASY_COLLECTION)
        label = f"ペイジー {biller.name}"[:64]
        try:
            journal = journal_post(
                lines=[
                    PostingLine(account=account, amount=-amount, description=label),
                    PostingLine(account=collection, amount=amount,
                                description=f"ペイジー {biller.number} {reference}"),
                ],
                kind=Journal.Kind.PAYEASY,
                description=label,
                idempotency_key=f"payeasy:{reference}",
            )
        except InsufficientFunds:
            account.refresh_from_db()
            raise PayeasyRefused(INSUFFICIENT.format(available=account.available_amount)) from None
        except LedgerError as refused:
            raise PayeasyRefused(refused.message) from None
        try:
            gateway().payment_report(biller=biller, bill_id=bill.bill_id, amount=amount, reference=reference)
        except GatewayUnavailable:
            logger.warning("payeasy report failed for biller %s", biller.number, exc_info=True)
            raise PayeasyRefused(GATEWAY_DOWN) from None
        Payment.objects.filter(pk=payment.pk).update(journal_id=journal.pk)
        payment.journal_id = journal.pk
        audit_record(action="payeasy", outcome=AuditEvent.Outcome.SUCCESS, customer=customer, ip=ip,
                     summary=f"{biller.number} {biller.name} {amount:,}円 {reference_text(reference)}"
                     + (" 情報リンク" if via_link else ""))
        notice_enqueue(customer=customer, event="payeasy_accepted", lines=[
            "税金・各種料金の払込み（ペイジー）を受け付けました。",
            f"収納機関：{biller.name}（{biller.number}）",
            f"内容：{bill.description}",
            f"金額：{amount:,}円",
            f"お支払口座：{account_label(account)}",
            f"受付番号：{reference}",
            "※払込みの取消はできません。",
        ])
    return payment


def _changed_to(bill: BillInfo, *, amount: int, via_link: bool) -> BillChanged:
    """The payable ``bill`` differs from what the confirm page showed: shown again as it is
    now. A 情報リンク's amount is the biller's signed one: when it no longer fits the bill,
    only the biller's page can give a new link (the link is given up, ``step`` 「start」)."""
    if via_link:
        try:
            amount_check(bill, amount)
        except PayeasyRefused:
            return BillChanged(LINK_BILL_CHANGED, step="start")
    return BillChanged(BILL_CONTENT_CHANGED, step="bill", bill=bill)


def _paid_here(biller: Biller, bill_id: str) -> bool:
    return Payment.objects.filter(biller=biller, bill_id=bill_id).exists()


# --- 情報リンク方式 (PAY-4) -----------------------------------------------------------------

LINK_FIELDS = ("biller", "number", "category", "amount", "return_url", "expires", "nonce")
_LINK_PATTERNS = {
    "biller": re.compile(r"[0-9]{5}"),
    "number": re.compile(r"[0-9]{1,20}"),
    "category": re.compile(r"[0-9]{0,3}"),
    "amount": re.compile(r"[1-9][0-9]{0,11}"),
    # an absolute http(s) URL or a local path; never "//host" or another scheme
    "return_url": re.compile(r"https?://[\x21-\x7e]{1,300}|/(?![/\\])[\x21-\x7e]{0,300}"),
    "expires": re.compile(r"[0-9]{10}"),
    "nonce": re.compile(r"[A-Za-z0-9_-]{16,64}"),
    "sig": re.compile(r"[0-9a-f]{64}"),
}


def link_signature(*, secret: str, fields: dict) -> str:
    """HMAC-SHA256 over the link's fields in a fixed order, one ``name=value`` a line."""
    message = "\n".join(f"{name}={fields.get(name, '')}" for name in LINK_FIELDS)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def link_build(*, biller: Biller, number: str, category: str, amount: int, return_url: str,
               expires_at: dt.datetime, nonce: str | None = None) -> dict:
    """The biller's side (used by the simulator's demo page): the signed query fields."""
    fields = {"biller": biller.number, "number": number, "category": category, "amount": str(amount),
              "return_url": return_url, "expires": str(int(expires_at.timestamp())),
              "nonce": nonce or secrets.token_urlsafe(18)}
    fields["sig"] = link_signature(secret=biller.link_secret, fields=fields)
    return fields


@dataclass(frozen=True)
class LinkPayment:
    biller_number: str
    number: str
    category: str
    amount: int
    return_url: str
    nonce_id: int

    def as_session(self) -> dict:
        return self.__dict__.copy()


def link_accept(*, query, customer: Customer | None, ip: str | None) -> LinkPayment:
    """Verify a 情報リンク and use it up (PAY-4): every field present and well-formed, the
    HMAC of the biller's secret matching (compared in constant time), not expired and not
    valid for longer than ``PAYEASY_LINK_MAX_SECONDS``, and its nonce never seen — the
    ``link_nonce_once`` constraint refuses a replay, also a concurrent one. Refusals are
    audited (with the customer when logged in)."""
    fields = {name: query.get(name, "") for name in (*LINK_FIELDS, "sig")}
    biller = None
    refusal = None
    if not all(isinstance(value, str) and pattern.fullmatch(value)
               for name, pattern in _LINK_PATTERNS.items() for value in [fields[name]]):
        refusal = LINK_INVALID
    else:
        biller = Biller.objects.filter(number=fields["biller"], is_active=True).exclude(link_secret="").first()
        expected = link_signature(secret=biller.link_secret, fields=fields) if biller else ""
        if biller is None or not hmac.compare_digest(expected, fields["sig"]):
            refusal = LINK_INVALID
        else:
            remaining = int(fields["expires"]) - timezone.now().timestamp()
            if remaining <= 0 or remaining > settings.PAYEASY_LINK_MAX_SECONDS:
                refusal = LINK_EXPIRED
            else:
                try:
                    with transaction.atomic():
                        used = LinkNonce.objects.create(biller=biller, nonce=fields["nonce"], customer=customer)
                except IntegrityError:
                    refusal = LINK_REPLAYED
    if refusal is not None:
        audit_record(action="payeasy_link", outcome=AuditEvent.Outcome.REFUSED, customer=customer, ip=ip,
                     summary=f"{fields['biller'][:5]} " + {LINK_INVALID: "署名・内容不正",
                                                           LINK_EXPIRED: "有効期限切れ",
                                                           LINK_REPLAYED: "再使用"}[refusal])
        raise PayeasyRefused(refusal)
    return LinkPayment(biller_number=biller.number, number=fields["number"], category=fields["category"],
                       amount=int(fields["amount"]), return_url=fields["return_url"], nonce_id=used.pk)


def link_bill_lookup(*, customer: Customer, link: LinkPayment, ip: str | None) -> tuple[Biller, BillInfo]:
    """The bill a verified link names (no 確認番号: the biller's signature authenticates
    it); its amount must be the bill's, or within an open bill's bounds. A link that
    arrived before the login is recorded as this customer's."""
    LinkNonce.objects.filter(pk=link.nonce_id, customer__isnull=True).update(customer=customer)
    biller = biller_for_entry(link.biller_number)
    try:
        bill = gateway().bill_lookup(biller=biller, number=link.number, confirmation=None, category=link.category)
    except GatewayUnavailable:
        raise PayeasyRefused(GATEWAY_DOWN) from None
    refusal = PayeasyRefused(LINK_INVALID) if bill is None else _bill_refusal(bill)
    if refusal is None:
        try:
            amount_check(bill, link.amount)
        except PayeasyRefused:
            # signed by the biller, so not tampered with: the bill changed since its page
            # made the link (probe34 F1; it was 「改ざんされているか…」)
            refusal = PayeasyRefused(LINK_BILL_CHANGED)
    if refusal is not None:
        audit_record(action="payeasy_link", outcome=AuditEvent.Outcome.REFUSED, customer=customer, ip=ip,
                     summary=f"{biller.number} {biller.name} {refusal.message[:40]}")
        raise refusal
    return biller, bill
