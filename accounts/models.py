"""The ledger: branches, customers (contracts), accounts, journals and entries.

The database holds the ledger invariants (LEDGER-2) with constraints and triggers that are
installed by migration 0002 (``accounts/sql/ledger.sql``):

* a journal's entries sum to zero (deferred constraint trigger, checked at commit);
* entries and journals are append-only (UPDATE and DELETE are refused);
* an account's cached ``balance`` is maintained by the entry trigger only, and every
  entry's ``balance_after`` must equal the account's balance after that entry;
* a customer account never goes below zero; amounts are non-zero integers of yen.

Nothing in Python writes entries or balances except ``accounts.services.journal_post``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Branch(models.Model):
    """A branch (支店) of our bank, with its Zengin branch code."""

    code = models.CharField("店番", max_length=3, unique=True)
    name = models.CharField("支店名", max_length=64)
    name_kana = models.CharField("支店名（カナ）", max_length=64)

    class Meta:
        ordering = ["code"]
        verbose_name = "支店"
        verbose_name_plural = "支店"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Customer(models.Model):
    """An internet-banking contract (契約者). Logs in with ``contract_id``."""

    class Status(models.TextChoices):
        ACTIVE = "active", "利用中"
        SUSPENDED = "suspended", "IB取引中止"
        CLOSED = "closed", "解約"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="customer",
        verbose_name="ログインユーザー",
    )
    contract_id = models.CharField("契約者ID", max_length=10, unique=True)
    name_kanji = models.CharField("氏名", max_length=64)
    name_kana = models.CharField("氏名（カナ）", max_length=64)
    email = models.EmailField("Eメールアドレス", blank=True)
    status = models.CharField(
        "状態", max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    # SEC-3: the password from the application form must be changed at first login.
    password_is_initial = models.BooleanField("初回パスワード", default=True)
    # SEC-16: パスキーでのみログイン — the passkey is then the only second factor accepted
    passkey_only = models.BooleanField("パスキーでのみ認証", default=False)
    last_login_at = models.DateTimeField("最終ログイン", null=True, blank=True)
    previous_login_at = models.DateTimeField("前回ログイン", null=True, blank=True)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        ordering = ["contract_id"]
        verbose_name = "契約者"
        verbose_name_plural = "契約者"
        permissions = [
            ("unlock_credential", "ロックを解除できる"),
            ("resume_ib", "IB取引を再開できる"),
            ("suspend_ib", "お客様のお申し出によりIB取引を中止できる"),
            ("issue_initial_password", "初回ログインパスワードを再発行できる"),
            ("issue_image_card", "画像認証カードを発行・印刷できる"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contract_id__regex=r"^[0-9]{10}$"), name="customer_contract_id_digits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.name_kanji}"



def account_number_masked(number: str) -> str:
    """「***4567」: the last four digits of an account number, as mails and pages write any
    account (the customer's own or a payee's) — never the whole number (NOTE-1)."""
    return "***" + number[-4:]

class Account(models.Model):
    """A deposit account (口座) of a customer, or an internal account of the bank.

    ``balance`` is a cache of the sum of the account's entries, maintained by the database
    trigger on ``accounts_entry``; ``hold_amount`` (拘束額) is money that cannot be spent.
    """

    class Type(models.TextChoices):
        # Zengin account-type codes.
        ORDINARY = "1", "普通"
        CURRENT = "2", "当座"
        SAVINGS = "4", "貯蓄"

    class Purpose(models.TextChoices):
        CUSTOMER = "customer", "お客様口座"
        FEE_INCOME = "fee_income", "手数料収入"
        ZENGIN_SETTLEMENT = "zengin_settlement", "為替決済（全銀）"
        PAYEASY_COLLECTION = "payeasy_collection", "ペイジー収納"
        CASH = "cash", "現金（窓口）"
        # one of the stripes of a hot internal account (``stripe_of``): see below
        STRIPE = "stripe", "分割勘定"

    class Status(models.TextChoices):
        OPEN = "open", "有効"
        FROZEN = "frozen", "支払停止"
        CLOSED = "closed", "解約"

    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="accounts",
                               verbose_name="支店")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="accounts", null=True, blank=True,
        verbose_name="契約者",
    )
    purpose = models.CharField("区分", max_length=32, choices=Purpose.choices, default=Purpose.CUSTOMER)
    type = models.CharField("科目", max_length=1, choices=Type.choices, default=Type.ORDINARY)
    number = models.CharField("口座番号", max_length=7)
    holder_kana = models.CharField("口座名義（カナ）", max_length=48)
    name = models.CharField("名称", max_length=64, blank=True)
    status = models.CharField("状態", max_length=16, choices=Status.choices, default=Status.OPEN)
    balance = models.BigIntegerField("残高", default=0, editable=False)
    hold_amount = models.BigIntegerField("拘束額", default=0)
    last_entry_at = models.DateTimeField("最終入出金日時", null=True, blank=True, editable=False)
    # Set by the database (ledger_account_guard) whenever the status changes.
    status_changed_at = models.DateTimeField("状態変更日時", null=True, blank=True, editable=False)
    opened_at = models.DateTimeField("開設日時", auto_now_add=True)
    # A hot internal account (fee income, Pay-easy collection: one side of nearly every
    # posting) is split into stripes, so concurrent postings do not all queue on its one
    # row lock (issue 14). ledger_post() puts a line on such an account on one of its open
    # stripes; the account's balance is its own plus its stripes' (selectors.internal_balance).
    stripe_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="stripes", verbose_name="分割元の口座")

    class Meta:
        ordering = ["branch__code", "type", "number"]
        verbose_name = "口座"
        verbose_name_plural = "口座"
        permissions = [("post_counter_deposit", "窓口入金を記帳できる")]
        constraints = [
            models.UniqueConstraint(fields=["branch", "number"], name="account_number_per_branch"),
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]{7}$"), name="account_number_7_digits"),
            models.CheckConstraint(
                condition=Q(purpose="customer", customer__isnull=False)
                | (~Q(purpose="customer") & Q(customer__isnull=True)),
                name="account_customer_iff_customer_purpose",
            ),
            # LEDGER-2: overdraft limit 0 for customer accounts.
            models.CheckConstraint(
                condition=~Q(purpose="customer") | Q(balance__gte=0),
                name="account_customer_balance_not_negative",
            ),
            models.CheckConstraint(condition=Q(hold_amount__gte=0), name="account_hold_not_negative"),
            # a hold is money the customer has but may not spend: never more than the balance
            models.CheckConstraint(
                condition=~Q(purpose="customer") | Q(balance__gte=models.F("hold_amount")),
                name="account_customer_balance_covers_hold",
            ),
            models.CheckConstraint(
                condition=Q(purpose="stripe", stripe_of__isnull=False)
                | (~Q(purpose="stripe") & Q(stripe_of__isnull=True)),
                name="account_stripe_iff_stripe_purpose",
            ),
            # a closed account takes no postings, so money left in it would be stranded
            models.CheckConstraint(
                condition=~Q(status="closed") | (Q(balance=0) & Q(hold_amount=0)),
                name="account_closed_is_empty",
            ),
            # LEDGER-7: ledger_post() knows these three; any other word was taken for open
            models.CheckConstraint(condition=Q(status__in=["open", "frozen", "closed"]),
                                   name="account_status_known"),
            # the bank's one 為替決済, fee income (striped by its stripes), Pay-easy collection and
            # cash account: the code reads each with .get() and the interbank guards with a
            # scalar subquery, so a second row, even a closed one, would fail them all
            models.UniqueConstraint(fields=["purpose"],
                                    condition=Q(purpose__in=["zengin_settlement", "fee_income",
                                                             "payeasy_collection", "cash"]),
                                    name="account_single_internal"),
            # LEDGER-7: ledger_post() and the guards know these purposes; any other word was
            # an account nothing reads
            models.CheckConstraint(condition=Q(purpose__in=["customer", "fee_income", "zengin_settlement",
                                                            "payeasy_collection", "cash", "stripe"]),
                                   name="account_purpose_known"),
        ]

    # The fields the app's database role may UPDATE (LEDGER-7, granted by db_roles.py):
    # balance, last_entry_at and status_changed_at are the database's, opened_at is fixed.
    # LEDGER-7: owner, number, branch, purpose and type are set when the account is opened
    # and never change (admin shows them read-only): an UPDATE of one moved an account, or
    # the credits that follow its number, to another customer without a journal. The names
    # too (dbprobe28 F8, accounts 0034): holder_kana is the 全銀 header's 依頼人名 (為替決済)
    # and the name incoming credits are matched against; no service changes a name.
    APP_UPDATABLE_FIELDS = ("status", "hold_amount")

    def __str__(self) -> str:
        return f"{self.branch.code}-{self.get_type_display()}-{self.number} {self.holder_kana}"

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = self.APP_UPDATABLE_FIELDS
        super().save(*args, **kwargs)

    @property
    def is_internal(self) -> bool:
        return self.purpose != self.Purpose.CUSTOMER

    @property
    def available_amount(self) -> int:
        """支払可能額: balance less holds, never below zero."""
        return max(self.balance - self.hold_amount, 0)

    @property
    def masked_number(self) -> str:
        return account_number_masked(self.number)


class AccountStateChange(models.Model):
    """LEDGER-7 (review H3): one row per change of an account's status or hold (and one per
    new account), written by the database alone — trigger ``ledger_account_state_record``,
    owned by the owner, SECURITY DEFINER — and never changed or removed; the app's role may
    only read it (db_roles.py). ``ledger_check`` proves from it that no debit was made
    while the account was frozen or closed or beyond its hold, even when the same
    transaction lifted the freeze for the debit and put it back (see there).

    ``last_entry_id``: the highest entry id visible when the change was made. The account's
    row is locked from the change until its transaction ends, and ledger_post() takes entry
    ids only after locking the account, so this account's entries with a higher id were
    written after the change, the others before it."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="state_changes",
                                db_index=False, verbose_name="口座")
    old_status = models.CharField("変更前の状態", max_length=16, blank=True)  # "" for a new account
    new_status = models.CharField("変更後の状態", max_length=16)
    old_hold_amount = models.BigIntegerField("変更前の拘束額", null=True, blank=True)
    new_hold_amount = models.BigIntegerField("変更後の拘束額")
    changed_at = models.DateTimeField("変更日時")  # clock_timestamp()
    xact_id = models.BigIntegerField("トランザクションID")  # pg_current_xact_id()
    xact_started_at = models.DateTimeField("トランザクション開始日時")  # now()
    last_entry_id = models.BigIntegerField("直前の明細ID")
    db_user = models.CharField("DBユーザー", max_length=64)  # session_user

    class Meta:
        ordering = ["-id"]
        verbose_name = "口座状態の変更履歴"
        verbose_name_plural = "口座状態の変更履歴"
        indexes = [models.Index(fields=["account", "last_entry_id", "id"], name="account_state_change_idx")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.old_status}→{self.new_status} {self.old_hold_amount}→{self.new_hold_amount}"


class Journal(models.Model):
    """One posting (仕訳): a balanced set of entries, written once, never changed."""

    # ledger_post() refuses any other kind (accounts 0019): a new one needs a migration
    class Kind(models.TextChoices):
        TRANSFER = "transfer", "振込"
        TRANSFER_FEE = "transfer_fee", "振込手数料"
        PAYEASY = "payeasy", "ペイジー払込"
        DEPOSIT = "deposit", "窓口入金"
        WITHDRAWAL = "withdrawal", "出金"
        SALARY = "salary", "給与"
        CARD = "card", "カード"
        UTILITY = "utility", "公共料金"
        ATM = "atm", "ATM"
        INTEREST = "interest", "利息"
        ADJUSTMENT = "adjustment", "訂正"

    kind = models.CharField("種類", max_length=32, choices=Kind.choices)
    description = models.CharField("摘要", max_length=64)
    idempotency_key = models.CharField("重複防止キー", max_length=128, unique=True)
    # sha256 of the whole request (ledger_request_hash): the same key with any other
    # content is refused.
    request_hash = models.CharField("内容ハッシュ", max_length=64)
    posted_at = models.DateTimeField("取引日時")
    created_at = models.DateTimeField("記帳日時")

    class Meta:
        ordering = ["-id"]
        verbose_name = "仕訳"
        verbose_name_plural = "仕訳"

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.description}"


class Entry(models.Model):
    """One leg of a journal on one account: a signed amount of yen (+ deposit, − withdrawal)
    and the account's balance right after it (which makes any past balance an index lookup)."""

    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries",
                                verbose_name="仕訳")
    # Indexed by entry_account_time_idx (account first), so no separate FK index.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False,
        verbose_name="口座",
    )
    amount = models.BigIntegerField("金額")
    balance_after = models.BigIntegerField("取引後残高")
    description = models.CharField("摘要", max_length=64)
    posted_at = models.DateTimeField("取引日時")

    class Meta:
        ordering = ["account_id", "id"]
        verbose_name = "明細"
        verbose_name_plural = "明細"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]
        indexes = [
            # Balance at any past moment and statement pages: one index range scan.
            models.Index(
                fields=["account", "posted_at", "id"],
                name="entry_account_time_idx",
                include=["balance_after", "amount"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d} → {self.balance_after}"


class WorkerHeartbeat(models.Model):
    """Written by the periodic ``worker_heartbeat`` task, read by /health/: proof that
    the background worker (procrastinate) is alive and takes jobs."""

    beat_at = models.DateTimeField()
    note = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-beat_at"]
        get_latest_by = "beat_at"


class BankClosingDay(models.Model):
    """A day the bank itself is closed (臨時休業日, LEDGER-6, STAFF-1) on top of the built-in
    calendar (weekends, national holidays, Dec 31 – Jan 3). Staff add these in admin;
    ``cosei_ib.bankcalendar`` reads them (cached per process, see there)."""

    date = models.DateField("日付", unique=True)
    name = models.CharField("名称・理由", max_length=64)
    created_by = models.CharField("登録者", max_length=150, editable=False)
    created_at = models.DateTimeField("登録日時", auto_now_add=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "臨時休業日"
        verbose_name_plural = "臨時休業日"
        constraints = [
            # a day with no name would show staff and customers an empty reason
            models.CheckConstraint(condition=~Q(name=""), name="bank_closing_day_named",
                                   violation_error_message="名称・理由を入力してください。"),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y/%m/%d} {self.name}"
