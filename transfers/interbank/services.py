"""為替 (XFER-12): the day's 仕向 file, 資金返却, and 被仕向 files crediting our customers.

Exactly once, in the database:

* 仕向: the pending records of the day are locked ``FOR UPDATE SKIP LOCKED`` in the
  transaction that writes the file, its items (``outgoing`` is one-to-one: a transfer is in
  one file) and marks them sent; a concurrent download skips them (or gets nothing).
* 返却: one ``InterbankReturn`` per transfer (one-to-one) and the journal key
  ``interbank-return:<outgoing id>``.
* 被仕向: the file row is unique by the SHA-256 of its header, sorted data records and
  trailer (``file_identity``: line ends and the records' order do not count); each record is handled in its own transaction
  under the file row's lock, (file, line) unique, journal key ``interbank-in:<sha>:<line>``;
  an interrupted upload repeated completes the rest, a finished one posts nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.errors import LedgerError
from accounts.models import Account, Entry, Journal, account_number_masked
from accounts.reference_data import BANK_CODE
from accounts.services import PostingLine, journal_post
from accounts.templatetags.accounts_format import japanese_date, payee_place
from notifications.services import RETURN_DESCRIPTION, notice_enqueue
from security.audit import audit_record, reference_text
from transfers.errors import TransferRefused
from transfers.models import (
    Bank,
    InterbankIncomingFile,
    InterbankIncomingRecord,
    InterbankOutgoingFile,
    InterbankOutgoingItem,
    InterbankReturn,
    OutgoingTransfer,
)
from transfers.zengin import zengin_normalize

from .zengin_file import (
    DataRecord,
    Header,
    ZenginFieldError,
    ZenginFileError,
    data_line,
    file_build,
    file_canonical,
    file_identity,
    file_read,
    header_line,
    record_keys,
)

logger = logging.getLogger(__name__)

NOTHING_TO_SEND = "{day}決済の未送信の他行宛振込はありません。"
ALREADY_MADE = "作成済みの仕向ファイル：{file}（{at} {staff}作成）。送信がまだの場合は、仕向ファイルの一覧からダウンロードしてください。"
SETTLEMENT_MISMATCH = ("為替決済勘定への入金額（{settled:,}円）とファイルの合計（{total:,}円）が一致しません。"
                       "ファイルは作成していません。システム担当者に連絡してください。")
UNWRITABLE = "全銀形式で書けないデータがあるため、ファイルは作成していません（{problem}）。システム担当者に連絡してください。"
# the header (our bank, the 為替決済 account's branch) is in every file: no record is to blame
# (dbprobe27 F1)
UNWRITABLE_HEADER = ("当金庫の情報（ヘッダー・レコードの{problem}）が全銀形式で書けないため、ファイルは作成していません。"
                     "どの日の振込も送れない状態です。システム担当者に連絡してください。")
# a record the file cannot carry is held back, not the day's file (dbprobe26 F5)
HELD_BACK = ("データ番号 {id}（{payee} {amount:,}円）は全銀形式で書けないため（{problem}）、ファイルに含めていません。"
             "未送信のまま残ります。システム担当者に連絡してください。")
NOT_SENT = "送信済みの他行宛振込だけを返却できます。"
ALREADY_RETURNED = "この振込は既に返却済みです。"
RETURN_LEDGER = "返却できませんでした：{message}"
RECORD_NOT_UNAPPLIED = "入金不能・入金保留の明細だけを返却済みにできます。"
RECORD_NOT_HELD = "入金保留の明細だけを入金できます。"
RETURN_REASON_REQUIRED = "返却理由を入力してください。"
RELEASE_REFUSED = "入金できません（{reason}）。返却済にしてください。"
FILE_TOO_LARGE = "ファイルが大きすぎます（{limit:,}バイトまで）。"
MAX_FILE_BYTES = 2_000_000

# 入金不能 reasons
NO_ACCOUNT = "口座なし"
ACCOUNT_CLOSED = "解約済"
ACCOUNT_FROZEN = "支払停止・取引停止中"
NAME_MISMATCH = "名義相違"
NOT_CUSTOMER = "お客様口座ではない"
# 入金保留: the same 為替 as a record of another file (docs/interbank.md)
HELD_SAME = "二重の疑い：第{file}号 {line}行目と同じ振込"
# 入金保留: a record above settings.TRANSFERS_INCOMING_HOLD_ABOVE (walk27 F3)
HELD_LARGE = "大口：{limit:,}円を超える振込（仕向金融機関に確認）"
HOLD_REASONS = tuple(reason.partition("{")[0] for reason in (HELD_SAME, HELD_LARGE))  # how each begins


def settlement_account() -> Account:
    return Account.objects.select_related("branch").get(purpose=Account.Purpose.ZENGIN_SETTLEMENT)


def _our_header(day: dt.date) -> Header:
    """Our bank as 振込依頼人 (the 為替決済 account at the head office)."""
    account = settlement_account()
    bank = Bank.objects.filter(code=BANK_CODE).first()
    return Header(requester_code=BANK_CODE, requester_name=account.holder_kana, transfer_day=day,
                  bank_code=BANK_CODE, bank_kana=bank.kana if bank else "", branch_code=account.branch.code,
                  branch_kana=account.branch.name_kana, account_type="1", account_number=account.number)


def _data_record(outgoing: OutgoingTransfer) -> DataRecord:
    # 顧客コード1 = the record's id: a return from the receiving bank names it
    return DataRecord(bank_code=outgoing.bank_code, bank_kana=outgoing.bank_kana,
                      branch_code=outgoing.branch_code, branch_kana=outgoing.branch_kana,
                      account_type=outgoing.account_type, account_number=outgoing.account_number,
                      payee_kana=outgoing.payee_kana, amount=outgoing.amount, customer_code1=str(outgoing.pk))


def _settled_amount(outgoing: list[OutgoingTransfer]) -> int:
    """What the transfers' journals put on the 為替決済 account."""
    journal_ids = [record.transfer.journal_id for record in outgoing]
    return (Entry.objects.filter(journal_id__in=journal_ids, account=settlement_account())
            .aggregate(total=Sum("amount"))["total"] or 0)


# --- 仕向 ---------------------------------------------------------------------------------


def outgoing_pending(day: dt.date):
    return OutgoingTransfer.objects.filter(status=OutgoingTransfer.Status.PENDING, settlement_date=day)


def outgoing_unwritable(records) -> dict[int, str]:
    """The records a 全銀 file cannot carry (a name outside the Zengin characters, a number
    too long), by id, with why. Transfers 0021 refuses such a record on INSERT; one stored
    before is held back from the day's file instead of refusing the file (dbprobe26 F5)."""
    held = {}
    for record in records:
        try:
            data_line(_data_record(record))
        except ZenginFieldError as error:
            held[record.pk] = str(error)
    return held


def outgoing_held_messages(records) -> list[str]:
    """What staff read about each held-back record of ``records`` (``HELD_BACK``)."""
    problems = outgoing_unwritable(records)
    return [HELD_BACK.format(id=record.pk, payee=record.payee_kana, amount=record.amount, problem=problems[record.pk])
            for record in records if record.pk in problems]


def outgoing_file_create(*, day: dt.date, staff: str) -> InterbankOutgoingFile:
    """The file of ``day``'s pending outgoing transfers, written and recorded, and the
    transfers marked sent, in one transaction. A record the file cannot carry is held back
    (stays 未送信, audited; ``outgoing_held_messages`` says why). Raises TransferRefused when
    there is nothing (writable) to send or when the 為替決済 postings do not add up to the
    file's total."""
    with transaction.atomic():
        outgoing = list(outgoing_pending(day).select_related("transfer")
                        .select_for_update(skip_locked=True, of=("self",)).order_by("id"))
        if not outgoing:
            # the rows another request is writing into its file were skipped (a double
            # click, two staff): wait for it, then answer as a request after it would —
            # 「ありません」 naming its file, not at once while that file was not yet there
            outgoing = list(outgoing_pending(day).select_related("transfer")
                            .select_for_update(of=("self",)).order_by("id"))
        if not outgoing:
            raise TransferRefused(_nothing_to_send(day))
        header = _our_header(day)
        try:
            header_line(header)
        except ZenginFieldError as error:
            logger.error("interbank outgoing %s: the header cannot be written: %s", day, error)
            raise TransferRefused(UNWRITABLE_HEADER.format(problem=error)) from error
        held = outgoing_unwritable(outgoing)
        if held:
            # each stays 未送信 (its row is never changed): staff read why on the page
            audit_record(action="interbank_outgoing", outcome="failure", actor=staff,
                         summary=f"{day:%Y-%m-%d} 全銀形式で書けない明細を保留 データ番号 {', '.join(map(str, held))}"[:200])
            logger.error("interbank outgoing %s: records held back (not writable): %s", day, held)
            outgoing = [record for record in outgoing if record.pk not in held]
            if not outgoing:
                raise TransferRefused(UNWRITABLE.format(problem="; ".join(held.values())))
        try:
            content = file_build(header, [_data_record(record) for record in outgoing])
        except ZenginFieldError as error:
            raise TransferRefused(UNWRITABLE.format(problem=error)) from error
        total = sum(record.amount for record in outgoing)
        settled = _settled_amount(outgoing)
        if settled != total:
            audit_record(action="interbank_outgoing", outcome="failure", actor=staff,
                         summary=f"{day:%Y-%m-%d} 照合不一致 決済{settled:,}円 ファイル{total:,}円")
            raise TransferRefused(SETTLEMENT_MISMATCH.format(settled=settled, total=total))
        file = InterbankOutgoingFile.objects.create(
            business_day=day, record_count=len(outgoing), total_amount=total,
            sha256=hashlib.sha256(content).hexdigest(), content=content, settlement_amount=settled,
            created_by=staff)
        InterbankOutgoingItem.objects.bulk_create(
            [InterbankOutgoingItem(file=file, outgoing=record, line=index)
             for index, record in enumerate(outgoing, start=2)])
        OutgoingTransfer.objects.filter(pk__in=[record.pk for record in outgoing]).update(
            status=OutgoingTransfer.Status.SENT)
        audit_record(action="interbank_outgoing", outcome="success", actor=staff,
                     summary=f"{file} SHA-256 {file.sha256[:16]}…")
    logger.info("interbank outgoing file %s: %s records, %s yen", file.pk, file.record_count, file.total_amount)
    return file


def _nothing_to_send(day: dt.date) -> str:
    """NOTHING_TO_SEND, with the day's newest file: the one staff are to download when the
    other submit of a double click (or another staff member) made it."""
    made = InterbankOutgoingFile.objects.filter(business_day=day).order_by("-id").first()
    if made is None:
        return NOTHING_TO_SEND.format(day=japanese_date(day))
    return NOTHING_TO_SEND.format(day=japanese_date(day)) + ALREADY_MADE.format(
        file=made, at=f"{timezone.localtime(made.created_at):%H:%M}", staff=made.created_by)


def outgoing_file_download(*, file: InterbankOutgoingFile, staff: str) -> bytes:
    """The stored bytes (the same every time), audited."""
    content = bytes(file.content)
    audit_record(action="interbank_download", outcome="success", actor=staff, summary=str(file))
    return content


# --- 資金返却 -------------------------------------------------------------------------------


def outgoing_return(*, outgoing: OutgoingTransfer, reason: str, staff: str) -> InterbankReturn:
    """The receiving bank refused a sent transfer: credit the customer with what the
    為替決済 account holds for it (the amount the file carried; the fee is not returned,
    docs/interbank.md), mail them, audit it. Once per transfer."""
    with transaction.atomic():
        # this row only (``of``): the posting locks the accounts in id order (ledger_post), and
        # the customer's row is none of this return's (security.locks) — locked here with
        # the debit account, before the 為替決済 account, they closed a cycle with an incoming
        # credit to the same account (為替決済 first: the older id)
        locked = (OutgoingTransfer.objects.select_for_update(of=("self",))
                  .select_related("transfer__customer", "transfer__debit_account")
                  .get(pk=outgoing.pk))
        if locked.status != OutgoingTransfer.Status.SENT:
            raise TransferRefused(NOT_SENT)
        if InterbankReturn.objects.filter(outgoing=locked).exists():
            raise TransferRefused(ALREADY_RETURNED)
        transfer = locked.transfer
        label = InterbankReturn.Reason(reason).label
        description = f"{RETURN_DESCRIPTION} {locked.payee_kana}"[:64]
        try:
            journal = journal_post(
                lines=[PostingLine(settlement_account(), -locked.amount, f"振込資金返却 {label}"),
                       PostingLine(transfer.debit_account, locked.amount, description)],
                kind=Journal.Kind.TRANSFER, description=description,
                idempotency_key=f"interbank-return:{locked.pk}")
        except LedgerError as error:
            raise TransferRefused(RETURN_LEDGER.format(message=error.message)) from error
        returned = InterbankReturn.objects.create(outgoing=locked, reason=reason, amount=locked.amount,
                                                  journal=journal, created_by=staff)
        audit_record(action="interbank_return", outcome="success", actor=staff, customer=transfer.customer,
                     summary=f"振込 {reference_text(transfer.pk)} {locked.payee_kana} "
                             f"返却金額 {locked.amount:,}円 返却理由：{label}")
        notice_enqueue(customer=transfer.customer, event="transfer_returned", lines=[
            "お振込が振込先の金融機関から返却されたため、ご依頼人の口座にご入金しました。",
            "",
            f"振込日：{japanese_date(transfer.transfer_date)}",
            f"振込先：{payee_place(transfer.bank_name, transfer.branch_name)} {transfer.get_account_type_display()} "
            f"{account_number_masked(transfer.account_number)}",
            f"受取人名：{locked.payee_kana}",
            f"返却理由：{label}",
            f"返却金額：{locked.amount:,}円（振込手数料は返却されません）",
        ])
    return returned


# --- 被仕向 ---------------------------------------------------------------------------------


@dataclass
class IncomingResult:
    file: InterbankIncomingFile
    credited: int
    unapplied: int
    already_done: bool
    held: list[tuple[int, InterbankIncomingRecord]] = ()  # (line, the record of another file it repeats)
    held_large: list[tuple[int, int]] = ()  # (line, amount): above TRANSFERS_INCOMING_HOLD_ABOVE
    # records another upload of the file had handled when this one took the file's lock (a
    # double click, another staff member, an upload interrupted before the file was done)
    elsewhere: int = 0


def incoming_file_upload(*, data: bytes, filename: str, staff: str) -> IncomingResult:
    """Validate the whole file (ZenginFileError: nothing is stored or posted), then credit
    its records once each. The same bytes again post nothing; an interrupted upload
    repeated completes the rest."""
    if len(data) > MAX_FILE_BYTES:
        raise ZenginFileError(FILE_TOO_LARGE.format(limit=MAX_FILE_BYTES))
    try:
        parsed = file_read(data, bank_code=BANK_CODE)
    except ZenginFileError as error:
        audit_record(action="interbank_incoming", outcome="refused", actor=staff,
                     summary=f"{filename[:60]} {error.message[:120]}")
        raise
    # of the records, not the raw bytes: the same file with other line ends or its data
    # records in another order credits nothing again (walk25 F8)
    digest = file_identity(data)
    # a file stored before transfers 0017 is named by its records in file order
    file = InterbankIncomingFile.objects.filter(sha256=hashlib.sha256(file_canonical(data)).hexdigest()).first()
    if file is None:
        filename = "".join(char for char in filename if char.isprintable())[:200] or "upload.txt"
        InterbankIncomingFile.objects.bulk_create([InterbankIncomingFile(
            sha256=digest, filename=filename[:200], content=data, remitter_kana=parsed.header.requester_name[:40],
            sending_bank_code=parsed.header.bank_code, record_count=len(parsed.records),
            total_amount=parsed.total, uploaded_by=staff)], ignore_conflicts=True)
        file = InterbankIncomingFile.objects.get(sha256=digest)
    if file.status == InterbankIncomingFile.Status.DONE:
        return _incoming_already_done(file, staff)
    stored = bytes(file.content)
    if stored != data:
        # another copy (line ends, the records' order) of a file stored first: its lines are
        # the stored file's, so a record is never handled under two line numbers
        parsed = file_read(stored, bank_code=BANK_CODE)
    credited = unapplied = elsewhere = 0
    held, held_large = [], []
    for (line, record), key in zip(parsed.records, record_keys(parsed), strict=True):
        with transaction.atomic():
            locked = InterbankIncomingFile.objects.select_for_update().get(pk=file.pk)
            if locked.records.filter(line=line).exists():
                elsewhere += 1
                continue
            row, earlier = _incoming_record(locked, line, record, key)
            credited += row.status == InterbankIncomingRecord.Status.CREDITED
            unapplied += row.status == InterbankIncomingRecord.Status.UNAPPLIED
            if earlier is not None:
                held.append((line, earlier))
            elif row.status == InterbankIncomingRecord.Status.HELD:
                held_large.append((line, row.amount))
    if parsed.records and elsewhere == len(parsed.records):
        # probe35 F3: every record was handled by another upload when this one took the
        # file's lock — the others of a double click had waited there and then reported
        # 「取り込みました：入金 0件」 as a success, which read as a failed credit
        with transaction.atomic():
            InterbankIncomingFile.objects.filter(pk=file.pk).update(status=InterbankIncomingFile.Status.DONE)
            return _incoming_already_done(file, staff)
    with transaction.atomic():
        InterbankIncomingFile.objects.filter(pk=file.pk).update(status=InterbankIncomingFile.Status.DONE)
        audit_record(action="interbank_incoming", outcome="success", actor=staff,
                     summary=f"{file} 入金{credited}件 入金不能{unapplied}件 入金保留{len(held) + len(held_large)}件"
                             + (f"（他の取込で処理済み{elsewhere}件）" if elsewhere else ""))
    file.refresh_from_db()
    return IncomingResult(file=file, credited=credited, unapplied=unapplied, already_done=False, held=held,
                          held_large=held_large, elsewhere=elsewhere)


def _incoming_already_done(file: InterbankIncomingFile, staff: str) -> IncomingResult:
    """This upload credited nothing: every record of the file was handled before (its
    status 取込済, or the others of a double click handled them all first)."""
    audit_record(action="interbank_incoming", outcome="refused", actor=staff,
                 summary=f"{file} 取込済みのファイル（入金なし）")
    file.refresh_from_db()
    return IncomingResult(file=file, credited=0, unapplied=0, already_done=True)


def _names_match(expected: str, holder: str) -> bool:
    return zengin_normalize(expected).replace(" ", "") == zengin_normalize(holder).replace(" ", "")


def _unapplied_reason(account: Account | None, record: DataRecord) -> str:
    if account is None:
        return NO_ACCOUNT
    if account.purpose != Account.Purpose.CUSTOMER:
        return NOT_CUSTOMER
    if account.status == Account.Status.CLOSED:
        return ACCOUNT_CLOSED
    if account.status != Account.Status.OPEN:
        return ACCOUNT_FROZEN
    if not _names_match(record.payee_kana, account.holder_kana):
        return NAME_MISMATCH
    return ""


def _named_account(branch_code: str, account_type: str, number: str) -> Account | None:
    return Account.objects.filter(branch__code=branch_code, type=account_type, number=number).first()


def _same_elsewhere(file: InterbankIncomingFile, line: int, key: str) -> InterbankIncomingRecord | None:
    """The record of another file (or line) that is the same 為替 (not returned), under a
    lock on the identity: two files uploaded at once do not both credit it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"interbank-in:{key}"])
    return (InterbankIncomingRecord.objects.filter(record_key=key).exclude(file=file, line=line)
            .exclude(status=InterbankIncomingRecord.Status.RETURNED).order_by("id").first())


def _credit(file: InterbankIncomingFile, line: int, account: Account, amount: int) -> Journal:
    remitter = file.remitter_kana or "ﾌﾘｺﾐ"
    return journal_post(
        lines=[PostingLine(settlement_account(), -amount, f"被仕向 第{file.pk}号 {line}行目"),
               PostingLine(account, amount, f"振込入金 {remitter}"[:64])],
        kind=Journal.Kind.TRANSFER, description=f"振込入金 {remitter}"[:64],
        idempotency_key=f"interbank-in:{file.sha256}:{line}")


def _incoming_record(file: InterbankIncomingFile, line: int, record: DataRecord,
                     key: str) -> tuple[InterbankIncomingRecord, InterbankIncomingRecord | None]:
    """The record handled: credited, 入金不能, or 入金保留 — with the record of another file it
    repeats, or (none) above settings.TRANSFERS_INCOMING_HOLD_ABOVE: a file can name any
    amount up to 10桁, and a mistyped or forged one credited at once was for good (walk27 F3)."""
    account = _named_account(record.branch_code, record.account_type, record.account_number)
    reason = _unapplied_reason(account, record)
    earlier = _same_elsewhere(file, line, key)
    row = InterbankIncomingRecord(file=file, line=line, branch_code=record.branch_code,
                                  account_type=record.account_type, account_number=record.account_number,
                                  payee_kana=record.payee_kana, amount=record.amount, record_key=key,
                                  account=account if not reason or reason == NAME_MISMATCH else None)
    status = InterbankIncomingRecord.Status.UNAPPLIED
    limit = settings.TRANSFERS_INCOMING_HOLD_ABOVE
    if earlier is not None:
        status, reason = InterbankIncomingRecord.Status.HELD, HELD_SAME.format(file=earlier.file_id, line=earlier.line)
    elif not reason and record.amount > limit:
        status, reason = InterbankIncomingRecord.Status.HELD, HELD_LARGE.format(limit=limit)
    elif not reason:
        try:
            row.journal = _credit(file, line, account, record.amount)
            status = InterbankIncomingRecord.Status.CREDITED
        except LedgerError as error:  # closed or frozen between the check and the lock
            reason = error.message[:64]
    row.status, row.reason = status, reason[:64]
    row.save(force_insert=True)
    if reason:
        audit_record(action="interbank_incoming", outcome="failure", actor=file.uploaded_by,
                     summary=f"{file.pk}-{line} {record.branch_code}-{record.account_number} "
                             f"{row.get_status_display()} {reason}")
    return row, earlier


# what 返却済にする takes: a record nothing was credited for
RETURNABLE = (InterbankIncomingRecord.Status.UNAPPLIED, InterbankIncomingRecord.Status.HELD)


def incoming_record_return(*, record: InterbankIncomingRecord, staff: str, reason: str) -> InterbankIncomingRecord:
    """Mark a 入金不能 record returned to the remitting bank (nothing was credited, so
    nothing posts here: the money goes back on the interbank side). ``reason``: the 返却理由
    staff typed on the confirm page (walk29 F1), kept on the record with the time the
    database stamps (walk30 F4) and in the audit row."""
    reason = reason.strip()
    if not reason:
        raise TransferRefused(RETURN_REASON_REQUIRED)
    with transaction.atomic():
        locked = InterbankIncomingRecord.objects.select_for_update().get(pk=record.pk)
        if locked.status not in RETURNABLE:
            raise TransferRefused(RECORD_NOT_UNAPPLIED)
        locked.status, locked.returned_by, locked.return_reason = (
            InterbankIncomingRecord.Status.RETURNED, staff, reason)
        locked.save(update_fields=["status", "returned_by", "return_reason"])
        locked.refresh_from_db(fields=["returned_at"])  # the database's clock (transfers 0038)
        audit_record(action="interbank_incoming_return", outcome="success", actor=staff,
                     summary=f"{locked} {locked.reason} 返却理由：{reason}")
    return locked


def incoming_record_release_problem(record: InterbankIncomingRecord) -> str:
    """Why the held ``record`` cannot be credited as it stands ('' when it can): the account
    it names checked again as on upload — closed, frozen, or another holder's name (名義相違).
    ``incoming_record_release`` refuses with it; the confirm page says it before staff press
    「入金する」 (walk32 F2)."""
    account = _named_account(record.branch_code, record.account_type, record.account_number)
    return _unapplied_reason(account, DataRecord(
        bank_code=BANK_CODE, bank_kana="", branch_code=record.branch_code, branch_kana="",
        account_type=record.account_type, account_number=record.account_number, payee_kana=record.payee_kana))


def incoming_record_release(*, record: InterbankIncomingRecord, staff: str) -> InterbankIncomingRecord:
    """入金保留 → credited: staff checked with the sending bank that the record is a payment of
    its own (the same payer, payee, amount and day again), not the same 為替 sent twice. The
    account is checked again as on upload; the journal is the one the upload would have posted
    (key ``interbank-in:<file>:<line>``)."""
    with transaction.atomic():
        locked = InterbankIncomingRecord.objects.select_for_update().select_related("file").get(pk=record.pk)
        if locked.status != InterbankIncomingRecord.Status.HELD:
            raise TransferRefused(RECORD_NOT_HELD)
        reason = incoming_record_release_problem(locked)
        if reason:
            raise TransferRefused(RELEASE_REFUSED.format(reason=reason))
        account = _named_account(locked.branch_code, locked.account_type, locked.account_number)
        try:
            journal = _credit(locked.file, locked.line, account, locked.amount)
        except LedgerError as error:
            raise TransferRefused(RELEASE_REFUSED.format(reason=error.message)) from error
        released = locked.reason
        locked.status, locked.journal, locked.account, locked.reason = (
            InterbankIncomingRecord.Status.CREDITED, journal, account, "")
        locked.released_by = staff
        locked.save(update_fields=["status", "journal", "account", "reason", "released_by"])
        locked.refresh_from_db(fields=["released_at"])  # the database's clock (transfers 0038)
        audit_record(action="interbank_incoming_release", outcome="success", actor=staff,
                     summary=f"{locked} 入金保留を解除（{released}）")
    return locked
