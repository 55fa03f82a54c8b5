from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import Customer
from cosei_ib import bankcalendar
from cosei_ib.bankcalendar import MESSAGE_OUTSIDE_HOURS

from . import selectors
from . import session as customer_session
from .audit import audit_contract_id_typed, audit_record, client_ip
from .decorators import customer_required
from .cards import image_card_challenge_current
from .errors import AuthFactorError
from .forms import (
    LoginForm,
    OtpLoginForm,
    OtpLoginSettingForm,
    OtpRegisterForm,
    PasswordChangeForm,
)
from .models import AuditEvent, Credential
from .otp import (
    OTP_ACTIVATION_REPLACED,
    OTP_LOCKED,
    otp_activate,
    otp_activation_completed,
    otp_config_uri,
    otp_login_setting_change,
    otp_qr_svg,
    otp_secret_base32,
    otp_token_active,
    otp_token_issue,
    otp_token_pending_get,
    otp_verify,
)
from .pictograms import pictogram_png
from .services import (
    LOGIN_LOCKED,
    LOGIN_SUSPENDED,
    PASSWORD_CHANGED_MEANWHILE,
    PASSWORD_RULE_TEXT,
    PasswordChangedMeanwhile,
    PasswordChangeError,
    customer_ib_suspend,
    login_authenticate,
    login_refusal,
    password_change,
)
from .stepup_flow import stepup_pending_confirm, stepup_pending_start


def _password_rule() -> str:
    return PASSWORD_RULE_TEXT.format(min=settings.LOGIN_PASSWORD_MIN_LENGTH,
                                     max=settings.LOGIN_PASSWORD_MAX_LENGTH)


def _service_hours(request) -> dict:
    """The login pages' view of LEDGER-6: the hours, and whether it is open now."""
    return {"service_hours": bankcalendar.hours_text(), "service_open": bankcalendar.is_service_open()}


def _closed_refusal(request, form, *, contract_id: str, action: str) -> None:
    """Outside the service hours nothing is checked or counted: the password is not even
    looked at, so the visit is no login (not 前回ログイン) and no guess. Audited."""
    audit_record(action=action, outcome=AuditEvent.Outcome.REFUSED,
                 contract_id=audit_contract_id_typed(contract_id), summary="ご利用時間外",
                 ip=client_ip(request))
    form.add_error(None, MESSAGE_OUTSIDE_HOURS.format(hours=bankcalendar.hours_text()))


@sensitive_post_parameters("password")
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request):
    if request.customer is not None:
        return redirect("home")
    ended = customer_session.session_ended_message(request)  # ended from elsewhere: why (walk26 F9)
    form = LoginForm(request.POST or None)
    hours = _service_hours(request)
    if request.method == "POST" and not form.is_valid():
        _malformed_id_audit(request, form, action="login")
    if request.method == "POST" and form.is_valid() and not hours["service_open"]:
        _closed_refusal(request, form, contract_id=form.cleaned_data["contract_id"], action="login")
    elif request.method == "POST" and form.is_valid():
        outcome = login_authenticate(
            contract_id=form.cleaned_data["contract_id"],
            password=form.cleaned_data["password"],
            ip=client_ip(request),
        )
        if outcome.ok:
            customer = outcome.customer
            stage = selectors.login_next_stage(customer)
            customer_session.session_start(request, customer, stage=stage)
            return redirect(customer_session.after_login_url(request))
        form.add_error(None, outcome.error)
    return render(request, "security/login.html", {"form": form, "ended": ended, **hours})


def _malformed_id_audit(request, form, *, action: str) -> None:
    """A contract ID refused for its form (``LoginForm.clean_contract_id``) is a decision
    too (SEC-13): audited 拒否 「契約者ID形式誤り」, the typed ID kept only as the unknown
    ID's is (digits only). No customer is looked up, nothing counted (SEC-1, SEC-8)."""
    if any(error.code != "required" for error in form.errors.as_data().get("contract_id", ())):
        audit_record(action=action, outcome=AuditEvent.Outcome.REFUSED, summary="契約者ID形式誤り",
                     contract_id=audit_contract_id_typed(request.POST.get("contract_id", "")),
                     ip=client_ip(request))


# what the end of a session clears in the browser (SEC-9): the tabs still open lose the
# session and the CSRF cookie with it
CLEAR_SITE_DATA = '"cache", "cookies", "storage"'


@require_POST
def logout_view(request):
    customer = getattr(request.user, "customer", None) if request.user.is_authenticated else None
    if customer is not None:
        audit_record(action="logout", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     ip=client_ip(request))
    customer_session.session_end(request)
    timed_out = request.POST.get("reason") == "timeout"  # the page's idle timer (SEC-9)
    response = redirect(reverse("security:logged_out") + ("?reason=timeout" if timed_out else ""))
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response


def logged_out_view(request):
    """ログアウト, or the automatic one (SEC-9, SEC-12): ``?reason=timeout`` after the idle
    limit, ``?reason=expired`` after the absolute one (walk29 F3: both read as idleness)."""
    reason = request.GET.get("reason")
    return render(request, "security/logged_out.html", {
        "timeout": reason in ("timeout", "expired"), "expired": reason == "expired",
        "absolute_hours": settings.SESSION_ABSOLUTE_SECONDS // 3600})


def _session_refused(request, message: str):
    """This session may not go on (a lock or suspension found mid-way): end it on the
    server and show the login page with the login's own message."""
    customer_session.session_end(request)
    messages.error(request, message)
    return redirect("security:login")


CHANGED, REFUSED, ENDED, DONE_ELSEWHERE = "changed", "refused", "ended", "done_elsewhere"
PASSWORD_CHANGED = "ログインパスワードを変更しました。"


def _password_change_submit(request, form, customer) -> str:
    """Run the change for a valid form. CHANGED; REFUSED with the Japanese messages put on
    the form; ENDED when the attempt locked the password and so ended every session of
    the customer (SEC-8) — the caller sends this one to the login page; DONE_ELSEWHERE
    when the current password typed is the one another submit (a double click, another
    tab) replaced moments ago (probe35 F1): nothing counted, the message is queued and the
    caller sends the browser on as ``_password_changed_elsewhere`` says."""
    replaced_hash = customer.user.password  # as loaded: the one a change replaces (_password_set sets it anew)
    try:
        password_change(
            customer=customer,
            current_password=form.cleaned_data["current_password"],
            new_password=form.cleaned_data["new_password"],
            ip=client_ip(request),
            keep_session_key=request.session.session_key,
            replaced_here=customer_session.password_replaced_here(request),
        )
    except PasswordChangedMeanwhile as meanwhile:
        if meanwhile.this_request_ended:
            # this request's session is gone (cycled by its twin, or ended by the change of
            # another device): end it here too, so its save cannot fail (SessionInterrupted)
            customer_session.session_end(request)
        if meanwhile.by_bank:
            # staff's 初回パスワード再発行 came first: log in with the bank's new initial
            # password, not 「変更後の…」 (the ended session's own marker said so, and is gone)
            messages.info(request, meanwhile.messages[0])
        else:
            messages.info(request, PASSWORD_CHANGED_MEANWHILE + (
                PASSWORD_LOGIN_WITH_NEW if meanwhile.this_request_ended else ""))
        return DONE_ELSEWHERE
    except PasswordChangeError as refused:
        if refused.sessions_ended:
            return ENDED
        for message in refused.messages:
            form.add_error(refused.field, message)
        return REFUSED
    customer_session.session_keep_after_password_change(request, customer, replaced_hash=replaced_hash)
    return CHANGED


PASSWORD_LOGIN_WITH_NEW = ("変更後のログインパスワードでログインしてください。"
                           "お心当たりのない場合は、至急当金庫までご連絡ください。")


def _password_changed_elsewhere(request, done_url: str):
    """Where DONE_ELSEWHERE goes: the page a change lands on while this session lives, else
    the login page (the message is in the session either way)."""
    return redirect(done_url if request.user.is_authenticated else "security:login")


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@require_http_methods(["GET", "HEAD", "POST"])
def password_change_initial_view(request):
    """SEC-3: the forced change at first login; nothing else opens before it."""
    if not request.user.is_authenticated:
        return redirect("security:login")
    if customer_session.session_stage(request) != customer_session.STAGE_PASSWORD_CHANGE:
        if customer_session.password_replaced_here(request):
            # another tab of this browser changed it (probe35 F1): its submit is told so; a
            # page view (Back after the change) has sent nothing, so it just goes on
            if request.method == "POST":
                messages.info(request, PASSWORD_CHANGED_MEANWHILE)
            return redirect(customer_session.after_login_url(request))
        return redirect("security:login")
    customer = request.user.customer
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = _password_change_submit(request, form, customer)
        if result == ENDED:
            return _session_refused(request, LOGIN_LOCKED)
        if result == DONE_ELSEWHERE:
            return _password_changed_elsewhere(request, customer_session.after_login_url(request))
        if result == CHANGED:
            customer_session.session_advance(request, selectors.login_next_stage(customer))
            messages.success(request, PASSWORD_CHANGED)
            return redirect(customer_session.after_login_url(request))
    return render(request, "security/password_change.html",
                  {"form": form, "initial": True, "rule": _password_rule()})


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = _password_change_submit(request, form, request.customer)
        if result == ENDED:
            return _session_refused(request, LOGIN_LOCKED)
        if result == DONE_ELSEWHERE:
            return _password_changed_elsewhere(request, reverse("security:settings"))
        if result == CHANGED:
            messages.success(request, PASSWORD_CHANGED)
            return redirect("security:settings")
    return render(request, "security/password_change.html",
                  {"form": form, "initial": False, "rule": _password_rule()})


@customer_required
def settings_view(request):
    return render(request, "security/settings.html")


@customer_required
@require_POST
def session_ping_view(request):
    """「ログインを継続する」: any request resets the idle timer; this one does nothing else."""
    from django.http import HttpResponse

    return HttpResponse(status=204)


# --- SEC-6: OTP at login ---------------------------------------------------------------


@sensitive_post_parameters("otp")
@require_http_methods(["GET", "HEAD", "POST"])
def login_otp_view(request):
    """ワンタイムパスワード認証画面: the second login step for customers who chose it. Only
    a session at stage ``otp`` gets here; success rotates the session key (SEC-12)."""
    if not request.user.is_authenticated or (
        customer_session.session_stage(request) != customer_session.STAGE_OTP
    ):
        return redirect("security:login")
    customer = request.user.customer
    # A lock or suspension since the password step ends the login here, as at login; so
    # does the end of the service hours (LEDGER-6). A locked OTP too, before any code is
    # typed (probe35 F10: the form was shown, and only a code sent told of the lock).
    refusal = login_refusal(customer=customer)
    if refusal is None and selectors.credential_locked(customer, Credential.Kind.OTP):
        refusal = OTP_LOCKED
    if refusal is None and not bankcalendar.is_service_open():
        refusal = MESSAGE_OUTSIDE_HOURS.format(hours=bankcalendar.hours_text())
    form = OtpLoginForm(request.POST or None)
    if refusal is None and request.method == "POST" and form.is_valid():
        try:
            otp_verify(customer=customer, code=form.cleaned_data["otp"], ip=client_ip(request),
                       action="login_otp")
        except AuthFactorError as refused:
            if refused.locked:  # this code locked it (audited so): no form left to use
                return _session_refused(request, refused.message)
            form.add_refusal(refused)
        else:
            refusal = login_refusal(customer=customer)  # again: it may have changed meanwhile
            if refusal is None:
                customer_session.session_advance(request, customer_session.STAGE_COMPLETE, new_key=True)
                return redirect(customer_session.after_login_url(request))
    if refusal is not None:
        summary = {LOGIN_LOCKED: "ロック中", LOGIN_SUSPENDED: "IB取引中止中",
                   OTP_LOCKED: "ワンタイムパスワード ロック中"}.get(refusal, "ご利用時間外")
        audit_record(action="login_otp", outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                     summary=summary, ip=client_ip(request))
        return _session_refused(request, refusal)
    return render(request, "security/login_otp.html", {"form": form})


# --- SEC-6: 利用開始 (activation from the login page) -----------------------------------

ACTIVATION = "cosei_otp_activation"
ACTIVATION_DONE = "cosei_otp_activation_done"
ACTIVATION_SECONDS = 10 * 60


def _activation_customer(request) -> Customer | None:
    """The customer who proved the password on 利用開始 (step a). This pre-login state opens
    only the activation pages and their challenge images; it is not a login."""
    state = request.session.get(ACTIVATION)
    if not state or time.time() - state.get("at", 0) > ACTIVATION_SECONDS:
        return None
    customer = Customer.objects.select_related("user").filter(pk=state.get("customer")).first()
    if customer is None or customer.status != Customer.Status.ACTIVE:
        return None
    return customer


@sensitive_post_parameters("password")
@require_http_methods(["GET", "HEAD", "POST"])
def otp_activate_view(request):
    """利用開始（利用者認証）: contract ID + login password, with the login's lockout."""
    if request.user.is_authenticated:
        return redirect("home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and not form.is_valid():
        _malformed_id_audit(request, form, action="otp_activate_identify")
    if request.method == "POST" and form.is_valid():
        outcome = login_authenticate(contract_id=form.cleaned_data["contract_id"],
                                     password=form.cleaned_data["password"], ip=client_ip(request),
                                     action="otp_activate_identify")
        if not outcome.ok:
            form.add_error(None, outcome.error)
        elif outcome.customer.password_is_initial:
            form.add_error(None, "初回ログインパスワードの変更がお済みではありません。"
                                 "ログイン画面からログインし、ログインパスワードを変更してから利用開始のお手続きを行ってください。")
        else:
            try:
                # SEC-6: every identity check gets a fresh key, replacing any pending one;
                # only this session's state names it.
                token = otp_token_issue(customer=outcome.customer)
            except AuthFactorError as refused:  # already activated
                form.add_error(None, refused.message)
            else:
                request.session.cycle_key()
                request.session[ACTIVATION] = {"customer": outcome.customer.pk, "token": token.pk,
                                               "at": int(time.time())}
                return redirect("security:otp_activate_token")
    return render(request, "security/otp_activate.html", {"form": form})


def _activation_token(request, customer: Customer):
    """The token issued to *this* activation session. Raises AuthFactorError when it was
    replaced by a later identity check or the customer has activated meanwhile."""
    return otp_token_pending_get(customer=customer,
                                 token_id=request.session.get(ACTIVATION, {}).get("token"))


def _activation_ended(request, message: str):
    request.session.pop(ACTIVATION, None)
    messages.error(request, message)
    return redirect("security:otp_activate" if message == OTP_ACTIVATION_REPLACED else "security:login")


def _activation_finished(request):
    """The end of an activation whose token is registered: the state goes, the pre-login
    session gets a new key, and the done page may be shown once."""
    request.session.pop(ACTIVATION, None)
    request.session.cycle_key()
    request.session[ACTIVATION_DONE] = True
    return redirect("security:otp_activate_done")


def _activation_done_meanwhile(request, customer: Customer):
    """For a refused activation step: the done page when the refusal is this activation's
    own success — the loser of a double click on 登録, whichever check it met — else None."""
    token_id = request.session.get(ACTIVATION, {}).get("token")
    if otp_activation_completed(customer=customer, token_id=token_id):
        return _activation_finished(request)
    return None


def _activation_state(request):
    """(customer, token) of this session's activation, or the redirect that ends it."""
    customer = _activation_customer(request)
    if customer is None:
        return redirect("security:otp_activate")
    try:
        return customer, _activation_token(request, customer)
    except AuthFactorError as refused:
        return (_activation_done_meanwhile(request, customer)
                or _activation_ended(request, refused.message))


@require_safe
def otp_activate_token_view(request):
    """The token issued at this session's identity check: serial number, QR code, key for
    manual entry. A reload shows the same key; no other session ever shows it."""
    state = _activation_state(request)
    if not isinstance(state, tuple):
        return state  # the activation ended or was never started
    customer, token = state
    secret = otp_secret_base32(token)
    return render(request, "security/otp_activate_token.html", {
        "token": token, "qr_svg": mark_safe(otp_qr_svg(token)),  # segno's own markup
        "otpauth_uri": otp_config_uri(token),
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)],
    })


@sensitive_post_parameters("otp", "card_1", "card_2")
@require_http_methods(["GET", "HEAD", "POST"])
def otp_activate_register_view(request):
    """利用開始（ワンタイムパスワード登録）: serial + OTP + choice + image-card challenge."""
    state = _activation_state(request)
    if not isinstance(state, tuple):
        return state  # the activation ended or was never started
    customer, token = state
    try:
        challenge = image_card_challenge_current(customer=customer)
    except AuthFactorError as refused:
        form = OtpRegisterForm(unavailable=refused.message)
    else:
        form = OtpRegisterForm(request.POST or None, challenge=challenge)
    if request.method == "POST" and form.is_valid():
        try:
            otp_activate(customer=customer, token_id=token.pk, serial=form.cleaned_data["serial"],
                         code=form.cleaned_data["otp"],
                         required_at_login=form.cleaned_data["required_at_login"],
                         ip=client_ip(request), **form.challenge_answer())
        except AuthFactorError as refused:
            finished = _activation_done_meanwhile(request, customer)
            if finished is not None:
                return finished
            form.add_refusal(refused)
        else:
            return _activation_finished(request)
    return render(request, "security/otp_activate_register.html",
                  {"form": form, "token": token if not form.unavailable else None})


def otp_activate_done_view(request):
    if not request.session.pop(ACTIVATION_DONE, False):
        return redirect("security:login")
    return render(request, "security/otp_activate_done.html")


# --- SEC-5: candidate images of the customer's current challenge ------------------------


@require_safe
def card_image_view(request, challenge_id: int, position: int, index: int):
    """One candidate image of the requesting customer's *open* challenge, by position:
    no pictogram code in the URL, nothing of another customer or of the card layout."""
    customer = request.customer or _activation_customer(request)
    if customer is None:
        raise Http404
    challenge = selectors.image_card_challenge_get_for_customer(customer, challenge_id)
    try:
        code = challenge.candidates[position][index]
    except IndexError:
        raise Http404 from None
    response = HttpResponse(pictogram_png(code), content_type="image/png")
    patch_cache_control(response, no_store=True, private=True)
    return response


# --- SEC-7: step-up demo — ワンタイムパスワードのログイン時認証設定 -------------------------

PENDING_OTP_LOGIN_SETTING = "cosei_pending_otp_login_setting"


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_login_setting_view(request):
    """Choose whether OTP is asked at login (入力画面). The change itself needs step-up."""
    token = otp_token_active(request.customer)
    form = OtpLoginSettingForm(
        request.POST or None,
        initial={"required_at_login": "1" if token and token.required_at_login else "0"},
    )
    if (token is not None and request.method == "POST" and form.is_valid()
            and form.cleaned_data["required_at_login"] == token.required_at_login):
        form.add_error(None, "現在の設定と同じです。")  # no step-up, no notice of a change
    elif token is not None and request.method == "POST" and form.is_valid():
        content = {"required_at_login": form.cleaned_data["required_at_login"]}
        try:
            stepup_pending_start(request, session_key=PENDING_OTP_LOGIN_SETTING,
                                 kind="otp_login_setting", content=content)
        except AuthFactorError as refused:
            form.add_error(None, refused.message)
        else:
            return redirect("security:otp_login_setting_confirm")
    return render(request, "security/otp_login_setting.html", {"form": form, "token": token})


@sensitive_post_parameters("otp", "card_1", "card_2")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def otp_login_setting_confirm_view(request):
    """確認画面: the pending change held on the server + step-up, bound to that content."""
    form, stepup, done = stepup_pending_confirm(
        request, session_key=PENDING_OTP_LOGIN_SETTING,
        execute=lambda customer, content: otp_login_setting_change(
            customer=customer, ip=client_ip(request), required_at_login=content["required_at_login"]),
        repeat_is_done=("otp_login_setting",),  # the loser of a double submit is told the setting changed
    )
    if form is None:
        return redirect("security:otp_login_setting")
    if done:
        messages.success(request, "ログイン時のワンタイムパスワード認証の設定を変更しました。")
        return redirect("security:settings")
    return render(request, "security/otp_login_setting_confirm.html",
                  {"form": form, "required_at_login": stepup.content["required_at_login"]})


# --- SEC-10: IB取引中止 ------------------------------------------------------------------

PENDING_IB_SUSPEND = "cosei_pending_ib_suspend"


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def ib_suspend_view(request):
    """入力画面: what suspension means; 「次へ」 holds the pending operation on the server."""
    if request.method == "POST":
        content = {"operation": "ib_suspend", "contract_id": request.customer.contract_id}
        try:
            stepup_pending_start(request, session_key=PENDING_IB_SUSPEND, kind="ib_suspend",
                                 content=content)
        except AuthFactorError as refused:
            messages.error(request, refused.message)
        else:
            return redirect("security:ib_suspend_confirm")
    return render(request, "security/ib_suspend.html")


@sensitive_post_parameters("otp", "card_1", "card_2")
@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def ib_suspend_confirm_view(request):
    """確認画面 + step-up (SEC-7). On success every session of the customer ends."""
    form, _stepup, done = stepup_pending_confirm(
        request, session_key=PENDING_IB_SUSPEND,
        execute=lambda customer, content: customer_ib_suspend(customer=customer, ip=client_ip(request)),
        # the loser of a double submit (it passed the login check before the winner ended
        # every session) ends its own session too and shows the done page, not an error
        repeat_is_done=("ib_suspend",),
    )
    if form is None:
        return redirect("security:ib_suspend")
    if done:
        customer_session.session_end(request)
        response = redirect("security:ib_suspend_done")
        # as ログアウト does: a confirm page left open in another tab then gets the CSRF page
        # 「…この画面で入力・送信した内容は実行されていません」, not a bare login page (walk30 F2)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
    return render(request, "security/ib_suspend_confirm.html", {"form": form})


def ib_suspend_done_view(request):
    """完了画面 after the suspension, which ended the session. A customer still logged in
    has not suspended: the page would tell them otherwise (SEC-10)."""
    if request.customer is not None:
        return redirect("security:settings")
    return render(request, "security/ib_suspend_done.html")
