"""振込 (XFER): the Zengin bank directory, fees, limits, payees and transfers.

Money never moves here: a transfer's posting is one ``journal_post`` (LEDGER-3); these rows
record what was confirmed and what the ledger did with it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Customer, Journal
from accounts.templatetags.accounts_format import japanese_date

ACCOUNT_TYPE_CHOICES = Account.Type.choices


class Bank(models.Model):
    """A financial institution of the Zengin code list (XFER-2), loaded by
    ``manage.py zengin_load`` from the ``zengin-code`` package."""

    class Type(models.TextChoices):
        BANK = "bank", "銀行"
        SHINKIN = "shinkin", "信用金庫"
        SHINKUMI = "shinkumi", "信用組合"
        ROKIN = "rokin", "労働金庫"
        NOKYO = "nokyo", "農協・漁協"
        OTHER = "other", "その他"

    code = models.CharField("金融機関コード", max_length=4, unique=True)
    name = models.CharField("金融機関名", max_length=64)
    kana = models.CharField("金融機関名（カナ）", max_length=64)
    type = models.CharField("種類", max_length=16, choices=Type.choices)
    # 頭文字: the first kana without its voicing mark (ガ → カ), for the kana index
    initial = models.CharField("頭文字", max_length=1)
    # 0 = not featured; 1, 2 … = order among the banks shown first (ours, the majors)
    featured_order = models.PositiveSmallIntegerField("優先表示順", default=0)

    class Meta:
        ordering = ["kana", "code"]
        verbose_name = "金融機関"
        verbose_name_plural = "金融機関"
        indexes = [models.Index(fields=["type", "initial", "kana"], name="bank_kana_index")]

    def __str__(self) -> str:
        return f"{self.code} {self.display_name}"

    @property
    def display_name(self) -> str:
        return self.name + ("銀行" if self.type == self.Type.BANK and not self.name.endswith("銀行") else "")


class BankBranch(models.Model):
    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="branches",
                             verbose_name="金融機関")
    code = models.CharField("店番", max_length=3)
    name = models.CharField("支店名", max_length=64)
    kana = models.CharField("支店名（カナ）", max_length=64)
    initial = models.CharField("頭文字", max_length=1)

    class Meta:
        ordering = ["kana", "code"]
        verbose_name = "支店（全銀）"
        verbose_name_plural = "支店（全銀）"
        constraints = [models.UniqueConstraint(fields=["bank", "code"], name="bank_branch_code_unique")]
        indexes = [models.Index(fields=["bank", "initial", "kana"], name="branch_kana_index")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


# Sanity bounds of a fee row (walk24, dbprobe25 F9): a bank's fee is hundreds of yen, the
# 金額区分 tens of thousands. The admin form says them field by field; the database holds
# them (fee_schedule_within_caps), since a row in force is never changed (CI203) and an
# absurd one would refuse every transfer until the next day's row.
FEE_MAX = 10_000
THRESHOLD_MAX = 100_000_000


class FeeSchedule(models.Model):
    """振込手数料 (XFER-4): one row per effective date; the row in force on a transfer's
    date applies, so a change never alters a transfer already confirmed."""

    effective_from = models.DateField("適用開始日", unique=True)
    threshold = models.BigIntegerField("金額区分（この金額以上は高い方）", default=30_000)
    same_branch_under = models.BigIntegerField("同一店宛 金額区分未満", default=0)
    same_branch_over = models.BigIntegerField("同一店宛 金額区分以上", default=0)
    other_branch_under = models.BigIntegerField("当金庫本支店宛 金額区分未満", default=110)
    other_branch_over = models.BigIntegerField("当金庫本支店宛 金額区分以上", default=220)
    other_bank_under = models.BigIntegerField("他行宛 金額区分未満", default=330)
    other_bank_over = models.BigIntegerField("他行宛 金額区分以上", default=550)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = "振込手数料"
        verbose_name_plural = "振込手数料"
        permissions = [("manage_fees", "振込手数料を登録・変更できる")]
        constraints = [
            models.CheckConstraint(
                condition=Q(threshold__gt=0, same_branch_under__gte=0, same_branch_over__gte=0,
                            other_branch_under__gte=0, other_branch_over__gte=0,
                            other_bank_under__gte=0, other_bank_over__gte=0),
                name="fee_schedule_not_negative",
                violation_error_message="金額区分は1円以上、手数料は0円以上で入力してください。",
            ),
            models.CheckConstraint(
                condition=Q(threshold__lte=THRESHOLD_MAX, same_branch_under__lte=FEE_MAX,
                            same_branch_over__lte=FEE_MAX, other_branch_under__lte=FEE_MAX,
                            other_branch_over__lte=FEE_MAX, other_bank_under__lte=FEE_MAX,
                            other_bank_over__lte=FEE_MAX),
                name="fee_schedule_within_caps",
                violation_error_message=f"手数料は{FEE_MAX:,}円以下、金額区分は{THRESHOLD_MAX:,}円以下で入力してください。",
            ),
        ]

    def __str__(self) -> str:
        return f"{japanese_date(self.effective_from)}から"  # as every date staff and customers read (UI-1)


# XFER-8 (walk25 F27): the bank maximum caps every customer's daily limit at once, so a
# typo (100 for 10000000) stops every customer's transfers. The admin form says the range;
# the database holds it (bank_max_limit_within_bounds), as the app's role could set 1.
BANK_MAX_MIN = 100_000
BANK_MAX_MAX = 1_000_000_000


class TransferSettings(models.Model):
    """Bank-wide transfer settings staff may change (one row, pk=1)."""

    bank_max_daily_limit = models.BigIntegerField("1日の利用限度額の上限（金庫所定）", default=10_000_000)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "振込の設定"
        verbose_name_plural = "振込の設定"
        permissions = [("manage_transfer_limit", "利用限度額の上限を変更できる")]
        constraints = [models.CheckConstraint(condition=Q(bank_max_daily_limit__gt=0),
                                              name="bank_max_limit_positive",
                                              violation_error_message="利用限度額の上限は1円以上で入力してください。"),
                       models.CheckConstraint(
                           condition=Q(bank_max_daily_limit__gte=BANK_MAX_MIN, bank_max_daily_limit__lte=BANK_MAX_MAX),
                           name="bank_max_limit_within_bounds",
                           violation_error_message=(f"1日の利用限度額の上限は{BANK_MAX_MIN:,}円以上、"
                                                    f"{BANK_MAX_MAX:,}円以下で入力してください。"))]

    def __str__(self) -> str:
        return f"利用限度額の上限 {self.bank_max_daily_limit:,}円"


class TransferLimit(models.Model):
    """利用限度額 (XFER-8) of one customer. Its row is also the customer's transfer lock:
    every transfer, limit change and name look-up of the customer takes it FOR UPDATE, so
    the day's total and the look-up count are checked and counted one at a time."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="transfer_limit",
                                    verbose_name="契約者")
    daily_limit = models.BigIntegerField("1日の利用限度額")
    # a raise waits until 0:00 of pending_from (a stolen session cannot raise and spend)
    pending_limit = models.BigIntegerField("変更後の限度額", null=True, blank=True)
    pending_from = models.DateField("変更後の適用日", null=True, blank=True)
    updated_at = models.DateTimeField("更新日時", auto_now=True)

    class Meta:
        verbose_name = "利用限度額"
        verbose_name_plural = "利用限度額"
        constraints = [
            models.CheckConstraint(condition=Q(daily_limit__gte=0), name="transfer_limit_not_negative"),
            models.CheckConstraint(
                condition=Q(pending_limit__isnull=True, pending_from__isnull=True)
                | Q(pending_limit__gte=0, pending_from__isnull=False),
                name="transfer_limit_pending_complete",
            ),
        ]

    def limit_on(self, day: dt.date) -> int:
        if self.pending_limit is not None and self.pending_from <= day:
            return self.pending_limit
        return self.daily_limit


class PayeeAccountFields(models.Model):
    """Where the money goes: the payee's account as the customer confirmed it (shared by
    registered payees and transfers)."""

    bank_code = models.CharField("金融機関コード", max_length=4)
    bank_name = models.CharField("金融機関名", max_length=64)
    branch_code = models.CharField("店番", max_length=3)
    branch_name = models.CharField("支店名", max_length=64)
    account_type = models.CharField("科目", max_length=1, choices=ACCOUNT_TYPE_CHOICES)
    account_number = models.CharField("口座番号", max_length=7)
    holder_kana = models.CharField("受取人名（カナ）", max_length=48)

    class Meta:
        abstract = True


class Payee(PayeeAccountFields):
    """振込先口座 (XFER-7): at most 99 per customer (counted under the customer's lock)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payees",
                                 verbose_name="契約者")
    nickname = models.CharField("登録名", max_length=30, blank=True)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "登録振込先"
        verbose_name_plural = "登録振込先"
        constraints = [
            models.UniqueConstraint(fields=["customer", "bank_code", "branch_code", "account_type",
                                            "account_number"], name="payee_unique_per_customer"),
            models.CheckConstraint(condition=Q(account_number__regex=r"^[0-9]{7}$"),
                                   name="payee_number_7_digits"),
        ]

    def __str__(self) -> str:
        return self.nickname or self.holder_kana

    @property
    def label(self) -> str:
        return self.nickname or self.holder_kana


# Dates and times Python can load (dbprobe26 F4/F6): no BC date, no infinity.
YEAR_FIRST = dt.date(1900, 1, 1)
YEAR_LAST = dt.date(9999, 12, 31)
TIME_FIRST = dt.datetime(1900, 1, 2, tzinfo=dt.UTC)
TIME_LAST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


def _time_loadable(field: str, *, nullable: bool) -> Q:
    within = Q(**{f"{field}__gte": TIME_FIRST, f"{field}__lte": TIME_LAST})
    return Q(**{f"{field}__isnull": True}) | within if nullable else within


class Transfer(PayeeAccountFields):
    """One confirmed transfer. ``transfer_date`` is today for a same-day transfer (posted
    at once, status executed); a later date is the scheduled transfer of XFER-5."""

    class Status(models.TextChoices):
        EXECUTED = "executed", "振込済"
        SCHEDULED = "scheduled", "予約中"
        UNPROCESSED = "unprocessed", "未処理"
        CANCELLED = "cancelled", "取消済"

    class Reason(models.TextChoices):
        """Why a scheduled transfer became 未処理 (issue 9)."""
        INSUFFICIENT_FUNDS = "insufficient_funds", "残高不足"
        OVER_LIMIT = "over_limit", "限度額超過"
        ACCOUNT_CLOSED = "account_closed", "口座解約"
        ACCOUNT_FROZEN = "account_frozen", "口座お取引停止"
        PAYEE_UNAVAILABLE = "payee_unavailable", "振込先口座お取扱不可"
        # the ledger refused the posting for a reason of the bank's own (its key already
        # taken by another journal, CI005: dbprobe25 F4) — the transfer alone, not the batch
        POSTING_REFUSED = "posting_refused", "当金庫でのお取扱不可（お問い合わせください）"

    class Route(models.TextChoices):
        SAME_BRANCH = "same_branch", "同一店宛"
        OTHER_BRANCH = "other_branch", "当金庫本支店宛"
        OTHER_BANK = "other_bank", "他行宛"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="transfers",
                                 verbose_name="契約者")
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                      verbose_name="引落口座")
    # our bank: the payee's ledger account (null for other banks)
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+",
                                       null=True, blank=True, verbose_name="入金口座（当金庫）")
    payee = models.ForeignKey(Payee, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="transfers", verbose_name="登録振込先")
    route = models.CharField("区分", max_length=16, choices=Route.choices)
    amount = models.BigIntegerField("振込金額")
    fee = models.BigIntegerField("手数料")
    fee_borne_by_payee = models.BooleanField("先方負担", default=False)
    fee_schedule = models.ForeignKey(FeeSchedule, on_delete=models.PROTECT, related_name="+",
                                     verbose_name="適用手数料表")
    sender_name = models.CharField("依頼人名", max_length=48)
    transfer_date = models.DateField("振込日")
    status = models.CharField("状態", max_length=16, choices=Status.choices)
    # the step-up that confirmed it: one confirmation, one transfer (SEC-14)
    stepup_id = models.UUIDField("確認ID", unique=True)
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name="仕訳")
    created_at = models.DateTimeField("受付日時", auto_now_add=True)
    executed_at = models.DateTimeField("実行日時", null=True, blank=True)
    # issue 9: why a scheduled transfer was not executed, and when it was cancelled
    unprocessed_reason = models.CharField("未処理の理由", max_length=32, choices=Reason.choices, blank=True)
    cancelled_at = models.DateTimeField("取消日時", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "振込"
        verbose_name_plural = "振込"
        indexes = [
            models.Index(fields=["customer", "transfer_date", "status"], name="transfer_day_idx"),
            # the batch's claim order (transfers/scheduled.py), only over what waits
            models.Index(fields=["transfer_date", "created_at", "id"], name="transfer_scheduled_due_idx",
                         condition=Q(status="scheduled")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="transfer_fee_not_negative"),
            models.CheckConstraint(condition=Q(fee_borne_by_payee=False) | Q(amount__gt=models.F("fee")),
                                   name="transfer_payee_fee_below_amount"),
            models.CheckConstraint(condition=~Q(status="executed") | Q(journal__isnull=False),
                                   name="transfer_executed_has_journal"),
            # dbprobe26 F4: a row the batch can post and load (transfers 0020)
            models.CheckConstraint(condition=Q(route__in=["same_branch", "other_branch", "other_bank"]),
                                   name="transfer_route_known"),
            models.CheckConstraint(condition=Q(route="other_bank", credit_account__isnull=True)
                                   | Q(route__in=["same_branch", "other_branch"], credit_account__isnull=False),
                                   name="transfer_credit_account_by_route"),
            models.CheckConstraint(condition=Q(bank_code__regex=r"^[0-9]{4}$", branch_code__regex=r"^[0-9]{3}$",
                                               account_number__regex=r"^[0-9]{7}$",
                                               account_type__in=["1", "2", "4"]),
                                   name="transfer_payee_codes_digits"),
            models.CheckConstraint(condition=Q(transfer_date__gte=YEAR_FIRST, transfer_date__lte=YEAR_LAST)
                                   & _time_loadable("created_at", nullable=False)
                                   & _time_loadable("executed_at", nullable=True)
                                   & _time_loadable("cancelled_at", nullable=True),
                                   name="transfer_times_loadable"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.holder_kana} {self.amount:,}円"

    def interbank_returned(self) -> InterbankReturn | None:
        """The 振込資金返却 of a transfer to another bank the receiving bank refused (XFER-12),
        or None. Its status stays 振込済 (the transfer was made; the return is a record of
        its own, transfers 0007 keep an executed transfer's result): what staff and the
        customer read is derived from it (``status_label``). Lists select_related
        ``outgoing__interbank_return`` (RETURN_RELATED)."""
        if self.route != self.Route.OTHER_BANK or self.status != self.Status.EXECUTED:
            return None
        try:
            return self.outgoing.interbank_return
        except ObjectDoesNotExist:
            return None

    def status_text(self, *, with_reason: bool = True) -> str:
        """「振込済」, 「未処理（残高不足）」, 「振込済（資金返却：名義相違、2026年12月7日）」: the
        status as the customer's pages and admin show it (walk25 F22); without the 未処理
        reason where a column of its own shows it."""
        label = self.get_status_display()
        returned = self.interbank_returned()
        if returned is not None:
            return f"{label}（{returned.label}）"
        if self.unprocessed_reason and with_reason:
            return f"{label}（{self.get_unprocessed_reason_display()}）"
        return label

    @property
    def status_label(self) -> str:
        return self.status_text()

    @property
    def credited_amount(self) -> int:
        """What the payee receives (先方負担: the amount less the fee)."""
        return self.amount - self.fee if self.fee_borne_by_payee else self.amount

    @property
    def debited_amount(self) -> int:
        """What leaves the customer's account."""
        return self.amount if self.fee_borne_by_payee else self.amount + self.fee


# what a list of transfers selects so that ``Transfer.status_label`` asks nothing more
RETURN_RELATED = "outgoing__interbank_return"


class ScheduledTransfer(Transfer):
    """予約振込 in admin (issue 9): the transfers accepted before their date, with the
    day's batch summary and the staff re-run."""

    class Meta:
        proxy = True
        verbose_name = "予約振込"
        verbose_name_plural = "予約振込"
        permissions = [("run_transfer_batch", "予約振込の一括実行（再実行）ができる"),
                       ("cancel_scheduled_transfer", "お客様のお申し出により予約振込を取り消せる")]


class OutgoingTransfer(models.Model):
    """A transfer to another bank, with every field of the Zengin 総合振込 data record, for
    the interbank file of XFER-12. Money sits in the 為替決済 account until then."""

    class Status(models.TextChoices):
        PENDING = "pending", "未送信"
        SENT = "sent", "送信済"

    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="outgoing",
                                    verbose_name="振込")
    bank_code = models.CharField("被仕向金融機関番号", max_length=4)
    bank_kana = models.CharField("被仕向金融機関名", max_length=15)
    branch_code = models.CharField("被仕向支店番号", max_length=3)
    branch_kana = models.CharField("被仕向支店名", max_length=15)
    account_type = models.CharField("預金種目", max_length=1)
    account_number = models.CharField("口座番号", max_length=7)
    payee_kana = models.CharField("受取人名", max_length=30)
    amount = models.BigIntegerField("振込金額")
    sender_name = models.CharField("依頼人名", max_length=40)
    edi = models.CharField("EDI情報", max_length=20, blank=True)
    # the business day the interbank credit settles (a weekend transfer waits)
    settlement_date = models.DateField("決済日")
    status = models.CharField("状態", max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)

    class Meta:
        ordering = ["settlement_date", "id"]
        verbose_name = "他行宛振込データ"
        verbose_name_plural = "他行宛振込データ"
        indexes = [models.Index(fields=["status", "settlement_date"], name="outgoing_pending_idx")]

    def __str__(self) -> str:
        return f"データ番号 {self.pk} {self.payee_kana} {self.amount:,}円"

    @property
    def status_label(self) -> str:
        """「送信済（資金返却：名義相違、2026年12月7日）」 once returned (walk25 F22): the record
        stays 送信済 — it was sent; the return is its own row."""
        try:
            returned = self.interbank_return
        except ObjectDoesNotExist:
            return self.get_status_display()
        return f"{self.get_status_display()}（{returned.label}）"


class NameLookup(models.Model):
    """One 口座名義確認 (XFER-3/11); counted to throttle probing of account holders."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    bank_code = models.CharField(max_length=4)
    branch_code = models.CharField(max_length=3)
    account_number = models.CharField(max_length=7)
    found = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["customer", "created_at"], name="name_lookup_time_idx")]


class InterbankDemoAccount(models.Model):
    """Accounts at other banks known to the simulated interbank directory (see
    ``transfers.directory``); a real adapter would ask the Zengin network instead."""

    bank_code = models.CharField("金融機関コード", max_length=4)
    branch_code = models.CharField("店番", max_length=3)
    account_type = models.CharField("科目", max_length=1, choices=ACCOUNT_TYPE_CHOICES)
    account_number = models.CharField("口座番号", max_length=7)
    holder_kana = models.CharField("口座名義（カナ）", max_length=48)
    closed = models.BooleanField("解約済", default=False)

    class Meta:
        verbose_name = "他行口座（名義確認シミュレータ）"
        verbose_name_plural = "他行口座（名義確認シミュレータ）"
        constraints = [models.UniqueConstraint(
            fields=["bank_code", "branch_code", "account_type", "account_number"],
            name="interbank_demo_account_unique")]


# --- 為替 (XFER-12): the interbank files; services in transfers/interbank/ -------------------


class InterbankOutgoingFile(models.Model):
    """One 仕向 file (総合振込, Zengin format): its bytes are kept, so a re-download gives the
    same file; its number is the row id."""

    business_day = models.DateField("取組日")
    record_count = models.PositiveIntegerField("件数")
    total_amount = models.BigIntegerField("合計金額")
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    content = models.BinaryField("ファイル")
    settlement_amount = models.BigIntegerField("為替決済勘定の入金額（照合）")
    created_by = models.CharField("作成者", max_length=150)
    created_at = models.DateTimeField("作成日時", auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "仕向ファイル（他行宛振込）"
        verbose_name_plural = "仕向ファイル（他行宛振込）"
        permissions = [("exchange_interbank", "為替ファイルの作成・取込・返却ができる")]
        constraints = [models.CheckConstraint(condition=Q(total_amount=models.F("settlement_amount")),
                                              name="interbank_file_settlement_matches")]

    def __str__(self) -> str:
        return f"仕向 第{self.pk}号 {japanese_date(self.business_day)} {self.record_count}件 {self.total_amount:,}円"

    @property
    def filename(self) -> str:
        return f"sogo21_{self.business_day:%Y%m%d}_{self.pk:06d}.txt"


class InterbankOutgoingItem(models.Model):
    """A transfer in a file: OneToOne on the record, so a transfer is in one file only."""

    file = models.ForeignKey(InterbankOutgoingFile, on_delete=models.PROTECT, related_name="items",
                             verbose_name="仕向ファイル")
    outgoing = models.OneToOneField(OutgoingTransfer, on_delete=models.PROTECT, related_name="file_item",
                                    verbose_name="他行宛振込データ")
    line = models.PositiveIntegerField("行番号")

    class Meta:
        ordering = ["file", "line"]
        verbose_name = "仕向ファイルの明細"
        verbose_name_plural = "仕向ファイルの明細"
        constraints = [models.UniqueConstraint(fields=["file", "line"], name="outgoing_item_line_once")]


class InterbankReturn(models.Model):
    """資金返却: a sent transfer the receiving bank refused, credited back to the customer
    (one return per transfer)."""

    class Reason(models.TextChoices):
        NO_ACCOUNT = "no_account", "口座なし"
        NAME_MISMATCH = "name_mismatch", "名義相違"
        CLOSED = "closed", "解約済"
        TYPE_MISMATCH = "type_mismatch", "科目相違"
        OTHER = "other", "その他"

    outgoing = models.OneToOneField(OutgoingTransfer, on_delete=models.PROTECT, related_name="interbank_return",
                                    verbose_name="他行宛振込データ")
    reason = models.CharField("返却理由", max_length=16, choices=Reason.choices)
    amount = models.BigIntegerField("返却金額")
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, related_name="+", verbose_name="仕訳")
    created_by = models.CharField("登録者", max_length=150)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "振込資金返却"
        verbose_name_plural = "振込資金返却"

    def __str__(self) -> str:
        return f"振込資金返却 データ番号 {self.outgoing_id} {self.amount:,}円 {self.get_reason_display()}"

    @property
    def label(self) -> str:
        """「資金返却：名義相違、2026年12月7日」: what a returned transfer's status adds."""
        return f"資金返却：{self.get_reason_display()}、{japanese_date(timezone.localdate(self.created_at))}"


class InterbankIncomingFile(models.Model):
    """One 被仕向 file uploaded by staff; unique by SHA-256 (the same file posts once)."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "処理中"
        DONE = "done", "処理済"

    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    filename = models.CharField("ファイル名", max_length=200)
    content = models.BinaryField("ファイル")
    remitter_kana = models.CharField("振込依頼人名", max_length=40)
    sending_bank_code = models.CharField("仕向金融機関番号", max_length=4)
    record_count = models.PositiveIntegerField("件数")
    total_amount = models.BigIntegerField("合計金額")
    status = models.CharField("状態", max_length=16, choices=Status.choices, default=Status.PROCESSING)
    uploaded_by = models.CharField("取込者", max_length=150)
    created_at = models.DateTimeField("取込日時", auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "被仕向ファイル（振込入金）"
        verbose_name_plural = "被仕向ファイル（振込入金）"

    def __str__(self) -> str:
        return f"被仕向 第{self.pk}号 {self.filename} {self.record_count}件 {self.total_amount:,}円"


class InterbankIncomingRecord(models.Model):
    """One data record of an incoming file: credited, or 入金不能 (listed for staff) and
    later returned, or 入金保留 — the same 為替 as a record of another file (``record_key``) —
    until staff release it (credited) or return it. (file, line) is unique: a record is
    handled once."""

    class Status(models.TextChoices):
        CREDITED = "credited", "入金済"
        UNAPPLIED = "unapplied", "入金不能"
        HELD = "held", "入金保留"
        RETURNED = "returned", "返却済"

    file = models.ForeignKey(InterbankIncomingFile, on_delete=models.PROTECT, related_name="records",
                             verbose_name="被仕向ファイル")
    line = models.PositiveIntegerField("行番号")
    branch_code = models.CharField("支店番号", max_length=3)
    account_type = models.CharField("預金種目", max_length=1)
    account_number = models.CharField("口座番号", max_length=7)
    payee_kana = models.CharField("受取人名", max_length=30)
    amount = models.BigIntegerField("金額")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name="入金口座")
    status = models.CharField("状態", max_length=16, choices=Status.choices)
    reason = models.CharField("入金不能の理由", max_length=64, blank=True)
    journal = models.OneToOneField(Journal, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   verbose_name="仕訳")
    returned_by = models.CharField("返却登録者", max_length=150, blank=True)
    # walk30 F4: why and when it went back, and when it was released — on the record staff
    # answer the 仕向金融機関 from, not only in the 操作ログ; the times are the database's
    # (transfers 0038 stamps them at the step)
    return_reason = models.CharField("返却理由", max_length=100, blank=True, db_default="")
    returned_at = models.DateTimeField("返却日時", null=True, blank=True)
    released_at = models.DateTimeField("入金保留の解除日時", null=True, blank=True)
    # the record's own identity (zengin_file.record_keys): a record alike in another file is 入金保留
    record_key = models.CharField("明細の識別", max_length=80, blank=True, db_index=True)
    released_by = models.CharField("入金保留の解除者", max_length=150, blank=True)
    created_at = models.DateTimeField("処理日時", auto_now_add=True)

    class Meta:
        ordering = ["file", "line"]
        verbose_name = "振込入金明細"
        verbose_name_plural = "振込入金明細"
        constraints = [
            models.UniqueConstraint(fields=["file", "line"], name="interbank_incoming_line_once"),
            models.CheckConstraint(condition=~Q(status="credited") | Q(journal__isnull=False),
                                   name="interbank_incoming_credited_has_journal"),
        ]

    def __str__(self) -> str:
        return f"{self.file_id}-{self.line} {self.payee_kana} {self.amount:,}円"
