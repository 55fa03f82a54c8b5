"""Writes to the outbox (NOTE-1, NOTE-3). Call inside the transaction of the action being
told about: a rolled-back action leaves no message, a committed one always has its row.

Each event has one template, ``templates/notifications/mail/<event>.txt``, which extends
``base.txt`` (greeting, time, the bank's signature block). Callers pass ``lines`` (what
happened, in Japanese, never a secret) and/or ``context`` for the event's template.

Posting notices (``deposit`` / ``withdrawal``) are not written by callers: the database
queues one for every entry on a customer account (``PostingNotice``, migration 0004) and
``posting_notices_process`` turns them into messages. A caller's own ``deposit`` or
``withdrawal`` notice is therefore dropped, so a customer never gets two.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import InterfaceError, OperationalError, transaction
from django.template.loader import select_template
from django.utils import timezone

from accounts.models import Customer
from accounts.templatetags.accounts_format import account_label
from cosei_ib.queries import unique_or_none
from security.audit import audit_record
from security.locks import customer_for_update

from .models import (
    PREFERENCE_LABELS,
    SUBJECTS,
    TOLD_EVENTS,
    EmailAddressChange,
    EmailChangeRequest,
    NoticePreference,
    OutboxMessage,
    PostingNotice,
    choice_said,
)

logger = logging.getLogger(__name__)


# The optional notices the customer chooses on Ｅメール設定 (NOTE-2), by preference field.
POSTING_EVENTS = frozenset({"deposit", "withdrawal"})
LOGIN_EVENTS = frozenset({"login"})
# Every event is a security notice (always sent) unless it is one of the optional ones.
# 振込・ペイジーの受付: acceptance of a transfer, reservation, cancellation or Pay-easy
# payment; the result of a reservation (executed / 未処理) is always sent.
RECEIPT_EVENTS = frozenset({"transfer_accepted", "transfer_scheduled", "transfer_cancelled",
                            "payeasy_accepted", "transfer", "transfer_schedule", "transfer_cancel",
                            "payeasy"})
SECURITY_NOTICE_LABELS = [
    "ログインパスワードの変更", "暗証番号等の不一致によるロック・ロック解除", "IB取引中止・再開",
    "利用限度額の変更", "Ｅメール設定の変更", "ワンタイムパスワードの利用開始", "画像認証カードの発行",
    "予約振込の実行・未処理", "窓口での振込予約の取消", "パスキーの登録・削除・設定変更",
]


def event_is_optional(event: str) -> str | None:
    """The preference field that switches ``event`` off, or None (always sent)."""
    if event in POSTING_EVENTS:
        return "postings"
    if event in RECEIPT_EVENTS:
        return "receipts"
    if event in LOGIN_EVENTS:
        return "login"
    return None


def preference_for(customer: Customer) -> NoticePreference:
    """The customer's choices (unsaved defaults when never changed)."""
    found = NoticePreference.objects.filter(customer=customer).first()
    return found or NoticePreference(customer=customer)


def preference_chosen(customer: Customer, field: str) -> bool:
    """One of the customer's choices (``postings``, ``receipts``, ``login``): the one
    column, its default when never changed."""
    chosen = unique_or_none(NoticePreference.objects.filter(customer=customer).values_list(field, flat=True))
    return NoticePreference._meta.get_field(field).default if chosen is None else chosen


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


# SMTP's limit of a mailbox name (RFC 5321 4.5.3.1.1): a longer one no server accepts
MAX_LOCAL_PART = 64


# The mailbox name of an address a customer has: 半角英数字 and . _ % + - as dot-atoms (the
# pattern notifications 0014 holds "sendable" by). RFC 5322 also has quoted names
# ("<script>"@example.jp) and !#$&'*/=?^`{|}~, which no carrier issues and Django's
# validate_email takes (walk28 F4).
_MAILBOX_NAME = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*", flags=re.ASCII)
# Its domain: host names and a TLD of letters (the rest of 0014's pattern, which accounts 0035
# holds every stored address to, dbprobe29 F8) — not localhost, an IP literal or a punycode
# TLD, which validate_email also takes.
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}", flags=re.ASCII)


def address_is_sendable(address: str) -> bool:
    """A plain ASCII address with no CR/LF or other control characters (no header
    injection; we never put a display name in a header), whose mailbox name is of
    ``_MAILBOX_NAME`` and one a mail server can take (at most ``MAX_LOCAL_PART`` characters),
    at a domain of ``_DOMAIN``: the addresses ``accounts_customer.email`` may hold (23514
    ``accounts_customer_email_sendable``, accounts 0035)."""
    if not address or _CONTROL.search(address) or not address.isascii():
        return False
    mailbox, _, domain = address.rpartition("@")
    if len(mailbox) > MAX_LOCAL_PART or not _MAILBOX_NAME.fullmatch(mailbox) or not _DOMAIN.fullmatch(domain):
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def address_readable(address: str) -> str:
    """``address`` as the customer typed it: a domain the browser sent in punycode
    (「taro@例え.jp」 arrives as 「taro@xn--r8jz45g.jp」) is shown with its own letters after
    it, 「taro@xn--r8jz45g.jp（taro@例え.jp）」 (walk32 F4); the mail goes to the first."""
    mailbox, at, domain = address.rpartition("@")
    if not at or "xn--" not in domain.lower():
        return address
    try:
        readable = domain.encode("ascii").decode("idna")
    except UnicodeError:
        return address
    return f"{address}（{mailbox}@{readable}）" if readable != domain else address


def address_same(first: str, second: str) -> bool:
    """Whether two (normalised, half-width) addresses name the same mailbox as a customer
    sees it: the domain is case-insensitive (RFC 5321), and so is the mailbox name at
    every provider a customer uses — 「Yamada@Example.JP」 is 「yamada@example.jp」 (walk25
    F14). For the confirmation field and 「現在ご登録のアドレスと同じです。」; the address
    is stored as typed (domain lower-cased)."""
    return first.lower() == second.lower()


def one_line(text: str) -> str:
    """``text`` with its line breaks made spaces: a value put into a mail stays on its line,
    so a name or a 摘要 never adds a line of its own (a second 「金額」 line — notifications
    0013 holds the 入出金 mail to exactly one, its entry's)."""
    return re.sub(r"[\r\n]+", " ", text)


def _render(event: str, customer: Customer, lines: list[str], context: dict) -> str:
    template = select_template([f"notifications/mail/{event}.txt", "notifications/mail/generic.txt"])
    body = template.render({
        "customer": customer, "customer_name": one_line(customer.name_kanji), "lines": lines,
        "now": timezone.localtime(),
        "bank_name": settings.BANK_NAME, **context,
    })
    return _tidied(body)


def _tidied(body: str) -> str:
    # templates keep their tags on lines of their own; drop the blank runs that leaves
    return re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"


def _outbox_write(*, customer: Customer, event: str, lines: list[str], context: dict,
                  to: str | None) -> OutboxMessage:
    address = customer.email if to is None else to
    optional = event_is_optional(event)
    chosen = optional is None or preference_chosen(customer, optional)
    sendable = address_is_sendable(address)
    if address and not sendable:
        logger.warning("notice %s for customer %s not sent: unusable address", event, customer.pk)
    message = OutboxMessage(
        customer=customer,
        event=event,
        to=address if sendable else "",
        subject=f"【{settings.BANK_SHORT_NAME}】{SUBJECTS.get(event, 'お知らせ')}",
        body=_render(event, customer, lines, context),
        status=OutboxMessage.Status.PENDING if sendable and chosen else OutboxMessage.Status.SKIPPED,
    ).sealed_now()
    message.save(force_insert=True)
    if message.status == OutboxMessage.Status.PENDING:
        transaction.on_commit(_wake_sender)
    return message


FIXED_NOTICE_TEMPLATE = "notifications/mail/fixed_notice.txt"


def unsealed_notice(message: OutboxMessage) -> tuple[str, str] | None:
    """For a mail the app did not seal (dbprobe32 F1: written by SQL) of a told event
    (``TOLD_EVENTS``): the subject and body of that event's fixed notice — made from the event
    alone, nothing of the row's text, not even the customer's name — to send to the row's
    address in its place, if that address is the customer's now or one the customer had
    (アドレス変更履歴, written by the database alone); None otherwise (not sent at all)."""
    if message.event not in TOLD_EVENTS or not address_is_sendable(message.to):
        return None
    customer = Customer.objects.filter(pk=message.customer_id).values_list("email", flat=True).first()
    if customer is None:
        return None
    if not address_same(customer, message.to) and not EmailAddressChange.objects.filter(
            customer_id=message.customer_id, old_email__iexact=message.to).exists():
        return None
    if _fixed_notice_given(message):
        return None
    subject = SUBJECTS[message.event]
    body = select_template([FIXED_NOTICE_TEMPLATE]).render({
        "what": subject.removesuffix("のお知らせ"), "bank_name": settings.BANK_NAME})
    return f"【{settings.BANK_SHORT_NAME}】{subject}", _tidied(body)


# one fixed notice per customer and event a day: each further forged row would be one more
# signed 「お心当たりのない場合は至急ご連絡」 mail, as many as the writer likes (review33 F3)
FIXED_NOTICE_ONCE_PER = dt.timedelta(hours=24)


def _fixed_notice_given(message: OutboxMessage) -> bool:
    """Whether an earlier unsealed mail of ``message``'s customer and event, written in the
    last ``FIXED_NOTICE_ONCE_PER``, was judged already (送信失敗: its fixed notice went, or
    could not): the customer has been told of this event; /health/ counts every row."""
    from .selectors import UNSEALED_FIELDS

    earlier = (OutboxMessage.objects
               .filter(customer_id=message.customer_id, event=message.event, status=OutboxMessage.Status.FAILED,
                       created_at__gte=timezone.now() - FIXED_NOTICE_ONCE_PER)
               .exclude(pk=message.pk).only(*UNSEALED_FIELDS).order_by("-id")[:50])
    return any(not mail.is_sealed() for mail in earlier)


def notice_enqueue(*, customer: Customer, event: str, lines: list[str] | None = None,
                   context: dict | None = None, to: str | None = None) -> OutboxMessage | None:
    """Queue a notice to the customer's registered address (or ``to``), in the caller's
    transaction. Without an address, or when the customer switched this optional notice
    off, the row is kept as ``skipped`` (staff can see what was not sent). Returns None
    for ``deposit`` / ``withdrawal``: those come from the ledger itself (module doc)."""
    if event in POSTING_EVENTS:
        logger.info("notice %s for customer %s left to the ledger's posting notice", event, customer.pk)
        return None
    return _outbox_write(customer=customer, event=event, lines=list(lines or []),
                         context=dict(context or {}), to=to)


# The 摘要 of the credit that gives back a transfer the payee's bank returned (written by
# transfers.interbank): its time is when the bank processed the return, so its ご入金 mail
# names it 処理日時 like the 振込資金返却 mail, not 取引日時 (walk22).
RETURN_DESCRIPTION = "振込資金返却"


def _posting_time_label(description: str) -> str | None:
    return "処理日時" if description.startswith(RETURN_DESCRIPTION) else None


def loaded_history(entry) -> bool:
    """A posting dated to an earlier bank day than the day the ledger wrote it (its
    journal's ``created_at``, the database's clock) is loaded history — the demo seed,
    migrated records — not an event to tell. Not "over an hour back": the app's role may
    date a posting back within today, and a debit so dated went unmailed (dbprobe25 F5;
    the database holds the same rule, notifications 0012)."""
    bank = timezone.get_default_timezone()  # Asia/Tokyo, whatever zone a request activated
    return timezone.localdate(entry.posted_at, bank) < timezone.localdate(entry.journal.created_at, bank)


# Notices whose processing failed in this process, and when: left out of the claim for
# NOTICE_RETRY_SECONDS, so one row that cannot be processed does not hold back the others.
NOTICE_RETRY_SECONDS = 600
_notices_failing: dict[int, float] = {}


def _notice_process(notice: PostingNotice, now: dt.datetime) -> None:
    entry = notice.entry
    notice.processed_at = now
    if loaded_history(entry):
        return  # history loaded after the fact (demo data, migrated records): no news
    notice.message = _outbox_write(
        customer=notice.account.customer,
        event="deposit" if notice.amount > 0 else "withdrawal",
        lines=[],
        context={"account": notice.account, "account_text": one_line(account_label(notice.account)),
                 "amount": f"{abs(notice.amount):,}",
                 "description": one_line(entry.description), "posted_at": timezone.localtime(entry.posted_at),
                 "kind": entry.journal.get_kind_display(),
                 "when_label": _posting_time_label(entry.description)},
        to=None,
    )


def _notices_claim(failing: list[int]):
    return (PostingNotice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(processed_at__isnull=True).exclude(pk__in=failing)
            .select_related("entry__journal", "account__branch", "account__customer")
            .order_by("id"))


def posting_notices_process(*, limit: int = 200) -> int:
    """Turn queued entries (written by the ledger trigger) into 入出金 notices, oldest
    first, each exactly once: rows are claimed ``FOR UPDATE SKIP LOCKED`` and marked in
    the same transaction as their outbox message. Returns how many were processed.

    A batch that fails (a row the database or Python cannot take — dbprobe26 F6: a
    timestamp Python cannot read stopped every mail of the bank) is done again a row at
    a time; a row that fails alone is logged as an error and left out of this process's
    claims for ``NOTICE_RETRY_SECONDS``, while the others go on."""
    clock = time.monotonic()
    for notice_id, failed_at in list(_notices_failing.items()):
        if clock - failed_at > NOTICE_RETRY_SECONDS:
            del _notices_failing[notice_id]
    failing = list(_notices_failing)
    try:
        with transaction.atomic():
            pending = list(_notices_claim(failing)[:limit])
            now = timezone.now()
            for notice in pending:
                _notice_process(notice, now)
            PostingNotice.objects.bulk_update(pending, ["message", "processed_at"])
        return len(pending)
    except (OperationalError, InterfaceError):
        raise  # the database is gone: every row would fail alike, none is to blame
    except Exception:  # noqa: BLE001 - one bad row must not stop every notice
        logger.exception("posting notices: a batch failed; processing its rows one at a time")
    with transaction.atomic():
        ids = list(PostingNotice.objects.filter(processed_at__isnull=True).exclude(pk__in=failing)
                   .order_by("id").values_list("id", flat=True)[:limit])
    processed = 0
    for notice_id in ids:
        try:
            with transaction.atomic():
                notice = _notices_claim(failing).filter(pk=notice_id).first()
                if notice is None:
                    continue  # taken by another worker meanwhile
                _notice_process(notice, timezone.now())
                notice.save(update_fields=["message", "processed_at"])
                processed += 1
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001
            _notices_failing[notice_id] = time.monotonic()
            logger.exception("posting notice %s cannot be processed; retried in %s s", notice_id,
                             NOTICE_RETRY_SECONDS)
    return processed


# At most one wake-up per process this often. A wake-up is a job INSERT and, when the
# worker has already taken the last one, its own commit with a WAL flush: once per posting
# it cost about as much as the posting itself (bench/ledger_pgbench.py). A worker that is
# woken drains every queued notice, including those committed meanwhile.
WAKE_INTERVAL = 1.0
_last_wake = -WAKE_INTERVAL


def _wake_sender() -> None:
    """Ask the worker to send now rather than at its next periodic sweep — unless this
    process did so less than ``WAKE_INTERVAL`` ago: that job is still queued or running
    and takes this posting's notice too (or, in the rare case it had just finished, the
    next wake-up or the per-minute sweep does)."""
    global _last_wake
    from .tasks import outbox_send

    now = time.monotonic()
    if now - _last_wake < WAKE_INTERVAL:
        return
    _last_wake = now
    try:
        outbox_send.defer()
    except Exception:  # noqa: BLE001 - already queued (queueing lock), or the sweep sends it
        pass


def wake_after_ledger_post(execute, sql, params, many, context):
    """Database execute wrapper (installed on every connection by the app config): after
    a ``ledger_post`` call, wake the worker once the transaction commits so the posting
    notices the trigger queued go out at once. Only a wake-up: without it the worker's
    sweep (every minute) sends them anyway."""
    result = execute(sql, params, many, context)
    if isinstance(sql, str) and "ledger_post(" in sql:
        connection = context["connection"]
        if connection.in_atomic_block:
            transaction.on_commit(_wake_sender, using=connection.alias)
        else:
            _wake_sender()
    return result


# --- Ｅメール設定 (NOTE-2) -------------------------------------------------------------

EMAIL_CODE_WRONG = "確認コードが正しくありません。メールに記載の確認コードを入力してください。"
EMAIL_CODE_EXPIRED = "確認コードの有効期限が過ぎました。お手数ですが、アドレスの変更を最初からやり直してください。"
EMAIL_CODE_NONE = "確認待ちのアドレス変更はありません。アドレスの変更を最初からやり直してください。"
EMAIL_CODE_TOO_MANY = ("確認コードを所定の回数誤って入力されたため、このアドレス変更は無効になりました。"
                       "お手数ですが、最初からやり直してください。")
EMAIL_SAME = "現在ご登録のアドレスと同じです。"
EMAIL_NONE_TO_REMOVE = "Ｅメールアドレスは登録されていません。"
EMAIL_CHANGED_MEANWHILE = "ご登録のアドレスが変更されています。お手数ですが、最初からやり直してください。"
EMAIL_ALREADY_CHANGED = "Ｅメールアドレスは既に {email} に変更されています。"


class EmailSettingError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class EmailAlreadyChanged(EmailSettingError):
    """The code was entered on another page (tab) first: the change went through."""

    def __init__(self, email: str) -> None:
        super().__init__(EMAIL_ALREADY_CHANGED.format(email=email))


def email_masked(address: str) -> str:
    """「ta***@example.jp」: enough for the customer to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:2]}***@{domain}" if domain else "（未登録）"


def _code_hash(customer: Customer, new_email: str, code: str) -> str:

    message = f"email-change|{customer.pk}|{new_email}|{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def email_change_request(*, customer: Customer, new_email: str, ip: str | None) -> EmailChangeRequest:
    """Start registering/changing the address (after the step-up): a 6-digit code goes to
    ``new_email``; nothing changes until it is entered (``email_change_confirm``). A
    request replaces any earlier one, whose code stops working. Audited."""


    if not address_is_sendable(new_email):
        raise EmailSettingError("Ｅメールアドレスの形式が正しくありません。")
    with transaction.atomic():
        locked = customer_for_update(customer)
        if address_same(locked.email, new_email):
            raise EmailSettingError(EMAIL_SAME)
        code = f"{secrets.randbelow(10**6):06d}"
        expires_at = timezone.now() + dt.timedelta(seconds=settings.NOTIFICATIONS_EMAIL_CODE_SECONDS)
        EmailChangeRequest.objects.filter(customer=customer).end(EmailChangeRequest.Outcome.REPLACED)
        request = EmailChangeRequest.objects.create(
            customer=customer, new_email=new_email, code_hash=_code_hash(customer, new_email, code),
            expires_at=expires_at,
        )
        audit_record(action="email_change", outcome="success", customer=customer, ip=ip,
                     summary=f"アドレス変更受付（確認コード送信先 {email_masked(new_email)}）")
        # the code goes only to the new address; it is the one secret this mail must carry
        _outbox_write(customer=customer, event="email_verify", lines=[],
                      context={"code": code, "expires_at": timezone.localtime(expires_at)},
                      to=new_email)
    return request


def email_change_confirm(*, customer: Customer, code: str, ip: str | None, new_email: str = "") -> str:
    """Apply the pending address once its code is entered: under the request's row lock,
    once. A wrong code counts (at ``NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES`` the request
    dies); an expired one ends the request. The old address (if any) and the new one are
    told. Returns the new address. ``new_email``: the address the page asked the code
    for; with no request left and that address already the customer's, raises
    EmailAlreadyChanged (the code was entered in another tab first)."""

    with transaction.atomic():
        request = EmailChangeRequest.objects.open().select_for_update().filter(customer=customer).first()
        if request is None:
            _already_changed_check(customer, new_email)
            raise EmailSettingError(EMAIL_CODE_NONE)
        refusal = None
        if request.expires_at <= timezone.now():
            refusal = EMAIL_CODE_EXPIRED
        elif not _code_matches(request, customer, code):
            request.failures += 1
            refusal = EMAIL_CODE_WRONG
            if request.failures >= settings.NOTIFICATIONS_EMAIL_CODE_MAX_FAILURES:
                refusal = EMAIL_CODE_TOO_MANY
        if refusal is not None:
            if refusal != EMAIL_CODE_EXPIRED:
                request.save(update_fields=["failures"])
            if refusal != EMAIL_CODE_WRONG:  # ended, and kept (notifications 0016)
                EmailChangeRequest.objects.filter(pk=request.pk).end(
                    EmailChangeRequest.Outcome.EXPIRED if refusal == EMAIL_CODE_EXPIRED
                    else EmailChangeRequest.Outcome.TOO_MANY)
            audit_record(action="email_change", outcome="failure", customer=customer, ip=ip,
                         summary=f"確認コード不一致・期限切れ（{request.failures}回目）"
                         if refusal != EMAIL_CODE_EXPIRED else "確認コード期限切れ")
    if refusal is not None:
        raise EmailSettingError(refusal)  # after commit: the failure count stays
    with transaction.atomic():
        # the customer's row before the request's (security.locks): a removal or a new
        # request after a step-up holds the customer, then ends the request
        locked = customer_for_update(customer)
        request = EmailChangeRequest.objects.open().select_for_update().filter(pk=request.pk).first()
        if request is None:  # a concurrent confirmation or a removal won
            _already_changed_check(customer, new_email)
            raise EmailSettingError(EMAIL_CODE_NONE)
        old_email, new_email = locked.email, request.new_email
        Customer.objects.filter(pk=customer.pk).update(email=new_email)
        customer.email = new_email
        EmailChangeRequest.objects.filter(pk=request.pk).end(EmailChangeRequest.Outcome.CONFIRMED)
        audit_record(action="email_change", outcome="success", customer=customer, ip=ip,
                     summary=f"アドレス変更 {email_masked(old_email)} → {email_masked(new_email)}")
        if old_email:
            _outbox_write(customer=customer, event="email_change", to=old_email, context={}, lines=[
                f"ご登録のＥメールアドレスを {email_masked(new_email)} に変更しました。",
                "今後のお知らせは新しいアドレスにお送りします。",
            ])
        _outbox_write(customer=customer, event="email_change", to=new_email, context={}, lines=[
            "このアドレスをインターネットバンキングのお知らせの送信先に登録しました。",
        ])
    return new_email


def _already_changed_check(customer: Customer, new_email: str) -> None:
    if new_email and Customer.objects.filter(pk=customer.pk, email=new_email).exists():
        raise EmailAlreadyChanged(new_email)


def _code_matches(request: EmailChangeRequest, customer: Customer, code: str) -> bool:

    return hmac.compare_digest(request.code_hash, _code_hash(customer, request.new_email, code))


def email_remove(*, customer: Customer, email: str, ip: str | None) -> None:
    """Remove the address ``email`` that the customer confirmed (after the step-up):
    security notices then go nowhere (the page says so). Refused if the address changed
    meanwhile (another tab). The old address is told; any pending change is dropped."""

    with transaction.atomic():
        locked = customer_for_update(customer)
        if not locked.email:
            raise EmailSettingError(EMAIL_NONE_TO_REMOVE)
        if locked.email != email:
            raise EmailSettingError(EMAIL_CHANGED_MEANWHILE)
        old_email = locked.email
        Customer.objects.filter(pk=customer.pk).update(email="")
        customer.email = ""
        EmailChangeRequest.objects.filter(customer=customer).end(EmailChangeRequest.Outcome.REMOVED)
        audit_record(action="email_change", outcome="success", customer=customer, ip=ip,
                     summary=f"アドレス削除 {email_masked(old_email)}")
        _outbox_write(customer=customer, event="email_change", to=old_email, context={}, lines=[
            "ご登録のＥメールアドレスを削除しました。",
            "今後、お取引やセキュリティに関するお知らせはメールでお送りできません。",
        ])


def notice_preference_change(*, customer: Customer, choices: dict, ip: str | None) -> NoticePreference:
    """Save the optional notices chosen (after the step-up); audited and mailed (to the
    current address, whatever the new choices) as ``notice_choice`` — its own event, not the
    address's ``email_change``, so the rule of an address change (CI310) never counts it
    (dbprobe32 F3; notifications 0026)."""

    with transaction.atomic():
        customer_for_update(customer)
        preference, _ = NoticePreference.objects.get_or_create(customer=customer)
        for field in PREFERENCE_LABELS:
            setattr(preference, field, bool(choices[field]))
        preference.save()
        summary = "、".join(f"{label}={choice_said(getattr(preference, field))}"
                           for field, label in PREFERENCE_LABELS.items())
        audit_record(action="email_change", outcome="success", customer=customer, ip=ip,
                     summary=f"通知の選択 {summary}")
        _outbox_write(customer=customer, event="notice_choice", to=None, context={}, lines=[
            "お知らせの選択を次のとおり変更しました。",
            *(f"・{label}のお知らせ：{choice_said(getattr(preference, field))}"
              for field, label in PREFERENCE_LABELS.items()),
        ])
    return preference


def login_notice(*, customer: Customer, ip: str | None) -> None:
    """The ログインのお知らせ, only if the customer chose it (no row otherwise: logins are
    many, and a skipped row for each would bury the outbox)."""
    if not preference_chosen(customer, "login"):
        return
    _outbox_write(customer=customer, event="login", to=None, context={},
                  lines=[f"接続元IPアドレス：{ip}"] if ip else [])


def outbox_retry(*, messages, actor: str) -> int:
    """Staff: send failed messages again (STAFF, audited). Only ``failed`` rows move, each
    back to ``pending`` with its attempts reset; returns how many."""

    retried = 0
    with transaction.atomic():
        for message in OutboxMessage.objects.select_for_update().filter(
                pk__in=[m.pk for m in messages], status=OutboxMessage.Status.FAILED).order_by("id"):
            message.status = OutboxMessage.Status.PENDING
            message.attempts = 0
            message.next_attempt_at = timezone.now()
            message.save(update_fields=["status", "attempts", "next_attempt_at"])
            audit_record(action="outbox_retry", outcome="success", customer=message.customer,
                         actor=actor, summary=f"通知メール#{message.pk} {message.event_label}")
            retried += 1
        if retried:
            transaction.on_commit(_wake_sender)
    return retried
