"""The staff's pages on a customer (STAFF-1): the customer list and search, the state of
their credentials, and the security operations done at the counter — ロック解除, IB取引再開,
初回ログインパスワード再発行, 画像認証カード発行・印刷. Registered for accounts' Customer
model from here, so that imports run one way: security → accounts, never back. URL names
stay ``admin:accounts_customer_*`` (the model's admin namespace)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import unicodedata
from contextlib import contextmanager
from importlib import import_module

import jaconv
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.http import urlencode

from accounts.admin import CustomerAccountInline, StaffModelAdmin
from accounts.models import Customer
from cosei_ib.textinput import customer_text

from .audit import audit_record
from .cards import image_card_issue, image_card_render_pdf, image_card_render_png
from .forms import choice_messages
from .issue_slips import SLIP_SESSION_KEY, slip_keep, slip_kept
from .locks import customer_for_update
from .models import Credential, ImageCard
from .services import (
    IssuedMeanwhile,
    StaffActionError,
    credential_unlock,
    customer_ib_resume,
    customer_ib_suspend,
    ib_resume_guesses,
    initial_password_issue,
)

# Shown when an issue form is posted again (a reload of the slip, the back button): the
# one-time nonce of that form was used, so nothing is issued twice.
ALREADY_ISSUED = ("この発行は処理済みです（二重発行はしていません）。"
                  "パスワードを紛失した場合は、あらためて再発行してください。")
# the same for the image card (walk25 F18: it said パスワード on the card's page)
CARD_ALREADY_ISSUED = ("この発行は処理済みです（二重発行はしていません）。"
                       "カードを紛失した場合は、あらためて再発行してください。")
# walk29 F6: a form shown before another tab or staff member issued (IssuedMeanwhile): this
# request issued nothing, and re-issuing would void the slip or card the other one handed over
ISSUED_MEANWHILE = ("この画面を表示した後に、別の画面（または別の職員）で初回ログインパスワードが発行されています。"
                    "ここでは発行していません。お客様には、その発行の通知書をお渡しください"
                    "（発行日時と職員は操作ログで確認できます）。")
CARD_ISSUED_MEANWHILE = ("この画面を表示した後に、別の画面（または別の職員）で画像認証カードが発行されています。"
                         "ここでは発行していません。お客様には、そのカードをお渡しください"
                         "（発行日時と職員は操作ログで確認できます）。")
# walk28 F2: the other submit of a double click shows what the first issued (its slip, the card)
SLIP_AGAIN = ("ボタンが二度押されたため、先に発行した初回ログインパスワードの通知書をもう一度表示しています"
              "（二重発行はしていません）。")
CARD_AGAIN = "ボタンが二度押されたため、先に発行したカードを表示しています（二重発行はしていません）。"
UNLOCKED = "ロックを解除しました。お客様にメールでお知らせします。"
# probe34 F3: the other submit of a double click on ロック解除 (image card, OTP)
UNLOCK_AGAIN = ("ボタンが二度押されました。ロックは解除されています"
                "（解除とお客様へのメールは一度だけ行いました）。")
# a reload or the back button: this form's unlock already ran (or was refused)
UNLOCK_ALREADY_DONE = "このロック解除は処理済みです。ロックの状態は「認証情報の状態」で確認してください。"
# probe35 F2: the other submit of a double click on IB取引再開 (without a slip to show again)
RESUMED_AGAIN = ("ボタンが二度押されました。IB取引は再開されています"
                 "（再開とお客様へのメールは一度だけ行いました）。")
# a reload or the back button: this form's resume already ran
RESUME_ALREADY_DONE = ("このIB取引再開は処理済みです（二重に再開・発行はしていません）。"
                       "再開の日時と職員は操作ログで確認できます。")
CARD_SHOWN_ONCE = "カード画像は発行直後に一度だけ表示されます。必要な場合は再発行してください。"
UNLOCK_HELP = ("ログインパスワードのロック解除では、新しい初回ログインパスワードを発行し、通知書を印刷します"
               "（ロック中に推測されたパスワードを使わせないため。以前のパスワードは使えなくなります）。"
               "画像認証・ワンタイムパスワードは、ロックのみ解除します。")



# Django's own Japanese for a NUL is 「何か文字を入力してください。」 (wrong: staff typed
# something) and for length the technical 「この値は 100 文字以下でなければなりません…」.
REASON_MESSAGES = {"required": "理由を入力してください。", "max_length": "理由は100文字以内で入力してください。",
                   "null_characters_not_allowed": "理由に使用できない文字が含まれています。"}


class ReasonField(forms.CharField):
    """理由（本人確認の方法など） of a staff action on a customer, written to the 取引履歴 in
    admin: the check of every text staff type (``customer_text``) — a lone BEL passed as
    the required reason and showed as 「\\x07」 in the 操作ログ (walk27 F6)."""

    def __init__(self, **kwargs):
        super().__init__(label="理由（本人確認の方法など）", max_length=100,
                         error_messages=REASON_MESSAGES, **kwargs)

    def clean(self, value) -> str:
        return customer_text(super().clean(value), label="理由")


class UnlockForm(forms.Form):
    kind = forms.ChoiceField(label="ロックを解除する認証情報", choices=Credential.Kind.choices,
                             help_text=UNLOCK_HELP,
                             error_messages=choice_messages("ロックを解除する認証情報を選択してください。",
                                                            "ロックを解除する認証情報"))
    reason = ReasonField()


class ReasonForm(forms.Form):
    """The reason alone: IB取引中止・再開, 初回パスワード再発行, 画像認証カード発行, 予約取消（窓口）,
    パスキーの一括削除."""

    reason = ReasonField()


class ResumeForm(ReasonForm):
    # the count of wrong passwords during the suspension that the page showed
    guesses_seen = forms.IntegerField(min_value=0, max_value=10**9, required=False,
                                      widget=forms.HiddenInput)


class CustomerAdmin(StaffModelAdmin):
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
        """The term NFKC-normalised (全角の数字・英字, 半角カナ → one form), and also in
        katakana and half-width kana: application data keeps ｻﾄｳ as typed, staff type
        サトウ or すずき (hiragana finds the katakana reading; the kanji name matches the
        term as typed)."""
        term = unicodedata.normalize("NFKC", search_term).strip()
        katakana = jaconv.hira2kata(term)
        variants = dict.fromkeys([term, katakana, jaconv.z2h(katakana, kana=True, ascii=False, digit=False)])
        results, may_have_duplicates = super().get_search_results(request, queryset, term)
        for variant in list(variants)[1:]:
            if variant != term:
                more, more_duplicates = super().get_search_results(request, queryset, variant)
                results = results | more
                may_have_duplicates = may_have_duplicates or more_duplicates
        return results, may_have_duplicates

    @admin.display(description="ロック")
    def lock_summary(self, customer):
        locked = [c.get_kind_display() for c in customer.credentials.all() if c.is_locked]
        return "、".join(locked) if locked else "—"

    @admin.display(description="認証情報の状態")
    def locks(self, customer):
        rows = [f"{c.get_kind_display()}：{'ロック中' if c.is_locked else '正常'}（連続失敗 {c.failures} 回"
                + (f"、IB取引中止中の失敗 {c.failures_while_suspended} 回" if c.failures_while_suspended else "")
                + "）"
                for c in customer.credentials.all()]
        return "／".join(rows) or "—"

    def get_object(self, request, object_id, from_field=None):
        customer = super().get_object(request, object_id, from_field)
        if customer is not None:  # the 窓口での操作 column offers what this staff user may do
            customer.staff_user = request.user
        return customer

    @admin.display(description="窓口での操作")
    def staff_actions(self, customer):
        """Only what applies now: ロック解除 while something is locked, IB取引再開 while
        suspended (the views refuse the rest anyway) — and only what the staff user may do
        (walk25 F20: a view-only user saw five links that each led to a 403)."""
        user = getattr(customer, "staff_user", None)
        if user is None:
            return "—"
        base = "admin:accounts_customer_"
        actions = []
        if any(c.is_locked for c in customer.credentials.all()):
            actions.append(("accounts.unlock_credential", reverse(base + "unlock", args=[customer.pk]), "ロック解除"))
        if customer.status == Customer.Status.SUSPENDED:
            actions.append(("accounts.resume_ib", reverse(base + "resume", args=[customer.pk]), "IB取引再開"))
        if customer.status == Customer.Status.ACTIVE:
            actions.append(("accounts.suspend_ib", reverse(base + "suspend", args=[customer.pk]),
                            "IB取引中止（お申し出）"))
        actions += [
            ("accounts.issue_initial_password", reverse(base + "initial_password", args=[customer.pk]),
             "初回パスワード再発行"),
            ("accounts.issue_image_card", reverse(base + "card_issue", args=[customer.pk]), "画像認証カード発行・再発行"),
            # SEC-10/XFER-6: after IB取引中止 the customer cannot cancel a scheduled transfer themselves
            ("transfers.view_scheduledtransfer", reverse("admin:transfers_scheduledtransfer_changelist")
             + f"?customer__id__exact={customer.pk}&status__exact=scheduled", "予約中の振込（取消）"),
            ("security.view_auditevent",
             reverse("admin:security_auditevent_changelist") + f"?customer__id__exact={customer.pk}",
             "取引履歴（操作ログ）"),
        ]
        links = [(url, label) for permission, url, label in actions if user.has_perm(permission)]
        return format_html_join(" ｜ ", '<a href="{}">{}</a>', links) if links else "—"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        custom = [
            path("<int:pk>/unlock/", wrap(self.unlock_view), name="accounts_customer_unlock"),
            path("<int:pk>/resume/", wrap(self.resume_view), name="accounts_customer_resume"),
            path("<int:pk>/suspend/", wrap(self.suspend_view), name="accounts_customer_suspend"),
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

    # Two POSTs of one form at once (a double click) both find the nonce in the session
    # each loaded; so the nonce also keeps when its form was shown, and the issue itself
    # refuses, under the credential's row lock, when anything was issued since (SEC-3).
    # The browser shows only the last response of the two (walk28 F2): the POSTs of an
    # issue take their turns (_issue_turn), and the later one of a double click shows what
    # the first issued — its slip (issue_slips), or the card to print.

    @contextmanager
    def _issue_turn(self, request, customer):
        """One issue at a time for the customer, in one transaction with the staff session's
        nonces and kept slip: the customer's row is locked (the issue's own first lock),
        then those session keys are read again as committed — the other request of a double
        click has finished by then, and its consumed nonce, kept slip and card to print
        are seen. Yields whether the session, as this request loaded it, still held the
        posted nonce: then this request was sent before the other had finished — a double
        click, not a reload of the slip (which the nonce alone refuses)."""
        posted = request.POST.get("nonce", "")
        loaded_with_nonce = bool(posted) and posted in request.session.get(self.ISSUE_NONCE_SESSION_KEY, {})
        try:
            with transaction.atomic():
                customer_for_update(customer)
                self._issue_keys_as_stored(request)
                yield loaded_with_nonce
        except StaffActionError:
            # a refusal raised out of the turn rolled back its consumed nonce: the form
            # stays usable (the other submit of a double click tries, and is told, the same)
            self._issue_keys_as_stored(request)
            raise

    def _issue_keys_as_stored(self, request):
        stored = import_module(settings.SESSION_ENGINE).SessionStore(request.session.session_key).load()
        for key in (self.ISSUE_NONCE_SESSION_KEY, SLIP_SESSION_KEY, self.CARD_PRINT_SESSION_KEY):
            if key in stored:
                request.session[key] = stored[key]
            else:
                request.session.pop(key, None)

    def _nonce_new(self, request, purpose: str, customer) -> str:
        nonces = dict(request.session.get(self.ISSUE_NONCE_SESSION_KEY, {}))
        nonce = secrets.token_urlsafe(16)
        nonces[nonce] = {"for": f"{purpose}:{customer.pk}", "shown": timezone.now().isoformat()}
        request.session[self.ISSUE_NONCE_SESSION_KEY] = dict(list(nonces.items())[-self.ISSUE_NONCE_LIMIT:])
        return nonce

    def _nonce_consume(self, request, purpose: str, customer) -> dt.datetime | None:
        """When the form of the posted nonce was shown, or None (no such form: issue nothing)."""
        nonces = dict(request.session.get(self.ISSUE_NONCE_SESSION_KEY, {}))
        kept = nonces.pop(request.POST.get("nonce", ""), None)
        if not isinstance(kept, dict) or kept.get("for") != f"{purpose}:{customer.pk}":
            return None
        request.session[self.ISSUE_NONCE_SESSION_KEY] = nonces
        request.session.save()  # in _issue_turn's transaction: committed with the issue
        return dt.datetime.fromisoformat(kept["shown"])

    def _already_issued(self, request, customer, message=ALREADY_ISSUED):
        messages.error(request, message)
        return redirect("admin:accounts_customer_change", customer.pk)

    def _slip_again(self, request, customer, purpose: str, double_click: bool, otherwise=None):
        """The posted nonce was used: on a double click, the slip the other request issued
        (never shown: the browser dropped that response); otherwise ``otherwise()``, by
        default 「処理済み」."""
        kept = slip_kept(request.session, nonce=request.POST.get("nonce", ""), purpose=f"{purpose}:{customer.pk}")
        if not double_click or kept is None:
            return otherwise() if otherwise else self._already_issued(request, customer)
        password, issued_at = kept
        return self._password_slip(request, customer, password, issued_at=issued_at, again=True)

    def _issued_slip(self, request, customer, purpose: str, password: str):
        """The slip of a password just issued, kept for the other submit of a double click
        (saved in _issue_turn's transaction, so that request reads it once it has its turn)."""
        issued_at = timezone.now()
        slip_keep(request.session, nonce=request.POST.get("nonce", ""), purpose=f"{purpose}:{customer.pk}",
                  password=password, issued_at=issued_at)
        request.session.save()
        return self._password_slip(request, customer, password, issued_at=issued_at)

    def _password_issue(self, request, customer, form, *, purpose: str, reason: str, unlock: bool):
        """A new initial password from the form ``purpose`` (「unlock」 or 「initial_password」),
        in its issue turn: the slip, the slip again for a double click's other submit, or
        「発行されています」 for a form shown before another issue; None with the service's
        refusal put on ``form``."""
        with self._issue_turn(request, customer) as double_click:
            shown = self._nonce_consume(request, purpose, customer)
            if shown is None:
                return self._slip_again(request, customer, purpose, double_click)
            try:
                password = initial_password_issue(customer=customer, reason=reason, unlock=unlock,
                                                  actor=request.user.get_username(), form_shown_at=shown)
            except IssuedMeanwhile:
                return self._already_issued(request, customer, ISSUED_MEANWHILE)
            except StaffActionError as refused:
                form.add_error(None, refused.message)
                return None
            return self._issued_slip(request, customer, purpose, password)

    def _credential_unlock(self, request, customer, form, *, kind: str, reason: str):
        """Image card and OTP, in the issue turn with the form's nonce (probe34 F3): the other
        submit of a double click, or a reload, lifts nothing and says what the first did — it
        said 「…はロックされていません。」, the last response the browser showed, though the
        lock was lifted. None with the service's refusal put on ``form``."""
        with self._issue_turn(request, customer) as double_click:
            if self._nonce_consume(request, "unlock", customer) is None:
                if double_click and not customer.credentials.filter(kind=kind, locked_at__isnull=False).exists():
                    messages.success(request, UNLOCK_AGAIN)
                    return redirect("admin:accounts_customer_change", customer.pk)
                return self._already_issued(request, customer, UNLOCK_ALREADY_DONE)
            try:
                credential_unlock(customer=customer, kind=kind, reason=reason,
                                  actor=request.user.get_username())
            except StaffActionError as refused:
                form.add_error(None, refused.message)
                return None
        messages.success(request, UNLOCKED)
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
                issued = self._password_issue(request, customer, form, purpose="unlock", reason=reason, unlock=True)
                if issued is not None:
                    return issued
            else:
                unlocked = self._credential_unlock(request, customer, form, kind=kind, reason=reason)
                if unlocked is not None:
                    return unlocked
        return self._render(request, customer, form, "ロック解除", "ロックを解除する",
                            {"nonce": self._nonce_new(request, "unlock", customer)})

    def _password_slip(self, request, customer, password, *, issued_at=None, again: bool = False):
        """初回ログインパスワード通知書: the POST response itself, never cached; the
        password is in no log or database row, nor in clear in the session (issue_slips).
        ``again``: the other submit of a double click shows the same slip, with its note
        rendered by this response (never kept in the messages cookie both responses set)."""
        if again:
            messages.warning(request, SLIP_AGAIN)
        context = {**self.admin_site.each_context(request), "title": "初回ログインパスワード通知書",
                   "customer": customer, "password": password, "opts": self.model._meta,
                   "bank_name": settings.BANK_NAME, "issued_at": timezone.localtime(issued_at),
                   "staff_name": request.user.get_full_name() or request.user.get_username(),
                   "change_url": reverse("admin:accounts_customer_change", args=[customer.pk])}
        response = TemplateResponse(request, "admin/accounts/customer/initial_password_slip.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def resume_view(self, request, pk):
        """IB取引再開. Staff see how many wrong passwords were typed during the suspension;
        after any, the resume issues a new initial password and prints its slip."""
        customer = self._customer(request, pk, "resume_ib")
        guesses = ib_resume_guesses(customer=customer)
        if guesses and not request.user.has_perm("accounts.issue_initial_password"):
            raise PermissionDenied
        form = ResumeForm(request.POST or None, initial={"guesses_seen": guesses})
        if request.method == "POST" and form.is_valid():
            try:
                return self._ib_resume(request, customer, reason=form.cleaned_data["reason"],
                                       guesses_seen=form.cleaned_data["guesses_seen"] or 0)
            except StaffActionError as refused:
                form = ResumeForm(data={"reason": form.cleaned_data["reason"],
                                        "guesses_seen": ib_resume_guesses(customer=customer)})
                form.is_valid()
                form.add_error(None, refused.message)
        if guesses:
            note = (f"IB取引中止中に、ログインパスワードの誤入力が{guesses}回ありました。"
                    "再開すると新しい初回ログインパスワードを発行し、通知書を印刷します"
                    "（以前のパスワードは使えなくなります）。")
        else:
            note = "IB取引中止中のログインパスワードの誤入力はありません。"
        return self._render(request, customer, form, "IB取引再開", "再開する",
                            {"note": note, "nonce": self._nonce_new(request, "resume", customer)})

    def _ib_resume(self, request, customer, *, reason: str, guesses_seen: int):
        """IB取引再開 in its issue turn with the form's nonce (probe35 F2): the other submit
        of a double click showed 「この契約者はIB取引中止の状態ではありません。」 — the last
        response, the one the browser shows — while the first had issued a new initial
        password on a slip nobody saw. It now resumes nothing and shows that slip again, or
        says the resume was done; a reload says 「処理済み」. A refusal of the service is
        raised out of the turn, the nonce unused."""
        with self._issue_turn(request, customer) as double_click:
            if self._nonce_consume(request, "resume", customer) is None:
                return self._slip_again(request, customer, "resume", double_click,
                                        otherwise=lambda: self._resumed_again(request, customer, double_click))
            password = customer_ib_resume(customer=customer, reason=reason, actor=request.user.get_username(),
                                          guesses_seen=guesses_seen)
            if password is not None:
                return self._issued_slip(request, customer, "resume", password)
        messages.success(request, "IB取引を再開しました。")
        return redirect("admin:accounts_customer_change", customer.pk)

    def _resumed_again(self, request, customer, double_click: bool):
        if double_click and Customer.objects.filter(pk=customer.pk, status=Customer.Status.ACTIVE).exists():
            messages.success(request, RESUMED_AGAIN)
            return redirect("admin:accounts_customer_change", customer.pk)
        return self._already_issued(request, customer, RESUME_ALREADY_DONE)

    def suspend_view(self, request, pk):
        """IB取引中止 for a customer who phoned or came in (SEC-10; the guide tells them to
        suspend themselves or contact the bank at once): sessions end at once; the customer
        is mailed; then staff look at the scheduled transfers."""
        customer = self._customer(request, pk, "suspend_ib")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                customer_ib_suspend(customer=customer, ip=None, actor=request.user.get_username(),
                                    reason=form.cleaned_data["reason"])
            except StaffActionError as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, "IB取引を中止しました（ログイン中の操作も終了しました）。お客様にメールでお知らせします。"
                                          "予約中の振込は「予約中の振込（取消）」から取り消せます。")
                return redirect("admin:accounts_customer_change", customer.pk)
        return self._render(request, customer, form, "IB取引中止（お客様のお申し出）", "IB取引を中止する", {
            "note": "インターネットバンキングのご利用をすべて停止します（ログイン中の操作も終了します）。"
                    "再開は「IB取引再開」から。予約中の振込は自動では取り消されません。"})

    def initial_password_view(self, request, pk):
        """Shows the new initial password once, on a printable slip; never stored in clear."""
        customer = self._customer(request, pk, "issue_initial_password")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            issued = self._password_issue(request, customer, form, purpose="initial_password",
                                          reason=form.cleaned_data["reason"], unlock=False)
            if issued is not None:
                return issued
        return self._render(request, customer, form, "初回ログインパスワード再発行", "再発行する",
                            {"note": "新しい初回ログインパスワードは一度だけ表示されます。印刷してお客様にお渡しください。",
                             "nonce": self._nonce_new(request, "initial_password", customer)})

    # --- SEC-5: issue and print the image card. The layout is shown only between issuing
    # and printing (a one-time mark in the staff session), never again afterwards.

    CARD_PRINT_SESSION_KEY = "staff_card_print_once"

    def card_issue_view(self, request, pk):
        customer = self._customer(request, pk, "issue_image_card")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            with self._issue_turn(request, customer) as double_click:
                shown = self._nonce_consume(request, "card_issue", customer)
                if shown is None:
                    card = self._card_to_print(request, customer) if double_click else None
                    if card is not None:
                        return self._card_print_redirect(customer, again=card)
                    return self._already_issued(request, customer, CARD_ALREADY_ISSUED)
                try:
                    card = image_card_issue(customer=customer, actor=request.user.get_username(),
                                            reason=form.cleaned_data["reason"], form_shown_at=shown)
                except IssuedMeanwhile:
                    return self._already_issued(request, customer, CARD_ISSUED_MEANWHILE)
                request.session[self.CARD_PRINT_SESSION_KEY] = card.pk
                request.session.save()  # in the turn's transaction: the double click's other submit sees it
            messages.success(request, "画像認証カードを発行しました。以前のカードは使えなくなりました。")
            return self._card_print_redirect(customer)
        return self._render(request, customer, form, "画像認証カード発行・再発行", "発行する",
                            {"note": "発行すると、お客様の以前のカードはただちに使えなくなります。"
                                     "カードの画像は発行直後の印刷時に一度だけ表示されます。",
                             "nonce": self._nonce_new(request, "card_issue", customer)})

    CARD_AGAIN_PARAMETER = "again"

    @classmethod
    def _card_print_redirect(cls, customer, again=None):
        """To the print page; ``again``: the card the other submit of a double click issued.
        The note 「ボタンが二度押されたため…」 rides in this redirect's own URL: both responses of
        a double click set the one messages cookie, and the one that lands last (the first
        submit's 「発行しました」, as often as not) wiped the other's note (staff32)."""
        url = reverse("admin:accounts_customer_card_print", args=[customer.pk])
        return redirect(url if again is None else f"{url}?{urlencode({cls.CARD_AGAIN_PARAMETER: again.pk})}")

    def _card_to_print(self, request, customer):
        card_id = request.session.get(self.CARD_PRINT_SESSION_KEY)
        return ImageCard.objects.filter(pk=card_id, customer=customer, is_active=True).first()

    def _card_shown_once(self, request, customer):
        """After 印刷完了 (or in another session): back to the customer, not a 403 page."""
        messages.error(request, CARD_SHOWN_ONCE)
        return redirect("admin:accounts_customer_change", customer.pk)

    def card_print_view(self, request, pk):
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
        if request.GET.get(self.CARD_AGAIN_PARAMETER) == str(card.pk):
            messages.warning(request, CARD_AGAIN)  # shown by this response, never kept for another
        png = base64.b64encode(image_card_render_png(card)).decode()
        context = {**self.admin_site.each_context(request), "title": "画像認証カード印刷", "customer": customer,
                   "png": png, "opts": self.model._meta, "bank_name": settings.BANK_NAME,
                   "pdf_url": reverse("admin:accounts_customer_card_pdf", args=[customer.pk])}
        response = TemplateResponse(request, "admin/accounts/customer/card_print.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def card_pdf_view(self, request, pk):
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
