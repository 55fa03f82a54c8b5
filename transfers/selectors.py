"""Reads of the transfers app: the bank directory's kana screens, payees, limits, and what
/health/ counts."""

from __future__ import annotations

import datetime as dt

import jaconv
from django.conf import settings
from django.db import connection
from django.db.models import CharField, F, Func, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import Customer
from cosei_ib.textinput import normalise_digits

from .banks import KANA_ROWS
from .models import (RETURN_RELATED, Bank, BankBranch, InterbankOutgoingFile, InterbankOutgoingItem,
                     OutgoingTransfer, Payee, Transfer, TransferLimit,
                     TransferSettings)

SEARCH_MAX = 100


# Zengin writes names without small kana (イケダセンシユウ, ユウチヨ): a query folds them too
_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
# what customers type after the name, which the list shows as the bank's type (walk30 F1):
# 「みずほ銀行」 is the bank named みずほ, 「貝塚支店」 the branch 貝塚; readings in katakana
# (the kana query is katakana)
_TYPE_WORDS = ("銀行", "信用金庫", "信金", "信用組合", "信組", "労働金庫", "労金", "農業協同組合", "農協",
               "漁業協同組合", "漁協", "ギンコウ", "シンヨウキンコ", "シンキン", "シンヨウクミアイ", "シンクミ",
               "ロウドウキンコ", "ロウキン", "ノウギヨウキヨウドウクミアイ", "ノウキヨウ",
               # and after a branch's name, which Zengin writes bare (貝塚, not 貝塚支店)
               "支店", "シテン")
# full-width letters and digits of the stored names (三菱ＵＦＪ, ＰａｙＰａｙ) compared as ASCII,
# in any letter case: PostgreSQL's upper() does not fold full-width letters in every locale
_FULL_WIDTH_ALNUM = "".join(chr(code) for code in range(0xFF10, 0xFF1A)) + "".join(
    chr(code) for code in range(0xFF21, 0xFF3B)) + "".join(chr(code) for code in range(0xFF41, 0xFF5B))
_ASCII_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _without_type(text: str) -> str:
    for word in _TYPE_WORDS:
        if text.endswith(word) and len(text) > len(word):
            return text[: -len(word)]
    return text


def _kana_query(text: str) -> str:
    """What a customer types (hiragana, half-width kana, small kana) as the full-width
    katakana of Zengin's names, without a trailing 銀行／ぎんこう … (walk30 F1)."""
    return _without_type(jaconv.h2z(jaconv.hira2kata(text), kana=True, ascii=False, digit=False)
                         .translate(_SMALL_KANA))


def _name_condition(query: str) -> Q:
    """Part of the name, as typed (kanji, full- or half-width letters, any case), without a
    trailing 銀行／信用金庫 …; and the kana, where ズ also finds Zengin's ヅ (かいずか, カイヅカ)."""
    name = _without_type(jaconv.z2h(query, kana=False, ascii=True, digit=True))
    kana = _kana_query(query)
    condition = Q(name_ascii__icontains=name) | Q(kana__contains=kana)
    for plain, zengin in (("ズ", "ヅ"), ("ジ", "ヂ")):
        if plain in kana:
            condition |= Q(kana__contains=kana.replace(plain, zengin))
    return condition


def featured_banks() -> QuerySet[Bank]:
    return Bank.objects.filter(featured_order__gt=0).order_by("featured_order")


def _kana_or_search(queryset, *, row: str, letter: str, query: str, code_digits: int):
    """Filter by part of the name (kanji, kana or hiragana) or the code when ``query`` is
    given, else by the kana letter or row; None when nothing was asked."""
    query = query.strip()[:30]
    if query:
        condition = _name_condition(query)
        digits = normalise_digits(query)  # 「００１」 is the code 001 (XFER-9: full-width accepted)
        if digits.isascii() and digits.isdigit() and len(digits) <= code_digits:
            condition |= Q(code=digits.zfill(code_digits))
        named = queryset.annotate(name_ascii=Func(F("name"), Value(_FULL_WIDTH_ALNUM), Value(_ASCII_ALNUM),
                                                  function="translate", output_field=CharField()))
        return named.filter(condition).order_by("kana")[:SEARCH_MAX]
    if letter and any(letter in initials for initials in KANA_ROWS.values()):
        return queryset.filter(initial=letter).order_by("kana")
    if row in KANA_ROWS:
        return queryset.filter(initial__in=list(KANA_ROWS[row])).order_by("kana")
    return None


def bank_search(*, bank_type: str = "", row: str = "", letter: str = "", query: str = "") -> QuerySet[Bank] | None:
    """Banks for the 金融機関の選択 screen: by type and kana row/letter, or by part of the
    name or the 4-digit code. None when nothing was asked."""
    banks = Bank.objects.filter(type=bank_type) if bank_type in Bank.Type.values else Bank.objects.all()
    return _kana_or_search(banks, row=row, letter=letter, query=query, code_digits=4)


def _zengin_code(code: str, digits: int) -> str:
    """A bank (4) or branch (3) code from a URL: exactly that many ASCII digits, else 404
    before any query — PostgreSQL refuses NUL in a text parameter (a DataError, a 500),
    and 「０１６１」 or 9×5000 name no bank either."""
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        raise Http404("not a Zengin code")
    return code


def bank_get(code: str) -> Bank:
    bank = Bank.objects.filter(code=_zengin_code(code, 4)).first()
    if bank is None:
        raise Http404("no such bank")
    return bank


def branch_search(*, bank: Bank, row: str = "", letter: str = "", query: str = "") -> QuerySet[BankBranch] | None:
    """Branches by kana row/letter or name part / 3-digit code; a small bank lists all."""
    found = _kana_or_search(bank.branches.all(), row=row, letter=letter, query=query, code_digits=3)
    if found is None and bank.branches.count() <= 20:
        return bank.branches.order_by("kana")
    return found


def branch_get(bank: Bank, code: str) -> BankBranch:
    branch = bank.branches.filter(code=_zengin_code(code, 3)).first()
    if branch is None:
        raise Http404("no such branch")
    return branch


def payee_list_for_customer(*, customer: Customer) -> QuerySet[Payee]:
    return Payee.objects.filter(customer=customer).order_by("created_at", "id")


def payee_get_for_customer(customer: Customer, payee_id) -> Payee:
    try:
        return payee_list_for_customer(customer=customer).get(pk=int(payee_id))
    except (TypeError, ValueError, Payee.DoesNotExist):
        raise Http404("no such payee") from None


def transfer_get_for_customer(customer: Customer, transfer_id) -> Transfer:
    try:
        return (Transfer.objects.select_related("debit_account__branch", RETURN_RELATED)
                .get(pk=int(transfer_id), customer=customer))
    except (TypeError, ValueError, Transfer.DoesNotExist):
        raise Http404("no such transfer") from None


def bank_max_daily_limit() -> int:
    """The bank maximum of the daily limit: 振込の設定 in admin, else the setting."""
    row = TransferSettings.objects.filter(pk=1).first()
    return row.bank_max_daily_limit if row else settings.TRANSFERS_BANK_MAX_DAILY_LIMIT


def customers_above_limit_count(maximum: int) -> int:
    """How many customers a bank maximum of ``maximum`` would lower (walk25 F27): their
    limit, or the raise they await, is above it — customers without a row have the default."""
    rows = TransferLimit.objects.filter(Q(daily_limit__gt=maximum) | Q(pending_limit__gt=maximum)).count()
    if settings.TRANSFERS_DEFAULT_DAILY_LIMIT > maximum:
        rows += Customer.objects.filter(transfer_limit__isnull=True).count()
    return rows


def default_daily_limit() -> int:
    """The limit a customer has chosen before changing it: the bank's default. The bank
    maximum caps it where a limit applies (``daily_limit_in_force``), not here: a limit row
    made at a customer's first transfer keeps the default as their choice, which counts
    again in full when the maximum rises, as a choice of their own does (walk26 F6)."""
    return settings.TRANSFERS_DEFAULT_DAILY_LIMIT


def transfer_limits_with_maximum() -> QuerySet[TransferLimit]:
    """Limit rows, each with the bank maximum as ``bank_maximum`` — read in the same query
    (the confirm POST's statement budget, issue 14)."""
    maximum = TransferSettings.objects.filter(pk=1).values("bank_max_daily_limit")
    return TransferLimit.objects.annotate(
        bank_maximum=Coalesce(Subquery(maximum), Value(settings.TRANSFERS_BANK_MAX_DAILY_LIMIT)))


def daily_limit_in_force(limit: TransferLimit | None, day: dt.date, *, maximum: int | None = None) -> int:
    """The limit of ``day``: the customer's (or the default), never above the bank maximum
    — staff who lower the maximum lower every limit above it at once. The maximum is the
    row's ``bank_maximum`` (transfer_limits_with_maximum) unless given, else read."""
    if maximum is None:
        maximum = getattr(limit, "bank_maximum", None)
    if maximum is None:
        maximum = bank_max_daily_limit()
    own = limit.limit_on(day) if limit is not None else default_daily_limit()
    return min(own, maximum)


# the transfers counted against a day's limit (XFER-8): executed, or booked for the day
DAY_TOTAL_STATUSES = (Transfer.Status.EXECUTED.value, Transfer.Status.SCHEDULED.value)


def transfer_day_total(*, customer: Customer, day: dt.date) -> int:
    """振込金額 of the customer's transfers counted against the limit of ``day``."""
    return (Transfer.objects.filter(customer=customer, transfer_date=day, status__in=DAY_TOTAL_STATUSES)
            .aggregate(total=Sum("amount"))["total"] or 0)


def transfer_limit_view(*, customer: Customer, today: dt.date) -> dict:
    """The 利用限度額変更 page's figures: in force today, the customer's own choice (capped
    when above the bank maximum), and a raise waiting for tomorrow."""
    limit = transfer_limits_with_maximum().filter(customer=customer).first()
    maximum = limit.bank_maximum if limit is not None else bank_max_daily_limit()
    current = daily_limit_in_force(limit, today, maximum=maximum)
    pending = None
    if limit and limit.pending_limit is not None and limit.pending_from > today:
        # never announce a raise above the bank maximum (staff lowered it meanwhile)
        amount = min(limit.pending_limit, maximum)
        if amount > current:
            pending = {"amount": amount, "from": limit.pending_from}
    used = transfer_day_total(customer=customer, day=today)
    # the customer's own choice, above what is in force when the bank maximum caps it
    # (walk26 F6): the page says so, and the same figure typed again lowers the choice
    chosen = limit.limit_on(today) if limit is not None else default_daily_limit()
    return {"current": current, "pending": pending, "maximum": maximum, "chosen": chosen,
            "capped": chosen > current, "used": used, "rest": max(current - used, 0)}


# --- 予約振込 (XFER-5, XFER-6) ----------------------------------------------------------------

SCHEDULED_HISTORY_MAX = 100


def scheduled_list_for_customer(*, customer: Customer) -> QuerySet[Transfer]:
    """振込予約取消: the customer's transfers still waiting, by date."""
    return (Transfer.objects.filter(customer=customer, status=Transfer.Status.SCHEDULED)
            .select_related("debit_account__branch").order_by("transfer_date", "created_at", "id"))


def scheduled_history_for_customer(*, customer: Customer) -> QuerySet[Transfer]:
    """予約状況: the customer's scheduled transfers that are done with (振込済, 未処理 with
    its reason, 取消済), newest date first; a scheduled one was accepted before its date."""
    return (Transfer.objects.filter(customer=customer, created_at__date__lt=F("transfer_date"))
            .exclude(status=Transfer.Status.SCHEDULED)
            .select_related("debit_account__branch", RETURN_RELATED)
            .order_by("-transfer_date", "-created_at", "-id")[:SCHEDULED_HISTORY_MAX])


def closing_day_impact(day: dt.date) -> tuple[int, int]:
    """What a new 臨時休業日 on ``day`` meets (STAFF-1, XFER-5, XFER-12): the 予約中 transfers
    dated ``day`` and the 未送信 records to other banks that settle on it."""
    scheduled = Transfer.objects.filter(status=Transfer.Status.SCHEDULED, transfer_date=day).count()
    outgoing = OutgoingTransfer.objects.filter(status=OutgoingTransfer.Status.PENDING, settlement_date=day).count()
    return scheduled, outgoing


def overdue_counts(today: dt.date) -> tuple[int, int, int]:
    """What /health/ reports (cosei_ib.views.health), in one query on the two partial or
    status indexes: the 予約中 transfers dated before ``today`` — the 0:05 batch pays each
    on its date, so any such transfer means the batch did not run or skipped it (dbprobe26
    F12) — the 未送信 records to other banks that settle before ``today`` — the day's
    仕向 file carries each on its 決済日, so any such record is money held in 為替決済
    that no file took (dbprobe27 F3: a record dated far ahead or back; the file not made) —
    and the 送信済 records in a file of another 決済日 than theirs: a file nobody
    transmits can carry them (dbprobe28 F6; transfers 0029 refuses a new one, CI227)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {Transfer._meta.db_table} WHERE status = %s AND transfer_date < %s),"
            f" (SELECT count(*) FROM {OutgoingTransfer._meta.db_table} WHERE status = %s AND settlement_date < %s),"
            f" (SELECT count(*) FROM {OutgoingTransfer._meta.db_table} o"
            f"    JOIN {InterbankOutgoingItem._meta.db_table} i ON i.outgoing_id = o.id"
            f"    JOIN {InterbankOutgoingFile._meta.db_table} f ON f.id = i.file_id"
            f"   WHERE f.business_day <> o.settlement_date)",
            [Transfer.Status.SCHEDULED, today, OutgoingTransfer.Status.PENDING, today])
        scheduled, outgoing, misfiled = cursor.fetchone()
    return scheduled, outgoing, misfiled
