"""Pay-easy (ペイジー, PAY-1…4): billers (収納機関), the simulator's bills, payments, the
daily wrong-entry counter and the used nonces of 情報リンク.

The database holds the rules that must never break:

* a bill is paid at most once: ``payment_bill_once`` (unique biller + bill id), inserted in
  the posting's own transaction — a second payment of the same bill, however it arrives
  (double click, two tabs, concurrent requests), fails on the index;
* a 情報リンク is used once: ``link_nonce_once`` (unique biller + nonce);
* one wrong-entry counter per customer and day (``entry_failure_per_day``), bumped under
  its row lock, so concurrent wrong entries cannot pass the limit.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import Account, Customer, Journal


class Biller(models.Model):
    """A 収納機関 that takes Pay-easy payments. Staff edit these in admin (PAY-2)."""

    class Kind(models.TextChoices):
        NATIONAL = "national", "国庫金（国）"
        LOCAL = "local", "地方公共団体"
        PRIVATE = "private", "民間企業"

    class AmountType(models.TextChoices):
        # OPEN: the biller may also issue bills whose amount the payer types within bounds
        FIXED = "fixed", "請求金額どおり（固定）のみ"
        OPEN = "open", "金額入力（範囲内）の請求もあり"

    class Simulation(models.TextChoices):
        NORMAL = "normal", "正常に応答"
        DOWN = "down", "応答なし（障害の再現）"

    number = models.CharField("収納機関番号", max_length=5, unique=True)
    name = models.CharField("収納機関名", max_length=48)
    kind = models.CharField("種別", max_length=16, choices=Kind.choices)
    # Which fields the customer types: public billers (国・地方公共団体) use 納付番号 +
    # 確認番号 (and some 納付区分); private billers use お客様番号 only.
    uses_confirmation = models.BooleanField("確認番号を使う", default=True)
    uses_category = models.BooleanField("納付区分を使う", default=False)
    amount_type = models.CharField("金額", max_length=8, choices=AmountType.choices,
                                   default=AmountType.FIXED)
    link_secret = models.CharField(
        "情報リンク署名鍵（HMAC）", max_length=128, blank=True,
        help_text="情報リンク方式で収納機関が署名に使う共有鍵。空欄の収納機関は情報リンクを受け付けません。",
    )
    simulation = models.CharField("シミュレーターの応答", max_length=8, choices=Simulation.choices,
                                  default=Simulation.NORMAL)
    is_active = models.BooleanField("取扱中", default=True)

    class Meta:
        ordering = ["number"]
        verbose_name = "収納機関"
        verbose_name_plural = "収納機関"
        constraints = [
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]{5}$"), name="biller_number_5_digits",
                                   violation_error_message="収納機関番号は5桁の数字で入力してください。"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.PRIVATE

    @property
    def number_label(self) -> str:
        """What the customer's number is called for this biller (the guide's words)."""
        return "納付番号" if self.is_public else "お客様番号"


BILL_AMOUNT_RULE = ("請求金額（固定の請求）か、下限金額と上限金額の両方（金額入力の請求）のどちらか一方を"
                    "入力してください。金額は1円以上、上限金額は下限金額以上です。")


class Bill(models.Model):
    """A bill as the biller simulator (``payeasy.gateway.SimulatorGateway``) knows it. A real
    gateway would ask the biller instead; nothing but the simulator reads this table."""

    class Status(models.TextChoices):
        OPEN = "open", "未払い"
        PAID = "paid", "支払済み（当金庫）"
        PAID_ELSEWHERE = "paid_elsewhere", "支払済み（他の窓口）"

    biller = models.ForeignKey(Biller, on_delete=models.PROTECT, related_name="bills",
                               verbose_name="収納機関")
    number = models.CharField("お客様番号・納付番号", max_length=20)
    confirmation = models.CharField("確認番号", max_length=6, blank=True)
    category = models.CharField("納付区分", max_length=3, blank=True)
    description = models.CharField("請求内容", max_length=48)
    payer_name = models.CharField("お名前", max_length=48)
    # A fixed bill has ``amount``; an open one lets the payer type an amount within bounds.
    amount = models.BigIntegerField("請求金額", null=True, blank=True)
    min_amount = models.BigIntegerField("下限金額", null=True, blank=True)
    max_amount = models.BigIntegerField("上限金額", null=True, blank=True)
    due_date = models.DateField("払込期限")
    status = models.CharField("状態", max_length=16, choices=Status.choices, default=Status.OPEN)
    issued_at = models.DateTimeField("作成日時", auto_now_add=True)

    class Meta:
        ordering = ["biller__number", "number", "due_date"]
        verbose_name = "請求（シミュレーター）"
        verbose_name_plural = "請求（シミュレーター）"
        constraints = [
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]{1,20}$"), name="bill_number_digits",
                                   violation_error_message="お客様番号・納付番号は20桁以内の数字で入力してください。"),
            models.CheckConstraint(condition=Q(confirmation__regex=r"^[0-9]{0,6}$"),
                                   name="bill_confirmation_digits",
                                   violation_error_message="確認番号は6桁以内の数字で入力してください。"),
            models.CheckConstraint(condition=Q(category__regex=r"^[0-9]{0,3}$"), name="bill_category_digits",
                                   violation_error_message="納付区分は3桁以内の数字で入力してください。"),
            # Every operand is tested for NULL: a CHECK passes when it is NULL, and with
            # ``amount__gt=0`` alone a bill with no amount and no bounds was NULL, not false
            # — stored from admin, it gave the payer a 500 (TypeError on None <= int).
            models.CheckConstraint(
                condition=(Q(amount__isnull=False, amount__gt=0, min_amount__isnull=True, max_amount__isnull=True)
                           | Q(amount__isnull=True, min_amount__isnull=False, max_amount__isnull=False,
                               min_amount__gt=0, max_amount__gte=models.F("min_amount"))),
                name="bill_fixed_or_bounded_amount",
                violation_error_message=BILL_AMOUNT_RULE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.biller.number}-{self.number} {self.description}"

    def clean(self) -> None:
        """Staff entering a bill in admin: an open-amount bill only for a biller that
        takes open amounts (a fixed-amount biller's bills always carry their amount)."""
        from django.core.exceptions import ValidationError

        if (self.amount is None and self.biller_id is not None
                and self.biller.amount_type == Biller.AmountType.FIXED):
            raise ValidationError({"amount": "この収納機関は金額入力（範囲指定）の請求を扱いません。請求金額を入力してください。"})


class Payment(models.Model):
    """One Pay-easy payment (払込み). Never cancelled (the guide): no status, no cancel path."""

    reference = models.CharField("受付番号", max_length=16, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payeasy_payments",
                                 verbose_name="契約者")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payeasy_payments",
                                verbose_name="お支払口座")
    biller = models.ForeignKey(Biller, on_delete=models.PROTECT, related_name="payments",
                               verbose_name="収納機関")
    bill_id = models.CharField("請求ID（収納機関）", max_length=32)
    number = models.CharField("お客様番号・納付番号", max_length=20)
    category = models.CharField("納付区分", max_length=3, blank=True)
    description = models.CharField("請求内容", max_length=48)
    amount = models.BigIntegerField("金額")
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name="仕訳")
    via_link = models.BooleanField("情報リンク", default=False)
    paid_at = models.DateTimeField("受付日時")

    class Meta:
        ordering = ["-paid_at", "-id"]
        verbose_name = "払込み"
        verbose_name_plural = "払込み"
        constraints = [
            # PAY-1: a bill is paid once, whatever the route (double submit, two tabs…).
            models.UniqueConstraint(fields=["biller", "bill_id"], name="payment_bill_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]
        indexes = [
            # PAY-3: the duplicate warning looks up the customer's recent payments by number.
            models.Index(fields=["customer", "biller", "number", "paid_at"], name="payment_duplicate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.biller.name} {self.amount:,}円"


class EntryFailureCounter(models.Model):
    """Wrong 納付番号/お客様番号/確認番号 entries of one customer on one day (PAY-3). The
    limit is checked and the count bumped under ``SELECT … FOR UPDATE`` of this row."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+",
                                 verbose_name="契約者")
    day = models.DateField("日付")
    failures = models.PositiveIntegerField("誤入力回数", default=0)

    class Meta:
        verbose_name = "ペイジー誤入力回数"
        verbose_name_plural = "ペイジー誤入力回数"
        constraints = [
            models.UniqueConstraint(fields=["customer", "day"], name="entry_failure_per_day"),
        ]


class LinkNonce(models.Model):
    """A 情報リンク that has been used (PAY-4): a replay of the same link fails here."""

    biller = models.ForeignKey(Biller, on_delete=models.CASCADE, related_name="+", verbose_name="収納機関")
    nonce = models.CharField("ノンス", max_length=64)
    used_at = models.DateTimeField("使用日時", auto_now_add=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name="契約者")

    class Meta:
        verbose_name = "情報リンク使用済みノンス"
        verbose_name_plural = "情報リンク使用済みノンス"
        constraints = [models.UniqueConstraint(fields=["biller", "nonce"], name="link_nonce_once")]

