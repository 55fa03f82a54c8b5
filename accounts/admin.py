"""Branch staff work here (STAFF-1). Ledger rows are read-only for everyone; every staff
action goes through a service that writes its audit row and the customer's notice."""

from __future__ import annotations

import re
import secrets
import unicodedata

import jaconv
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from security.forms import normalise_digits
from security.audit import audit_record
from security.models import Credential
from security.services import (
    StaffActionError,
    credential_unlock,
    customer_ib_resume,
    initial_password_issue,
)

from . import errors
from .models import Account, Branch, Customer, Entry, Journal
from .services import (
    MAX_COUNTER_DEPOSIT,
    AccountChangeRefused,
    account_admin_change,
    account_admin_change_problem,
    counter_deposit,
)


# Shown when an issue form is posted again (a reload of the slip, the back button): the
# one-time nonce of that form was used, so nothing is issued twice.
ALREADY_ISSUED = ("この発行は処理済みです（二重発行はしていません）。"
                  "パスワードを紛失した場合は、あらためて再発行してください。")
CARD_SHOWN_ONCE = "カード画像は発行直後に一度だけ表示されます。必要な場合は再発行してください。"
UNLOCK_HELP = ("ログインパスワードのロック解除では、新しい初回ログインパスワードを発行し、通知書を印刷します"
               "（ロック中に推測されたパスワードを使わせないため。以前のパスワードは使えなくなります）。"
               "画像認証・ワンタイムパスワードは、ロックのみ解除します。")


def yen(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:,}円"


def yen_signed(amount: int | None) -> str:
    return "—" if amount is None else f"{amount:+,}円"


class ReadOnlyAdmin(admin.ModelAdmin):
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


class UnlockForm(forms.Form):
    kind = forms.ChoiceField(label="ロックを解除する認証情報", choices=Credential.Kind.choices,
                             help_text=UNLOCK_HELP)
    reason = forms.CharField(label="理由（本人確認の方法など）", max_length=100,
                             error_messages={"required": "理由を入力してください。"})


class ReasonForm(forms.Form):
    reason = forms.CharField(label="理由（本人確認の方法など）", max_length=100,
                             error_messages={"required": "理由を入力してください。"})


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["contract_id", "name_kanji", "name_kana", "status", "lock_summary", "last_login_at"]
    list_filter = ["status"]
    search_fields = ["contract_id", "name_kanji", "name_kana"]
    search_help_text = "契約者ID・氏名・カナで検索（全角・半角カナどちらでも）"
    readonly_fields = ["contract_id", "name_kanji", "name_kana", "email", "status", "password_is_initial",
                       "last_login_at", "previous_login_at", "created_at", "locks", "staff_actions"]
    fields = readonly_fields
    inlines = [CustomerAccountInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("credentials")

    def get_search_results(self, request, queryset, search_term):
        """The term NFKC-normalised (全角の数字・英字, 半角カナ → one form), and also as
        half-width kana: application data keeps ｻﾄｳ as typed, staff type サトウ."""
        term = unicodedata.normalize("NFKC", search_term).strip()
        results, may_have_duplicates = super().get_search_results(request, queryset, term)
        half_width = jaconv.z2h(term, kana=True, ascii=False, digit=False)
        if half_width != term:
            more, more_duplicates = super().get_search_results(request, queryset, half_width)
            results = results | more
            may_have_duplicates = may_have_duplicates or more_duplicates
        return results, may_have_duplicates

    @admin.display(description="ロック")
    def lock_summary(self, customer):
        locked = [c.get_kind_display() for c in customer.credentials.all() if c.is_locked]
        return "、".join(locked) if locked else "—"

    @admin.display(description="認証情報の状態")
    def locks(self, customer):
        rows = [f"{c.get_kind_display()}：{'ロック中' if c.is_locked else '正常'}（連続失敗 {c.failures} 回）"
                for c in customer.credentials.all()]
        return "／".join(rows) or "—"

    @admin.display(description="窓口での操作")
    def staff_actions(self, customer):
        """Only what applies now: ロック解除 while something is locked, IB取引再開 while
        suspended (the views refuse the rest anyway)."""
        base = "admin:accounts_customer_"
        links = []
        if any(c.is_locked for c in customer.credentials.all()):
            links.append((reverse(base + "unlock", args=[customer.pk]), "ロック解除"))
        if customer.status == Customer.Status.SUSPENDED:
            links.append((reverse(base + "resume", args=[customer.pk]), "IB取引再開"))
        links += [
            (reverse(base + "initial_password", args=[customer.pk]), "初回パスワード再発行"),
            (reverse(base + "card_issue", args=[customer.pk]), "画像認証カード発行・再発行"),
            (reverse("admin:security_auditevent_changelist") + f"?customer__id__exact={customer.pk}",
             "取引履歴（操作ログ）"),
        ]
        return format_html_join(" ｜ ", '<a href="{}">{}</a>', links)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("<int:pk>/unlock/", wrap(self.unlock_view), name="accounts_customer_unlock"),
            path("<int:pk>/resume/", wrap(self.resume_view), name="accounts_customer_resume"),
            path("<int:pk>/initial-password/", wrap(self.initial_password_view),
                 name="accounts_customer_initial_password"),
            path("<int:pk>/card/issue/", wrap(self.card_issue_view), name="accounts_customer_card_issue"),
            path("<int:pk>/card/print/", wrap(self.card_print_view), name="accounts_customer_card_print"),
            path("<int:pk>/card/print.pdf", wrap(self.card_pdf_view), name="accounts_customer_card_pdf"),
        ]
        return custom + super().get_urls()

    def _customer(self, request, pk, permission):
        if not request.user.has_perm(f"accounts.{permission}"):
            raise PermissionDenied
        return get_object_or_404(Customer.objects.select_related("user"), pk=pk)

    def _render(self, request, customer, form, title, button, extra=None):
        context = {**self.admin_site.each_context(request), "title": title, "customer": customer,
                   "form": form, "button": button, "opts": self.model._meta,
                   "change_url": reverse("admin:accounts_customer_change", args=[customer.pk]),
                   **(extra or {})}
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", context)

    # --- One-time nonces (SEC-3, SEC-5): a form that issues something carries a nonce
    # kept in the staff session; the issue runs only when the posted nonce is there and is
    # consumed by it. A reload of the slip (the browser posts again) or the back button
    # issues nothing. Nothing secret is kept: the nonce only names the form.

    ISSUE_NONCE_SESSION_KEY = "staff_issue_nonces"
    ISSUE_NONCE_LIMIT = 20  # open forms (tabs) remembered per staff session

    def _nonce_new(self, request, purpose: str, customer) -> str:
        nonces = dict(request.session.get(self.ISSUE_NONCE_SESSION_KEY, {}))
        nonce = secrets.token_urlsafe(16)
        nonces[nonce] = f"{purpose}:{customer.pk}"
        request.session[self.ISSUE_NONCE_SESSION_KEY] = dict(list(nonces.items())[-self.ISSUE_NONCE_LIMIT:])
        return nonce

    def _nonce_consume(self, request, purpose: str, customer) -> bool:
        nonces = dict(request.session.get(self.ISSUE_NONCE_SESSION_KEY, {}))
        if nonces.pop(request.POST.get("nonce", ""), None) != f"{purpose}:{customer.pk}":
            return False
        request.session[self.ISSUE_NONCE_SESSION_KEY] = nonces
        request.session.save()  # before the issue: a parallel re-POST finds it gone sooner
        return True

    def _already_issued(self, request, customer):
        messages.error(request, ALREADY_ISSUED)
        return redirect("admin:accounts_customer_change", customer.pk)

    def unlock_view(self, request, pk):
        """Image card and OTP: the lock is lifted. Login password (SEC-8): a new initial
        password is issued and printed, since a password guessed during the lock must not
        work after it."""
        customer = self._customer(request, pk, "unlock_credential")
        locked = [c.kind for c in customer.credentials.all() if c.is_locked]
        form = UnlockForm(request.POST or None, initial={"kind": locked[0] if locked else None})
        if request.method == "POST" and form.is_valid():
            kind, reason = form.cleaned_data["kind"], form.cleaned_data["reason"]
            if kind == Credential.Kind.PASSWORD:
                if not request.user.has_perm("accounts.issue_initial_password"):
                    raise PermissionDenied
                if not self._nonce_consume(request, "unlock", customer):
                    return self._already_issued(request, customer)
                try:
                    password = initial_password_issue(customer=customer, reason=reason, unlock=True,
                                                      actor=request.user.get_username())
                except StaffActionError as refused:
                    form.add_error(None, refused.message)
                else:
                    return self._password_slip(request, customer, password)
            else:
                try:
                    credential_unlock(customer=customer, kind=kind, reason=reason,
                                      actor=request.user.get_username())
                except StaffActionError as refused:
                    form.add_error(None, refused.message)
                else:
                    messages.success(request, "ロックを解除しました。お客様にメールでお知らせします。")
                    return redirect("admin:accounts_customer_change", customer.pk)
        return self._render(request, customer, form, "ロック解除", "ロックを解除する",
                            {"nonce": self._nonce_new(request, "unlock", customer)})

    def _password_slip(self, request, customer, password):
        """初回ログインパスワード通知書: the POST response itself, never cached; the
        password is in no session, log or database row."""
        context = {**self.admin_site.each_context(request), "title": "初回ログインパスワード通知書",
                   "customer": customer, "password": password, "opts": self.model._meta,
                   "bank_name": settings.BANK_NAME, "issued_at": timezone.localtime(),
                   "staff_name": request.user.get_full_name() or request.user.get_username(),
                   "change_url": reverse("admin:accounts_customer_change", args=[customer.pk])}
        response = TemplateResponse(request, "admin/accounts/customer/initial_password_slip.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def resume_view(self, request, pk):
        customer = self._customer(request, pk, "resume_ib")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                customer_ib_resume(customer=customer, reason=form.cleaned_data["reason"],
                                   actor=request.user.get_username())
            except StaffActionError as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, "IB取引を再開しました。")
                return redirect("admin:accounts_customer_change", customer.pk)
        return self._render(request, customer, form, "IB取引再開", "再開する")

    def initial_password_view(self, request, pk):
        """Shows the new initial password once, on a printable slip; never stored in clear."""
        customer = self._customer(request, pk, "issue_initial_password")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if not self._nonce_consume(request, "initial_password", customer):
                return self._already_issued(request, customer)
            try:
                password = initial_password_issue(customer=customer, reason=form.cleaned_data["reason"],
                                                  actor=request.user.get_username())
            except StaffActionError as refused:
                form.add_error(None, refused.message)
            else:
                return self._password_slip(request, customer, password)
        return self._render(request, customer, form, "初回ログインパスワード再発行", "再発行する",
                            {"note": "新しい初回ログインパスワードは一度だけ表示されます。印刷してお客様にお渡しください。",
                             "nonce": self._nonce_new(request, "initial_password", customer)})

    # --- SEC-5: issue and print the image card. The layout is shown only between issuing
    # and printing (a one-time mark in the staff session), never again afterwards.

    CARD_PRINT_SESSION_KEY = "staff_card_print_once"

    def card_issue_view(self, request, pk):
        from security.cards import image_card_issue

        customer = self._customer(request, pk, "issue_image_card")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if not self._nonce_consume(request, "card_issue", customer):
                return self._already_issued(request, customer)
            card = image_card_issue(customer=customer, actor=request.user.get_username())
            request.session[self.CARD_PRINT_SESSION_KEY] = card.pk
            messages.success(request, "画像認証カードを発行しました。以前のカードは使えなくなりました。")
            return redirect("admin:accounts_customer_card_print", customer.pk)
        return self._render(request, customer, form, "画像認証カード発行・再発行", "発行する",
                            {"note": "発行すると、お客様の以前のカードはただちに使えなくなります。"
                                     "カードの画像は発行直後の印刷時に一度だけ表示されます。",
                             "nonce": self._nonce_new(request, "card_issue", customer)})

    def _card_to_print(self, request, customer):
        from security.models import ImageCard

        card_id = request.session.get(self.CARD_PRINT_SESSION_KEY)
        return ImageCard.objects.filter(pk=card_id, customer=customer, is_active=True).first()

    def _card_shown_once(self, request, customer):
        """After 印刷完了 (or in another session): back to the customer, not a 403 page."""
        messages.error(request, CARD_SHOWN_ONCE)
        return redirect("admin:accounts_customer_change", customer.pk)

    def card_print_view(self, request, pk):
        import base64

        from security.cards import image_card_render_png

        customer = self._customer(request, pk, "issue_image_card")
        card = self._card_to_print(request, customer)
        if card is None:
            return self._card_shown_once(request, customer)
        if request.method == "POST":  # 印刷完了: the layout is never shown again
            request.session.pop(self.CARD_PRINT_SESSION_KEY, None)
            audit_record(action="card_print", outcome="success", customer=customer,
                         summary="印刷完了", actor=request.user.get_username())
            messages.success(request, "印刷を完了しました。カードの画像は今後表示されません。")
            return redirect("admin:accounts_customer_change", customer.pk)
        png = base64.b64encode(image_card_render_png(card)).decode()
        context = {**self.admin_site.each_context(request), "title": "画像認証カード印刷", "customer": customer,
                   "png": png, "opts": self.model._meta, "bank_name": settings.BANK_NAME,
                   "pdf_url": reverse("admin:accounts_customer_card_pdf", args=[customer.pk])}
        response = TemplateResponse(request, "admin/accounts/customer/card_print.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def card_pdf_view(self, request, pk):
        from django.http import HttpResponse

        from security.cards import image_card_render_pdf

        customer = self._customer(request, pk, "issue_image_card")
        card = self._card_to_print(request, customer)
        if card is None:
            return self._card_shown_once(request, customer)
        audit_record(action="card_print", outcome="success", customer=customer, summary="PDF",
                     actor=request.user.get_username())
        response = HttpResponse(image_card_render_pdf(card), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="image-card-{customer.contract_id}.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class CounterDepositForm(forms.Form):
    amount = forms.CharField(label="入金額（円）", max_length=16,
                             error_messages={"required": "入金額を入力してください。"})
    reference = forms.CharField(label="伝票番号", max_length=32,
                                error_messages={"required": "伝票番号を入力してください。"})

    def clean_amount(self) -> int:
        raw = normalise_digits(self.cleaned_data["amount"]).replace(",", "")
        if not (raw.isascii() and raw.isdigit()):  # "፩".isdigit() is True, int() fails
            raise forms.ValidationError("入金額は数字で入力してください。")
        amount = int(raw)
        if amount <= 0:
            raise forms.ValidationError("入金額は1円以上で入力してください。")
        if amount > MAX_COUNTER_DEPOSIT:
            raise forms.ValidationError(f"窓口入金は1回{MAX_COUNTER_DEPOSIT:,}円までです。")
        return amount

    def clean_reference(self) -> str:
        """The slip number is the idempotency key, so 「Ａ－１」, 「a-1」 and 「A-1」 must be
        the same slip: NFKC, upper case, and only letters, digits and hyphens."""
        raw = normalise_digits(self.cleaned_data["reference"]).upper().replace(" ", "")
        if not re.fullmatch(r"[0-9A-Z-]{1,32}", raw):
            raise forms.ValidationError("伝票番号は英数字とハイフンで入力してください。")
        return raw


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["status", "hold_amount"]

    def clean(self):
        data = super().clean()
        if "status" in data and data.get("hold_amount") is not None:
            problem = account_admin_change_problem(account=self.instance, status=data["status"],
                                                   hold_amount=data["hold_amount"])
            if problem:
                raise forms.ValidationError(problem)
        return data


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "purpose", "status", "balance_yen", "hold_amount_yen"]
    list_filter = ["purpose", "status", "type", "branch"]
    search_fields = ["number", "holder_kana", "customer__contract_id", "customer__name_kanji"]
    readonly_fields = ["branch", "customer", "purpose", "type", "number", "holder_kana", "name",
                       "balance_yen", "last_entry_at", "opened_at", "deposit_link", "hold_amount_yen"]
    fields = readonly_fields[:-1] + ["status", "hold_amount"]

    def get_fields(self, request, obj=None):
        """Whoever may not change the account reads the hold as 「1,234円」 too."""
        if self.has_change_permission(request, obj):
            return self.fields
        return [("hold_amount_yen" if name == "hold_amount" else name) for name in self.fields]

    @admin.display(description="残高", ordering="balance")
    def balance_yen(self, account):
        return yen(account.balance)

    @admin.display(description="拘束額", ordering="hold_amount")
    def hold_amount_yen(self, account):
        return yen(account.hold_amount)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    form = AccountAdminForm

    def save_model(self, request, obj, form, change):
        """Status and holds change only through the service that audits them."""
        try:
            account_admin_change(account=obj, changed=form.changed_data, actor=request.user.get_username())
        except AccountChangeRefused as refused:  # changed meanwhile (the form checked first)
            self.message_user(request, refused.message, level=messages.ERROR)

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
        if not request.user.has_perm("accounts.post_counter_deposit"):
            raise PermissionDenied
        account = get_object_or_404(Account.objects.select_related("branch", "customer"), pk=pk,
                                    purpose=Account.Purpose.CUSTOMER)
        form = CounterDepositForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                journal = counter_deposit(account=account, amount=form.cleaned_data["amount"],
                                          reference=form.cleaned_data["reference"],
                                          actor=request.user.get_username())
            except errors.LedgerError as refused:
                form.add_error(None, refused.message)
            else:
                if journal.created:
                    messages.success(request, f"{form.cleaned_data['amount']:,}円の窓口入金を記帳しました。")
                else:
                    messages.warning(request, "この伝票番号の入金は記帳済みです（二重記帳はしていません）。")
                return redirect("admin:accounts_account_change", account.pk)
        context = {**self.admin_site.each_context(request), "title": "窓口入金", "customer": account.customer,
                   "account": account, "form": form, "button": "記帳する", "opts": self.model._meta,
                   "change_url": reverse("admin:accounts_account_change", args=[account.pk])}
        return TemplateResponse(request, "admin/accounts/customer/staff_action.html", context)


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
    list_display = ["id", "journal", "account", "amount_yen", "balance_after_yen", "description", "posted_at"]
    fields = ["journal", "account", "amount_yen", "balance_after_yen", "description", "posted_at"]
    readonly_fields = fields
    search_fields = ["account__number"]
    list_select_related = ["journal", "account", "account__branch"]
    show_full_result_count = False
