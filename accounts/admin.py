"""The ledger in the staff admin (STAFF-1): branches, accounts, journals and entries,
read-only for everyone, and the counter deposit. Every staff action goes through a service
that writes its audit row and the customer's notice.

The staff's security operations on a customer (unlock, IB取引再開, initial password, image
card) and the customer pages themselves live in ``security/customer_admin.py``: imports run
one way, security → accounts, never the other way."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models.constants import LOOKUP_SEP
from django.db.models import OuterRef, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from cosei_ib import bankcalendar
from cosei_ib.staff_confirm import CONFIRM_MINUTES, confirm_token, confirm_token_matches
from cosei_ib.textinput import ascii_int, customer_text, normalise_digits, parse_yen, yen_field

from . import errors
from .forms import CLOSING_DAY_NAME_LABEL, BankClosingDayForm
from .models import Account, AccountStateChange, BankClosingDay, Branch, Customer, Entry, Journal
from .services import (
    ACCOUNT_CHANGED_MEANWHILE,
    HOLD_OUT_OF_RANGE,
    MAX_COUNTER_DEPOSIT,
    MAX_HOLD,
    AccountChangeRefused,
    ClosingDayRefused,
    account_admin_change,
    account_admin_change_problem,
    bank_closing_day_add,
    bank_closing_day_delete,
    counter_deposit,
)
from .selectors import counter_deposit_slip_used
from .templatetags.accounts_format import japanese_date


def yen(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:,}円"


def yen_column(model, field: str):
    """A list and detail column showing ``field`` as staff read amounts, 「50,000円」 (the
    raw 50000 read as a count)."""
    @admin.display(description=model._meta.get_field(field).verbose_name, ordering=field)
    def column(self, obj):
        return yen(getattr(obj, field))
    return column


def yen_signed(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:+,}円"


def choices_refuse_unknown(model, params) -> None:
    """A filter on a column with fixed choices (``?status=zzz``) names one of them, or the
    list refuses it as the admin's ``?e=1`` (walk25 F2): on a PostgreSQL enum column — the
    job queue's ``status`` — an unknown value was the database's error, a 500."""
    for key, values in params.items():
        parts = key.split(LOOKUP_SEP)
        if parts[-1] in ("exact", "in"):
            lookup, parts = parts[-1], parts[:-1]
        else:
            lookup = "exact"
        try:
            field = get_fields_from_path(model, LOOKUP_SEP.join(parts))[-1]
        except (FieldDoesNotExist, NotRelationField, LookupError):
            continue  # not a plain column: Django's own checks answer
        if field.is_relation or not getattr(field, "flatchoices", None):
            continue
        allowed = {str(value) for value, _label in field.flatchoices}
        for value in values if isinstance(values, list) else [values]:
            for one in (value.split(",") if lookup == "in" else [value]):
                if one not in allowed:
                    raise IncorrectLookupParameters(f"{key}: not one of the choices")


class DateBoundedChangeList(ChangeList):
    """Django's ChangeList computes the end of a ``date_hierarchy`` period outside its
    guard: year 9999 (or 20 digits) raised ValueError/OverflowError, a 500 (STAFF-1).
    So did a year out of range typed as a filter of any date column
    (``?created_at__year=0``): the ORM works out the year's bounds only when the list is
    counted, after the admin's guard. Both are here the admin's own answer to a filter it
    cannot use (``?e=1``)."""

    def get_filters(self, request):
        choices_refuse_unknown(self.model, self.get_filters_params())
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        try:  # the SQL only, not run: the lookups' values are converted here
            queryset.query.get_compiler(queryset.db, elide_empty=False).as_sql()
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error
        return queryset


class StaffModelAdmin(admin.ModelAdmin):
    """Every staff list of this project: filters it cannot use are the admin's ``?e=1``,
    never a 500 (``DateBoundedChangeList``)."""

    def get_changelist(self, request, **kwargs):
        return DateBoundedChangeList

    def get_search_results(self, request, queryset, search_term):
        """Full-width digits and letters read as half-width (walk25 F3): staff with the IME
        on type 「１２３４５６７」 for an account number, 「ＡＢＣ」 for a code; the data keeps
        half-width. Kana is left as typed (NFKC would turn ｻﾄｳ, which the customer list
        searches for too, back into サトウ)."""
        return super().get_search_results(request, queryset, normalise_digits(search_term))


class ReadOnlyAdmin(StaffModelAdmin):
    """Viewable with the view permission; nobody adds, changes or deletes here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Branch)
class BranchAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "name_kana"]
    search_fields = ["code", "name", "name_kana"]


class CustomerAccountInline(admin.TabularInline):
    model = Account
    fields = ["branch", "type", "number", "holder_kana", "status", "balance_yen", "hold_amount_yen",
              "deposit_link"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="残高")
    def balance_yen(self, account):
        return yen(account.balance)

    @admin.display(description="拘束額")
    def hold_amount_yen(self, account):
        return yen(account.hold_amount)

    @admin.display(description="窓口入金")
    def deposit_link(self, account):
        if account.status == Account.Status.CLOSED:
            return "—"
        return format_html('<a href="{}">窓口入金</a>', reverse("admin:accounts_account_deposit", args=[account.pk]))


# a slip number is the counter deposit's idempotency key at its branch
SLIP_USED_OTHERWISE = "この伝票番号は別の金額または別の口座で記帳済みです。伝票番号をご確認ください。"
SLIP_POSTED = "この伝票番号の入金は記帳済みです（二重記帳はしていません）。"
DEPOSIT_NEGATIVE = "入金額にマイナスの金額は指定できません。"
# walk27 F2: the confirm page's second submit is bound to the account, amount and slip it showed
DEPOSIT_CONFIRM_SALT = "accounts.counter-deposit-confirm"
DEPOSIT_CONFIRM_STALE = (f"確認画面の有効期限（{CONFIRM_MINUTES}分）が過ぎたか、確認画面の内容と一致しないため、"
                         "記帳していません。もう一度入金額と伝票番号を入力してください。")


DEPOSIT_REQUIRED = "入金額を入力してください。"
# walk33 F10: 「1,00,00」 was read as 10,000円 (a comma anywhere was dropped); said so
DEPOSIT_NOT_NUMBER = "入金額は数字で入力してください。カンマを入れる場合は3桁ごとに入れてください。"
DEPOSIT_TOO_LARGE = f"窓口入金は1回{MAX_COUNTER_DEPOSIT:,}円までです。"


class CounterDepositForm(forms.Form):
    # the customer's amount field and parser (walk33 F10): full-width digits, a trailing 円,
    # commas only between groups of three (walk25 F15), the length checked before int()
    amount = yen_field("入金額（円）", required=DEPOSIT_REQUIRED, too_large=DEPOSIT_TOO_LARGE,
                       not_number=DEPOSIT_NOT_NUMBER)
    reference = forms.CharField(label="伝票番号", max_length=32,
                                error_messages={"required": "伝票番号を入力してください。",
                                                "max_length": "伝票番号は32文字以内で入力してください。",
                                                "null_characters_not_allowed": "伝票番号に使用できない文字が含まれています。"})

    def clean_amount(self) -> int:
        # a minus is called one (walk27 F9), not 「数字で入力してください」
        amount = parse_yen(self.cleaned_data["amount"], required=DEPOSIT_REQUIRED, negative=DEPOSIT_NEGATIVE,
                           not_number=DEPOSIT_NOT_NUMBER, too_large=DEPOSIT_TOO_LARGE)
        if amount <= 0:
            raise forms.ValidationError("入金額は1円以上で入力してください。")
        if amount > MAX_COUNTER_DEPOSIT:
            raise forms.ValidationError(DEPOSIT_TOO_LARGE)
        return amount

    def clean_reference(self) -> str:
        """The slip number is the idempotency key, so 「Ａ－１」, 「a-1」 and 「A-1」 must be
        the same slip: NFKC, upper case, and only letters, digits and hyphens."""
        raw = normalise_digits(self.cleaned_data["reference"]).upper().replace(" ", "")
        if not re.fullmatch(r"[0-9A-Z-]{1,32}", raw) or not re.search(r"[0-9A-Z]", raw):  # not 「-」 alone
            raise forms.ValidationError("伝票番号は英数字とハイフンで入力してください。")
        return raw


class CounterDepositConfirmForm(CounterDepositForm):
    """The confirm page's submit (walk27 F2): the amount and slip again, as hidden fields
    checked like the first submit, and a signed token naming the same account, amount, slip
    and staff member within CONFIRM_MINUTES — so it posts only what the page showed. A
    replay, or the same slip confirmed in two tabs, posts once: the slip is the deposit's
    idempotency key (counter_deposit)."""

    token = forms.CharField(widget=forms.HiddenInput, error_messages={"required": DEPOSIT_CONFIRM_STALE})

    def __init__(self, *args, account: Account, staff: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.account, self.staff = account, staff
        for name in ("amount", "reference"):
            self.fields[name].widget = forms.HiddenInput()

    @staticmethod
    def token_for(*, account: Account, amount: int, reference: str, staff: str) -> str:
        return confirm_token(salt=DEPOSIT_CONFIRM_SALT, account=account.pk, amount=amount, reference=reference,
                             staff=staff)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not confirm_token_matches(cleaned.get("token", ""), salt=DEPOSIT_CONFIRM_SALT, account=self.account.pk,
                                     amount=cleaned["amount"], reference=cleaned["reference"], staff=self.staff):
            raise forms.ValidationError(DEPOSIT_CONFIRM_STALE, code="stale")
        return cleaned


def amount_field_bound(field, *, minimum: int, maximum: int, message: str, invalid: str) -> None:
    """A yen amount's form field (a BigIntegerField's) bounded in the project's words: the
    model field's own bounds are int64's — 「この値は 9223372036854775807 以下…」 and an input
    with min/max of ±9223372036854775807 (walk25 F4). One message for a value out of range,
    the page's ``message``; the input's min and max are the real ones."""
    field.validators = [validator for validator in field.validators
                        if not isinstance(validator, (MinValueValidator, MaxValueValidator))]
    field.validators += [MinValueValidator(minimum, message=message), MaxValueValidator(maximum, message=message)]
    field.min_value, field.max_value = minimum, maximum
    field.widget.attrs.update(min=minimum, max=maximum)
    field.error_messages["invalid"] = invalid


ACCOUNT_CHANGE_REASON_LABEL = "理由（裁判所の命令・不正利用の届出・お客さまのお申し出など）"
ACCOUNT_CHANGE_REASON_REQUIRED = "状態・拘束額を変更する理由を入力してください。"
# walk31 F6: 「١٢」, 「1_000」 and 「+100」 passed Python's int(), and a letter got the range message
HOLD_FORMAT = "拘束額は数字（円単位）で入力してください。"
# walk31 F6: a save without what its page showed skipped the stale-page check
ACCOUNT_PAGE_NOT_SHOWN = "変更前の表示内容を確認できませんでした。口座の画面を開き直してから変更してください。"


class AccountAdminForm(forms.ModelForm):
    # What the page showed (hidden): a save made on a page opened before another staff
    # member's save is refused, instead of undoing a hold or a freeze nobody saw.
    status_seen = forms.CharField(label="表示時の状態", required=False, max_length=16, widget=forms.HiddenInput)
    hold_amount_seen = forms.CharField(label="表示時の拘束額", required=False, max_length=20,
                                       widget=forms.HiddenInput)
    # walk31 F1: a freeze or a hold names why, as every other staff step on a customer does;
    # staff only (the 操作ログ), never the customer's 取引履歴 nor mail
    reason = forms.CharField(label=ACCOUNT_CHANGE_REASON_LABEL, required=False, max_length=100,
                             widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
                             error_messages={"max_length": "理由は100文字以内で入力してください。",
                                             "null_characters_not_allowed": "理由に使用できない文字が含まれています。"})

    class Meta:
        model = Account
        fields = ["status", "hold_amount"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "hold_amount" in self.fields:
            # the range on the field itself: Django then leaves out the model's CHECK on the
            # hold, whose message would name the constraint (「制約 "account_hold_not_negative"…」)
            amount_field_bound(self.fields["hold_amount"], minimum=0, maximum=MAX_HOLD, message=HOLD_OUT_OF_RANGE,
                               invalid=HOLD_FORMAT)
        self.fields["status_seen"].initial = self.instance.status
        self.fields["hold_amount_seen"].initial = str(self.instance.hold_amount)

    def seen(self) -> tuple[str, int] | None:
        """(status, hold) as the page showed them; None for a post without them."""
        status = self.cleaned_data.get("status_seen")
        hold = ascii_int(self.cleaned_data.get("hold_amount_seen") or "", max_digits=18)
        return None if not status or hold is None else (status, hold)

    def clean_reason(self) -> str:
        return customer_text(self.cleaned_data.get("reason") or "", label="理由").strip()

    def clean_hold_amount(self):
        """Digits as typed (full-width made half-width), nothing else int() would also take:
        another script's digits, ``_``, a sign."""
        typed = normalise_digits(str(self.data.get(self.add_prefix("hold_amount"), "")))
        if not re.fullmatch(r"[0-9]+", typed):
            raise forms.ValidationError(HOLD_FORMAT, code="invalid")
        return self.cleaned_data["hold_amount"]

    def clean(self):
        data = super().clean()
        if {"status", "hold_amount"} & set(self.changed_data) and not data.get("reason") \
                and "reason" not in self.errors:
            self.add_error("reason", ACCOUNT_CHANGE_REASON_REQUIRED)
        seen = self.seen()
        if self.instance.pk and seen is None and {"status", "hold_amount"} & set(self.changed_data):
            raise forms.ValidationError(ACCOUNT_PAGE_NOT_SHOWN)
        if self.instance.pk and seen is not None and seen != (self.instance.status, self.instance.hold_amount):
            raise forms.ValidationError(ACCOUNT_CHANGED_MEANWHILE.format(
                status=self.instance.get_status_display(), hold=self.instance.hold_amount))
        if "status" in data and data.get("hold_amount") is not None:
            problem = account_admin_change_problem(account=self.instance, status=data["status"],
                                                   hold_amount=data["hold_amount"])
            if problem:
                raise forms.ValidationError(problem)
        return data


@admin.register(Account)
class AccountAdmin(StaffModelAdmin):
    list_display = ["__str__", "customer", "purpose", "status", "balance_yen", "ledger_balance_yen",
                    "hold_amount_yen"]
    list_filter = ["purpose", "status", "type", "branch"]
    search_fields = ["number", "holder_kana", "customer__contract_id", "customer__name_kanji"]
    readonly_fields = ["branch", "customer", "purpose", "stripe_of", "type", "number", "holder_kana", "name",
                       "balance_yen", "ledger_balance_yen", "last_entry_at", "opened_at", "deposit_link",
                       "hold_amount_yen"]
    fields = readonly_fields[:-1] + ["status", "hold_amount", "reason", "status_seen", "hold_amount_seen"]

    def get_fields(self, request, obj=None):
        """Whoever may not change the account reads the hold as 「1,234円」 too."""
        if self.has_change_permission(request, obj):
            return self.fields
        return [("hold_amount_yen" if name == "hold_amount" else name) for name in self.fields
                if not name.endswith("_seen") and name != "reason"]

    @admin.display(description="残高", ordering="balance")
    def balance_yen(self, account):
        return yen(account.balance)

    def get_queryset(self, request):
        stripes = (Account.objects.filter(stripe_of=OuterRef("pk")).order_by()
                   .values("stripe_of").annotate(total=Sum("balance")).values("total"))
        return super().get_queryset(request).annotate(stripes_balance=Subquery(stripes))

    @admin.display(description="勘定残高（分割勘定を含む）")
    def ledger_balance_yen(self, account):
        """A hot internal account's postings land on its stripes (issue 14): the bank's
        figure for it is its own balance plus theirs."""
        stripes_balance = getattr(account, "stripes_balance", None)
        return "—" if stripes_balance is None else yen(account.balance + stripes_balance)

    @admin.display(description="拘束額", ordering="hold_amount")
    def hold_amount_yen(self, account):
        return yen(account.hold_amount)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        """The bank's own accounts are shown, never changed here: their status and hold are
        the owner's (CI111, accounts 0025; docs/operations.md)."""
        if obj is not None and obj.is_internal:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    form = AccountAdminForm

    def save_model(self, request, obj, form, change):
        """Status and holds change only through the service that audits them."""
        try:
            account_admin_change(account=obj, changed=form.changed_data, actor=request.user.get_username(),
                                 seen=form.seen(), reason=form.cleaned_data.get("reason", ""))
        except AccountChangeRefused as refused:  # changed meanwhile (the form checked first)
            request.account_change_refused = refused.message

    def log_change(self, request, obj, message):
        if getattr(request, "account_change_refused", None):
            return None  # nothing changed: no 「変更しました」 in admin's history either
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        """A save the service refused under the lock says so, alone, on the same page
        (Django would add its 「…を変更しました」 beside it)."""
        refused = getattr(request, "account_change_refused", None)
        if refused:
            self.message_user(request, refused, level=messages.ERROR)
            return redirect(request.path)
        return super().response_change(request, obj)

    def refused_step(self, request, object_id):
        """What a save refused for want of ``change_account`` tried, for its 操作ログ row
        (walk31 F8, ``security.staff_admin.staff_refusal_audit``): the account, the 状態 and
        拘束額 posted, and those it had. None (the row names the page) for any other refusal."""
        match = request.resolver_match
        if (request.method != "POST" or match is None or match.url_name != "accounts_account_change"
                or not re.fullmatch(r"[0-9]{1,18}", str(object_id))):
            return None
        account = Account.objects.select_related("customer").filter(pk=int(object_id)).first()
        if account is None:
            return None
        status, hold = request.POST.get("status", ""), request.POST.get("hold_amount", "")
        tried = []
        if status and status != account.status:
            tried.append(f"状態={dict(Account.Status.choices).get(status, status[:16])}")
        if hold and normalise_digits(hold) != str(account.hold_amount):
            tried.append(f"拘束額={hold[:20]}円")
        before = f"変更前：状態={account.get_status_display()}、拘束額={account.hold_amount:,}円"
        return ("account_change", account.customer.contract_id if account.customer else "",
                f"{account.number} {'、'.join(tried) or '変更なし'}（{before}）")

    @admin.display(description="窓口入金")
    def deposit_link(self, account):
        if account.is_internal:
            return "—"
        return format_html('<a href="{}">窓口入金を記帳する</a>',
                           reverse("admin:accounts_account_deposit", args=[account.pk]))

    def get_urls(self):
        custom = [path("<int:pk>/deposit/", self.admin_site.admin_view(self.deposit_view),
                       name="accounts_account_deposit")]
        return custom + super().get_urls()

    def deposit_view(self, request, pk):
        """窓口入金 (STAFF-1): a typed amount posts for good — an entry is never changed and
        admin has no reversal — and mails the customer. So the first submit shows 契約者,
        口座, 金額 and 伝票番号; only the confirm page's own submit, bound to them by a
        signed token (CounterDepositConfirmForm), posts (walk27 F2)."""
        if not request.user.has_perm("accounts.post_counter_deposit"):
            raise PermissionDenied
        account = get_object_or_404(Account.objects.select_related("branch", "customer"), pk=pk,
                                    purpose=Account.Purpose.CUSTOMER)
        staff = request.user.get_username()
        if request.method == "POST" and "token" in request.POST:
            return self._deposit_confirmed(request, account, staff)
        form = CounterDepositForm(request.POST or None, initial={  # 「修正する」 from the confirm page
            name: request.GET[name][:32] for name in ("amount", "reference") if name in request.GET})
        if request.method == "POST" and form.is_valid():
            amount, reference = form.cleaned_data["amount"], form.cleaned_data["reference"]
            used = counter_deposit_slip_used(account=account, amount=amount, reference=reference)
            if used:
                form.add_error("reference", SLIP_POSTED if used == "same" else SLIP_USED_OTHERWISE)
            else:
                confirm = CounterDepositConfirmForm(account=account, staff=staff, initial={
                    "amount": amount, "reference": reference,
                    "token": CounterDepositConfirmForm.token_for(account=account, amount=amount,
                                                                 reference=reference, staff=staff)})
                return self._deposit_confirm_page(request, account, confirm, amount, reference)
        return self._deposit_input_page(request, account, form)

    def _deposit_input_page(self, request, account, form):
        context = {**self.admin_site.each_context(request), "title": "窓口入金", "customer": account.customer,
                   "account": account, "form": form, "button": "確認画面へ", "opts": self.model._meta,
                   "note": "次の画面で契約者・口座・入金額・伝票番号を確認してから記帳します。",
                   "change_url": reverse("admin:accounts_account_change", args=[account.pk])}
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", context)

    def _deposit_confirm_page(self, request, account, confirm, amount, reference):
        context = {**self.admin_site.each_context(request), "title": "窓口入金の確認", "customer": account.customer,
                   "account": account, "form": confirm, "amount": amount, "reference": reference,
                   "opts": self.model._meta,
                   "back_url": reverse("admin:accounts_account_deposit", args=[account.pk]) + "?" + urlencode(
                       {"amount": amount, "reference": reference})}
        return TemplateResponse(request, "admin/accounts/account/deposit_confirm.html", context)

    def _deposit_confirmed(self, request, account, staff):
        confirm = CounterDepositConfirmForm(request.POST, account=account, staff=staff)
        if not confirm.is_valid():
            form = CounterDepositForm()
            for errors_of_field in confirm.errors.values():
                for message in errors_of_field:
                    messages.error(request, message)
            return self._deposit_input_page(request, account, form)
        amount, reference = confirm.cleaned_data["amount"], confirm.cleaned_data["reference"]
        try:
            journal = counter_deposit(account=account, amount=amount, reference=reference, actor=staff)
        except errors.IdempotencyConflict:  # staff's words, not the customer's (walk25 F7)
            messages.error(request, SLIP_USED_OTHERWISE)
            return self._deposit_input_page(request, account, CounterDepositForm(initial={"amount": amount}))
        except errors.LedgerError as refused:
            confirm.add_error(None, refused.message)
            return self._deposit_confirm_page(request, account, confirm, amount, reference)
        if journal.created:
            messages.success(request, f"{amount:,}円の窓口入金を記帳しました（伝票番号 {reference}）。")
        else:  # a replay, or the other tab was first
            messages.warning(request, SLIP_POSTED)
        return redirect("admin:accounts_account_change", account.pk)


class EntryAmountsMixin:
    @admin.display(description="金額", ordering="amount")
    def amount_yen(self, entry):
        return yen_signed(entry.amount)

    @admin.display(description="取引後残高", ordering="balance_after")
    def balance_after_yen(self, entry):
        return yen(entry.balance_after)


class EntryInline(EntryAmountsMixin, admin.TabularInline):
    model = Entry
    fields = ["account", "amount_yen", "balance_after_yen", "description", "posted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Journal)
class JournalAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "description", "posted_at"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "description"]
    inlines = [EntryInline]
    show_full_result_count = False


@admin.register(Entry)
class EntryAdmin(EntryAmountsMixin, ReadOnlyAdmin):
    # 取引日時 was out of sight at 1280 beside the sidebar (walk25 F23): it comes after the
    # ID, and the journal and the account break between their words (admin.css)
    list_display = ["id", "posted_at", "account", "amount_yen", "balance_after_yen", "description", "journal"]
    fields = ["journal", "account", "amount_yen", "balance_after_yen", "description", "posted_at"]
    readonly_fields = fields
    search_fields = ["account__number"]
    list_select_related = ["journal", "account", "account__branch"]
    show_full_result_count = False


@admin.register(AccountStateChange)
class AccountStateChangeAdmin(ReadOnlyAdmin):
    """LEDGER-7 (review H3): the database's own history of status and hold — reconcile an
    unfreeze here with the staff member's account_change audit row (docs/operations.md)."""

    # nine columns scrolled the list 167 pixels sideways at 1280 beside the sidebar (walk25
    # F23): the state reads 「有効 → 支払停止」 in one column, the hold in yen in another
    list_display = ["id", "account", "status_change", "hold_change", "changed_at", "db_user_and_xact"]
    search_fields = ["account__number"]
    list_select_related = ["account", "account__branch"]
    show_full_result_count = False

    @admin.display(description="状態（変更前 → 変更後）", ordering="new_status")
    def status_change(self, change):
        labels = dict(Account.Status.choices)
        before = labels.get(change.old_status, change.old_status) or "—"
        return f"{before} → {labels.get(change.new_status, change.new_status)}"

    @admin.display(description="拘束額（変更前 → 変更後）", ordering="new_hold_amount")
    def hold_change(self, change):
        return f"{yen(change.old_hold_amount)} → {yen(change.new_hold_amount)}"

    @admin.display(description="DBユーザー・トランザクションID", ordering="xact_id")
    def db_user_and_xact(self, change):
        return f"{change.db_user} #{change.xact_id}"



# What a new 臨時休業日 meets, told to staff on save (docs/operations.md "Closing days"): the
# batch runs every day at 0:05 and executes what is dated that day or earlier, closed or
# not — as a same-day transfer on a holiday is debited at once — so a 予約 keeps its date.
CLOSING_DAY_SCHEDULED = ("この日を振込指定日とする予約中の振込が{count}件あります。これらは予約どおりこの日の0時5分からの"
                         "一括実行で処理されます（残高は前日の最終残高で判定。他行宛は翌営業日{next}の仕向ファイルで決済）。"
                         "日付の変更をご希望のお客様は、「予約振込」の画面からお客様のご依頼による取消を行い、"
                         "営業日での再予約をご案内してください。")
CLOSING_DAY_OUTGOING = ("この日を決済日とする未送信の他行宛振込（仕向）が{count}件あります。決済日は自動では変わりません。"
                        "「仕向ファイルの作成」で決済日にこの日付を指定して作成してください。")
CLOSING_DAY_SUBTITLE = ("土曜・日曜・祝日（国民の祝日・振替休日）と年末年始（12月31日～1月3日）は組み込みの休業日です。"
                        "ここにはそれ以外に当金庫が休業する日を登録します。他の処理（サーバー）には1分以内に反映されます。")


@admin.register(BankClosingDay)
class BankClosingDayAdmin(StaffModelAdmin):
    """臨時休業日 (STAFF-1, LEDGER-6): added and, while still in the future, deleted —
    never changed (delete and add again). Writes go through the services (audit row)."""

    form = BankClosingDayForm
    list_display = ["date", "customer_name", "created_by", "created_at"]
    fields = ["date", "name"]
    actions = None  # one day at a time, from its own page: a bulk delete would skip the date rule
    date_hierarchy = "date"
    search_fields = ["name"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (
            obj is None or obj.date > bankcalendar.local_now().date())

    def get_readonly_fields(self, request, obj=None):
        return ["date", "customer_name", "created_by", "created_at"] if obj is not None else []

    @admin.display(description=CLOSING_DAY_NAME_LABEL, ordering="name")
    def customer_name(self, day):
        """walk26 F8: the name as what customers read, on the list and the day's page too."""
        return day.name

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or self.fields

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"subtitle": CLOSING_DAY_SUBTITLE, **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ClosingDayRefused as refused:  # another staff member added the day meanwhile
            messages.error(request, refused.message)
            return redirect("admin:accounts_bankclosingday_add")

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ClosingDayRefused as refused:  # the day began while the page was open
            messages.error(request, refused.message)
            return redirect("admin:accounts_bankclosingday_changelist")

    def save_model(self, request, obj, form, change):
        saved = bank_closing_day_add(day=obj.date, name=obj.name, actor=request.user.get_username())
        obj.pk, obj.created_by, obj.created_at = saved.pk, saved.created_by, saved.created_at
        self._tell_what_it_meets(request, saved.date)

    def delete_model(self, request, obj):
        bank_closing_day_delete(closing_day=obj, actor=request.user.get_username())

    def _tell_what_it_meets(self, request, day):
        # transfers builds on accounts: its read is imported here, not at module level
        from transfers.selectors import closing_day_impact

        scheduled, outgoing = closing_day_impact(day)
        if scheduled:
            messages.warning(request, CLOSING_DAY_SCHEDULED.format(
                count=scheduled, next=japanese_date(bankcalendar.next_business_day(day))))
        if outgoing:
            messages.warning(request, CLOSING_DAY_OUTGOING.format(count=outgoing))
