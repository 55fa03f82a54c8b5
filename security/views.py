from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors
from . import session as customer_session
from .audit import audit_record, client_ip
from .decorators import customer_required
from .forms import LoginForm, PasswordChangeForm
from .models import AuditEvent
from .services import (
    PASSWORD_RULE_TEXT,
    PasswordChangeError,
    login_authenticate,
    password_change,
)


def _password_rule() -> str:
    return PASSWORD_RULE_TEXT.format(min=settings.LOGIN_PASSWORD_MIN_LENGTH,
                                     max=settings.LOGIN_PASSWORD_MAX_LENGTH)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.customer is not None:
        return redirect("home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = login_authenticate(
            contract_id=form.cleaned_data["contract_id"],
            password=form.cleaned_data["password"],
            ip=client_ip(request),
        )
        if outcome.ok:
            customer = outcome.customer
            stage = selectors.login_next_stage(customer)
            customer_session.session_start(request, customer, stage=stage)
            return redirect("home")
        form.add_error(None, outcome.error)
    return render(request, "security/login.html", {"form": form})


@require_POST
def logout_view(request):
    customer = getattr(request.user, "customer", None) if request.user.is_authenticated else None
    if customer is not None:
        audit_record(action="logout", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                     ip=client_ip(request))
    customer_session.session_end(request)
    response = redirect("security:logged_out")
    response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


def logged_out_view(request):
    return render(request, "security/logged_out.html",
                  {"timeout": request.GET.get("reason") == "timeout"})


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@require_http_methods(["GET", "POST"])
def password_change_initial_view(request):
    """SEC-3: the forced change at first login; nothing else opens before it."""
    if not request.user.is_authenticated or (
        customer_session.session_stage(request) != customer_session.STAGE_PASSWORD_CHANGE
    ):
        return redirect("security:login")
    customer = request.user.customer
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(
                customer=customer,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                ip=client_ip(request),
                keep_session_key=request.session.session_key,
            )
            # the new password hash would otherwise end this very session too
            update_session_auth_hash(request, request.user)
        except PasswordChangeError as refused:
            for message in refused.messages:
                form.add_error("new_password" if "現在" not in message else "current_password", message)
        else:
            customer_session.session_advance(request, selectors.login_next_stage(customer))
            messages.success(request, "ログインパスワードを変更しました。")
            return redirect("home")
    return render(request, "security/password_change.html",
                  {"form": form, "initial": True, "rule": _password_rule()})


@sensitive_post_parameters("current_password", "new_password", "new_password_again")
@customer_required
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(
                customer=request.customer,
                current_password=form.cleaned_data["current_password"],
                new_password=form.cleaned_data["new_password"],
                ip=client_ip(request),
                keep_session_key=request.session.session_key,
            )
            # the new password hash would otherwise end this very session too
            update_session_auth_hash(request, request.user)
        except PasswordChangeError as refused:
            for message in refused.messages:
                form.add_error("new_password" if "現在" not in message else "current_password", message)
        else:
            messages.success(request, "ログインパスワードを変更しました。")
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
