"""Ｅメール設定 (NOTE-2) and the secure-mail help page (NOTE-4)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from security.audit import client_ip
from security.decorators import customer_required
from security.errors import AuthFactorError
from security.stepup_flow import stepup_pending, stepup_pending_confirm, stepup_pending_start

from .forms import EmailAddressForm, EmailCodeForm, NoticePreferenceForm
from .models import EmailChangeRequest
from .services import (
    EMAIL_SAME,
    PREFERENCE_LABELS,
    SECURITY_NOTICE_LABELS,
    EmailAlreadyChanged,
    EmailSettingError,
    address_same,
    email_change_confirm,
    email_change_request,
    email_remove,
    notice_preference_change,
    preference_for,
)

PENDING_EMAIL = "cosei_pending_email_setting"
STEPUP_KIND = "email_change"


def _pending_request(customer) -> EmailChangeRequest | None:
    return EmailChangeRequest.objects.open().filter(customer=customer, expires_at__gt=timezone.now()).first()


def _start(request, content: dict, form=None):
    """Hold the change on the server and go to the step-up, or show why not."""
    try:
        stepup_pending_start(request, session_key=PENDING_EMAIL, kind=STEPUP_KIND, content=content)
    except AuthFactorError as refused:
        if form is not None:
            form.add_error(None, refused.message)
        else:
            messages.error(request, refused.message)
        return None
    return redirect("notifications:email_confirm")


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_settings_view(request):
    """The overview: the address, the notices chosen (入力画面 for the choice), removal."""
    customer = request.customer
    preference = preference_for(customer)
    form = NoticePreferenceForm(
        request.POST if request.POST.get("operation") == "preferences" else None,
        initial={field: getattr(preference, field) for field in PREFERENCE_LABELS},
    )
    if request.method == "POST":
        operation = request.POST.get("operation")
        if operation == "preferences" and form.is_valid():
            chosen = {f: bool(form.cleaned_data[f]) for f in PREFERENCE_LABELS}
            if all(chosen[f] == bool(getattr(preference, f)) for f in PREFERENCE_LABELS):
                form.add_error(None, "お知らせの選択に変更がありません。")
            else:
                response = _start(request, {"operation": "preferences", **chosen})
                if response:
                    return response
        elif operation == "remove":
            if not customer.email:
                messages.error(request, "Ｅメールアドレスは登録されていません。")
            else:
                response = _start(request, {"operation": "remove", "email": customer.email})
                if response:
                    return response
    return render(request, "notifications/email_settings.html", {
        "form": form, "pending": _pending_request(customer),
        "security_notices": SECURITY_NOTICE_LABELS,
    })


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_address_view(request):
    """入力画面: the new address, typed twice."""
    form = EmailAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request.customer.email and address_same(form.cleaned_data["email"], request.customer.email):
            form.add_error("email", EMAIL_SAME)
        else:
            response = _start(request, {"operation": "address", "email": form.cleaned_data["email"]}, form)
            if response:
                return response
    return render(request, "notifications/email_address.html", {"form": form})


def _execute(request):
    def execute(customer, content):
        ip = client_ip(request)
        operation = content["operation"]
        if operation == "address":
            email_change_request(customer=customer, new_email=content["email"], ip=ip)
        elif operation == "remove":
            email_remove(customer=customer, email=content["email"], ip=ip)
        else:
            notice_preference_change(customer=customer, choices=content, ip=ip)
    return execute


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_confirm_view(request):
    """確認画面 + step-up (SEC-7): exactly the change confirmed executes, once."""
    found = stepup_pending(request, PENDING_EMAIL)
    content = found[1] if found else None
    # the loser of a double submit is told what the winner did: the change is the same
    form, stepup, done = stepup_pending_confirm(request, session_key=PENDING_EMAIL,
                                                execute=_execute(request), repeat_is_done=(STEPUP_KIND,))
    if form is None:
        return redirect("notifications:email_settings")
    if done:  # what was done: the step-up's (a later tab's session holds no pending change)
        operation = stepup.content["operation"]
        if operation == "address":
            if _pending_request(request.customer) is None and request.customer.email == stepup.content["email"]:
                # posted again after the code was entered, too: the change is in force
                messages.success(request, EmailAlreadyChanged(stepup.content["email"]).message)
                return redirect("notifications:email_settings")
            return redirect("notifications:email_verify")
        messages.success(request, "Ｅメールアドレスを削除しました。" if operation == "remove"
                         else "お知らせの選択を変更しました。")
        return redirect("notifications:email_settings")
    return render(request, "notifications/email_confirm.html", {
        "form": form, "content": content,
        "choices": [(label, content.get(field)) for field, label in PREFERENCE_LABELS.items()],
    })


@customer_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_verify_view(request):
    """確認コード入力: the code sent to the new address makes the change take effect."""
    pending = _pending_request(request.customer)
    form = EmailCodeForm(request.POST or None, initial={"new_email": pending.new_email if pending else ""})
    if request.method == "POST" and form.is_valid():
        try:
            email_change_confirm(customer=request.customer, code=form.cleaned_data["code"],
                                 new_email=form.cleaned_data["new_email"], ip=client_ip(request))
        except EmailAlreadyChanged as done:  # in another tab, first
            messages.success(request, done.message)
            return redirect("notifications:email_settings")
        except EmailSettingError as refused:
            # by the code field only while it is still shown: an expired or used-up
            # request is gone, and its reason must not go with the field
            pending = _pending_request(request.customer)
            form.add_error("code" if pending else None, refused.message)
        else:
            messages.success(request, "Ｅメールアドレスを変更しました。")
            return redirect("notifications:email_settings")
    return render(request, "notifications/email_verify.html", {"form": form, "pending": pending})


@customer_required
def secure_mail_view(request):
    return render(request, "notifications/secure_mail.html")
