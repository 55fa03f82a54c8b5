"""Passkey pages (SEC-16): the login step, 各種設定 → パスキー (register, delete,
「パスキーでのみログイン」) and the JSON options the page's script asks for."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors
from . import session as customer_session
from .audit import audit_record, client_ip
from .decorators import customer_required
from .errors import AuthFactorError
from .forms import PasskeyLoginForm, PasskeyNameForm, PasskeyRegisterForm
from .models import AuditEvent, Passkey, StepUp
from .passkeys import (
    PASSKEY_NONE_FOR_ONLY,
    PasskeyError,
    passkey_address_problem,
    passkey_authentication_options,
    passkey_delete,
    passkey_only_set,
    passkey_origins,
    passkey_register,
    passkey_registered_since,
    passkey_registration_authorise,
    passkey_registration_latest,
    passkey_registration_options,
    passkey_registration_pending,
    passkey_verify_login,
)
from .services import LOGIN_LOCKED, login_refusal
from .stepup import STEPUP_EXPIRED
from .stepup_flow import stepup_pending_confirm, stepup_pending_start
from .views import _session_refused

PENDING_PASSKEY = "cosei_pending_passkey"
REGISTRATION = "cosei_passkey_registration"
OTHER_FACTOR = "login_other_factor"


def _json_options(options_json: str) -> HttpResponse:
    return HttpResponse(options_json, content_type="application/json")


def _json_refusal(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# --- login ---------------------------------------------------------------------------------

def _passkey_login_customer(request):
    if not request.user.is_authenticated or (
        customer_session.session_stage(request) != customer_session.STAGE_PASSKEY
    ):
        return None
    return request.user.customer


@require_http_methods(["GET", "HEAD", "POST"])
def login_passkey_view(request):
    """パスキー認証画面: the second login step of a customer with a passkey (instead of
    the OTP). Success rotates the session key (SEC-12)."""
    customer = _passkey_login_customer(request)
    if customer is None:
        return redirect("security:login")
    refusal = login_refusal(customer=customer)
    form = PasskeyLoginForm(request.POST or None)
    if refusal is None and request.method == "POST":
        if OTHER_FACTOR in request.POST and not customer.passkey_only:
            # no passkey on this device: the login the customer had before (OTP if chosen)
            stage = selectors.login_next_stage(customer, passkey=False)
            customer_session.session_advance(request, stage,
                                             new_key=stage == customer_session.STAGE_COMPLETE)
            return redirect(customer_session.after_login_url(request))
        if form.is_valid():
            try:
                passkey_verify_login(customer=customer, response_json=form.cleaned_data["passkey_response"],
                                     origins=passkey_origins(request), ip=client_ip(request))
            except PasskeyError as refused:
                form.add_error(None, refused.message)
            else:
                refusal = login_refusal(customer=customer)  # again: it may have changed meanwhile
                if refusal is None:
                    customer_session.session_advance(request, customer_session.STAGE_COMPLETE, new_key=True)
                    return redirect(customer_session.after_login_url(request))
    if refusal is not None:
        audit_record(action="login_passkey", outcome=AuditEvent.Outcome.REFUSED, customer=customer,
                     summary="ロック中" if refusal == LOGIN_LOCKED else "IB取引中止中", ip=client_ip(request))
        return _session_refused(request, refusal)
    return render(request, "security/login_passkey.html", {
        "form": form, "address_problem": passkey_address_problem(request),
        "other_factor_allowed": not customer.passkey_only,
    })


@require_POST
def login_passkey_options_view(request):
    customer = _passkey_login_customer(request)
    if customer is None:
        return _json_refusal("ログインし直してください。", status=403)
    problem = passkey_address_problem(request)
    if problem:
        return _json_refusal(problem)
    return _json_options(passkey_authentication_options(customer=customer))


@customer_required
@require_POST
def passkey_stepup_options_view(request, stepup_id):
    """The options of a passkey step-up: a fresh challenge derived from the pending
    operation's content hash (SEC-14/16)."""
    stepup = selectors.stepup_get_for_customer(request.customer, stepup_id)
    if stepup.method != StepUp.Method.PASSKEY:
        raise Http404
    if stepup.used_at is not None or stepup.expires_at <= timezone.now():
        return _json_refusal(STEPUP_EXPIRED)
    problem = passkey_address_problem(request)
    if problem:
        return _json_refusal(problem)
    return _json_options(passkey_authentication_options(customer=request.customer, stepup=stepup))


# --- 各種設定 → パスキー -----------------------------------------------------------------------

def _passkey_pending_start(request, content: dict):
    try:
        stepup_pending_start(request, session_key=PENDING_PASSKEY, kind=content["operation"],
                             content=content)
    except AuthFactorError as refused:
        messages.error(request, refused.message)
        return redirect("security:passkeys")
    return redirect("security:passkey_confirm")


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def passkeys_view(request):
    """The customer's passkeys with their last use; register one, delete one, and the
    「パスキーでのみログイン」 setting — each after a step-up."""
    customer = request.customer
    passkeys = list(Passkey.objects.filter(customer=customer))
    name_form = PasskeyNameForm(request.POST if "register" in request.POST else None)
    if request.method == "POST":
        if "register" in request.POST and name_form.is_valid():
            return _passkey_pending_start(request, {"operation": "passkey_register",
                                                    "name": name_form.cleaned_data["name"]})
        if "delete" in request.POST:
            chosen = next((p for p in passkeys if str(p.pk) == request.POST.get("delete")), None)
            if chosen is None:
                raise Http404
            return _passkey_pending_start(request, {"operation": "passkey_delete",
                                                    "passkey_id": chosen.pk, "name": chosen.name})
        if "passkey_only" in request.POST:
            enabled = request.POST["passkey_only"] == "1"
            if enabled == customer.passkey_only:  # a page from before a change in another tab
                messages.error(request, "現在の設定と同じです。")
                return redirect("security:passkeys")
            if enabled and not passkeys:  # refused before the step-up spends a code (probe35 F9)
                messages.error(request, PASSKEY_NONE_FOR_ONLY)  # the service checks again under the lock
                return redirect("security:passkeys")
            return _passkey_pending_start(request, {"operation": "passkey_only", "enabled": enabled})
    return render(request, "security/passkeys.html", {
        "passkeys": passkeys, "name_form": name_form, "limit_reached": len(passkeys) >= settings.PASSKEYS_PER_CUSTOMER,
        "address_problem": passkey_address_problem(request),
    })


def _passkey_execute(request, customer, content: dict) -> None:
    operation, ip = content["operation"], client_ip(request)
    if operation == "passkey_register":
        registration = passkey_registration_authorise(customer=customer, name=content["name"])
        request.session[REGISTRATION] = str(registration.pk)
    elif operation == "passkey_delete":
        passkey_delete(customer=customer, passkey_id=content["passkey_id"], ip=ip)
    else:
        passkey_only_set(customer=customer, enabled=content["enabled"], ip=ip)


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def passkey_confirm_view(request):
    executed = []
    form, stepup, done = stepup_pending_confirm(
        request, session_key=PENDING_PASSKEY,
        execute=lambda customer, content: executed.append(_passkey_execute(request, customer, content)),
        repeat_is_done=("passkey_register", "passkey_delete", "passkey_only"),
    )
    if form is None:
        return redirect("security:passkeys")
    if done:
        operation = stepup.content["operation"]
        if operation == "passkey_register":
            if not executed:
                # the loser of a double submit: the winner authorised the ceremony, and its
                # session (saved before or after this one) may not keep the registration
                registration = passkey_registration_latest(customer=request.customer,
                                                           name=stepup.content["name"])
                if registration is not None:
                    request.session[REGISTRATION] = str(registration.pk)
                elif passkey_registered_since(customer=request.customer, name=stepup.content["name"],
                                              since=stepup.used_at):
                    # a confirm posted again after the ceremony ended: it went through (SEC-14)
                    messages.success(request, f"パスキー「{stepup.content['name']}」を登録しました。")
                    return redirect("security:passkeys")
            return redirect("security:passkey_register")
        messages.success(request, "パスキーを削除しました。" if operation == "passkey_delete"
                         else "「パスキーでのみログイン」の設定を変更しました。")
        return redirect("security:passkeys")
    return render(request, "security/passkey_confirm.html", {"form": form, "content": stepup.content})


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def passkey_register_view(request):
    """登録: the browser creates the passkey (within 5 minutes of the step-up)."""
    registration = passkey_registration_pending(customer=request.customer,
                                                registration_id=request.session.get(REGISTRATION))
    if registration is None:
        messages.error(request, "パスキー登録の有効時間が過ぎました。もう一度「登録する」からやり直してください。")
        return redirect("security:passkeys")
    form = PasskeyRegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            passkey = passkey_register(customer=request.customer, ip=client_ip(request),
                                       response_json=form.cleaned_data["passkey_response"],
                                       origins=passkey_origins(request))
        except PasskeyError as refused:
            form.add_error(None, refused.message)
        else:
            request.session.pop(REGISTRATION, None)
            messages.success(request, f"パスキー「{passkey.name}」を登録しました。")
            return redirect("security:passkeys")
    return render(request, "security/passkey_register.html", {
        "form": form, "name": registration.name, "address_problem": passkey_address_problem(request),
    })


@customer_required
@require_POST
def passkey_register_options_view(request):
    registration = passkey_registration_pending(customer=request.customer,
                                                registration_id=request.session.get(REGISTRATION))
    if registration is None:
        return _json_refusal("パスキー登録の有効時間が過ぎました。もう一度やり直してください。")
    problem = passkey_address_problem(request)
    if problem:
        return _json_refusal(problem)
    return _json_options(passkey_registration_options(customer=request.customer,
                                                      registration=registration))
