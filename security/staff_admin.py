"""The staff admin site (STAFF-1): django-otp's OTP admin site, in Japanese, where staff
type their password and the code of their authenticator app.

Every failed sign-in looks the same (SEC-8): wrong user, wrong password, missing or wrong
code, an inactive or locked user — one message, decided only after both factors were
checked, and the page never echoes the password or lists devices (both would tell that the
password was right). Five consecutive failures lock the staff user until a superuser lifts
the lock; every attempt is audited (SEC-13) without the password or the code."""

from __future__ import annotations

import logging
from collections.abc import Callable

from functools import wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import IntegerField
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from .audit import audit_record, audit_text, client_ip
from .models import AuditEvent, StaffLoginCounter

logger = logging.getLogger(__name__)

STAFF_LOGIN_FAILED = "ユーザー名、パスワードまたはワンタイムパスワードが正しくありません。"
STAFF_LOGIN_MAX_FAILURES = 5


class StaffLoginFailed(Exception):
    """Any refused staff sign-in; deliberately says nothing about why."""


def staff_login_authenticate(*, request, username: str, password: str,
                             second_factor: Callable[[object], None]):
    """Check a staff sign-in: the password, then ``second_factor(user)`` (which raises
    ``ValidationError`` for a missing or wrong code). Returns the user, or raises
    ``StaffLoginFailed`` whatever went wrong.

    Guarantees: the password hasher runs on every path (unknown, inactive and locked users
    too); the staff user's ``StaffLoginCounter`` is read and bumped under a row lock, so
    parallel guesses cannot pass ``STAFF_LOGIN_MAX_FAILURES``; a locked user is refused
    even with the right password and code (the code is then not tried, so it does not
    feed django-otp's throttle either); a success resets the count. One ``staff_login``
    audit row per attempt — the actor is the username only if such a user exists, since
    an unknown "name" may be a password typed into the wrong field."""
    ip = client_ip(request)
    user_model = get_user_model()
    with transaction.atomic():
        account = user_model._default_manager.filter(
            **{user_model.USERNAME_FIELD: username}).first()
        counter = None
        if account is not None and account.is_staff:
            StaffLoginCounter.objects.get_or_create(user=account)
            counter = StaffLoginCounter.objects.select_for_update().get(user=account)
        user = authenticate(request, username=username, password=password)
        actor = account.get_username() if account is not None else ""

        if counter is not None and counter.is_locked:
            audit_record(action="staff_login", outcome=AuditEvent.Outcome.REFUSED, actor=actor,
                         ip=ip, summary="ロック中")
            failed = True
        else:
            reason = ""
            if user is None or account is None or user.pk != account.pk:
                reason = "ユーザー名が不明" if account is None else "パスワード誤りまたは利用停止"
            else:
                try:
                    second_factor(user)
                except forms.ValidationError:
                    reason = "ワンタイムパスワード誤りまたは未入力"
            failed = bool(reason)
            if not failed:
                if counter is not None and counter.failures:
                    counter.failures = 0
                    counter.save(update_fields=["failures"])
                audit_record(action="staff_login", outcome=AuditEvent.Outcome.SUCCESS,
                             actor=actor, ip=ip)
            else:
                if counter is not None:
                    counter.failures += 1
                    if counter.failures >= STAFF_LOGIN_MAX_FAILURES:
                        counter.locked_at = timezone.now()
                        reason += f"（{counter.failures}回連続失敗によりロック）"
                        logger.warning("staff user %s locked after %s failed admin logins",
                                       account.pk, counter.failures)
                    counter.save(update_fields=["failures", "locked_at"])
                audit_record(action="staff_login", outcome=AuditEvent.Outcome.FAILURE,
                             actor=actor, ip=ip, summary=reason)
    # raised outside the atomic block: the count and the audit row must be committed
    if failed:
        raise StaffLoginFailed
    return user


def staff_login_unlock(*, counter: StaffLoginCounter, by: str, ip: str | None) -> None:
    """Lift a staff user's admin login lock (superusers, from admin) and audit who did it.
    Locks the counter only, as the staff login does first (it may then write the user's
    row): the user's row is read for its name, not locked — every row referring to the
    user (the admin log of their own work, an OTP device) would have waited for it."""
    with transaction.atomic():
        counter = (StaffLoginCounter.objects.select_for_update(of=("self",)).select_related("user")
                   .get(pk=counter.pk))
        summary = f"{counter.user.get_username()}（連続失敗{counter.failures}回）"
        counter.failures = 0
        counter.locked_at = None
        counter.save(update_fields=["failures", "locked_at"])
        audit_record(action="staff_login_unlock", outcome=AuditEvent.Outcome.SUCCESS,
                     actor=by, ip=ip, summary=summary)


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    error_messages = {
        **OTPAdminAuthenticationForm.error_messages,
        "invalid_login": STAFF_LOGIN_FAILED,
        "inactive": STAFF_LOGIN_FAILED,
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        self.user_cache = None
        if not username or not password:
            return self.cleaned_data  # "required" field errors; nothing was checked

        def second_factor(user):
            self.confirm_login_allowed(user)  # active staff only
            self.clean_otp(user)

        try:
            self.user_cache = staff_login_authenticate(
                request=self.request, username=username, password=password,
                second_factor=second_factor)
        except StaffLoginFailed:
            raise forms.ValidationError(STAFF_LOGIN_FAILED, code="invalid_login") from None
        return self.cleaned_data

    def _update_form(self, user):
        # django-otp would now fill the password back in and list the user's devices:
        # both would show that the password was right. The page stays as it was.
        pass

    def _verify_token(self, user, token, device=None):
        """A device chosen in the form is used as django-otp does. Otherwise (no device
        list is ever shown) the code is tried against each confirmed device — with one
        device, the usual case, that is just that device. Each device keeps its own
        django-otp throttle; a wrong code counts against each of a user's devices."""
        if device is not None:
            return super()._verify_token(user, token, device)
        for candidate in devices_for_user(user, confirmed=True):
            try:
                return super()._verify_token(user, token, candidate)
            except forms.ValidationError:
                continue
        raise forms.ValidationError(STAFF_LOGIN_FAILED, code="invalid_token")


def request_has_nul(request) -> bool:
    data = [request.path, *request.GET.keys(), *request.GET.values()]
    if request.method == "POST":
        data += [*request.POST.keys(), *request.POST.values()]
    return any("\x00" in value for value in data)


def nul_refused(request) -> HttpResponse:
    """The 400 page for a request with a NUL byte, and one line in the log."""
    logger.warning("NUL byte in an admin request refused (400): %s %s user=%s", request.method,
                   audit_text(request.path, 200), audit_text(request.user.get_username(), 64) or "-")
    response = render(request, "400.html", status=400)
    response._has_been_logged = True  # Django's own 「Bad Request: …」 would be a second line
    return response


SELECTED_INVALID = "選択された項目を読み取れませんでした。一覧を表示し直して、もう一度選択してください（何も実行していません）。"


def selected_ids_valid(model, request) -> bool:
    """Every ``_selected_action`` of a list's action POST is an id of the model's kind.
    A tampered one (``abc``, empty) made Django's bulk action filter ``pk__in`` raise
    ValueError — a 500 on every list that still has an action (walk25 F2b)."""
    pk = model._meta.pk
    for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
        try:
            value = pk.get_prep_value(pk.to_python(value))
        except (ValidationError, ValueError, TypeError, OverflowError):
            return False
        if isinstance(pk, IntegerField) and not -2**63 <= value < 2**63:  # PostgreSQL's bigint
            return False
    return True


# walk31 F8: a staff step refused for want of a permission (the admin's 403: staff01, an
# 営業店担当者, POSTing 状態=支払停止 to an account) left no 操作ログ row; the bank wants the
# attempt on record, as 拒否, like the other refused staff steps. A ModelAdmin may say what
# was attempted (``refused_step``); otherwise the row names the page and the request.
STAFF_REFUSED_ACTION = "staff_refused"


def staff_refusal_audit(request, model_admin, object_id) -> None:
    """One 拒否 row for a refused admin request: who, from where, and what was attempted.
    Never linked to the customer (``contract_id`` only, for staff's search): the customer's
    取引履歴 lists their own rows, and a refused staff attempt changed nothing of theirs."""
    step = None
    if model_admin is not None and hasattr(model_admin, "refused_step"):
        step = model_admin.refused_step(request, object_id)
    if step is None:
        page = f"{model_admin.model._meta.verbose_name} " if model_admin is not None else ""
        step = (STAFF_REFUSED_ACTION, "", f"{page}{request.method} {request.path}")
    action, contract_id, what = step
    audit_record(action=action, outcome=AuditEvent.Outcome.REFUSED, contract_id=contract_id,
                 summary=f"権限なし：{what}", actor=request.user.get_username(), ip=client_ip(request))


class StaffAdminSite(OTPAdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/staff_login.html"

    def login(self, request, extra_context=None):
        """After a successful sign-in staff land in admin: a ``next`` that Django finds
        unsafe (another host) or that leads out of admin would otherwise end on
        ``LOGIN_REDIRECT_URL`` (/accounts/profile/, a 404) or a customer page."""
        response = super().login(request, extra_context)
        index = reverse("admin:index", current_app=self.name)
        if (request.method == "POST" and isinstance(response, HttpResponseRedirect)
                and not response.url.startswith(index)):
            return HttpResponseRedirect(index)
        return response

    def get_urls(self):
        """Django's own lists here (users, groups, OTP devices) get the project's
        changelist too (``accounts.admin.StaffModelAdmin``): a filter a list cannot use,
        such as a year out of range on a date column, is the admin's ``?e=1``, not a 500."""
        from accounts.admin import DateBoundedChangeList

        for model_admin in self._registry.values():
            if type(model_admin).get_changelist is admin.ModelAdmin.get_changelist:
                model_admin.get_changelist = lambda request, **kwargs: DateBoundedChangeList
        return super().get_urls()

    def admin_view(self, view, cacheable=False):
        """Every admin page (changelists and their filters, search, change pages, the
        staff operations) refuses a NUL byte in its query string or form with the 400 page,
        before any filter reaches the database: PostgreSQL refuses NUL in a text parameter
        (``?status=%00`` was a 500). One WARNING line, no traceback: raised as a
        SuspiciousOperation, each such request logged a whole stack, and a scanner in a
        staff browser could fill the error log (walk27 F10)."""
        inner = super().admin_view(view, cacheable)
        model_admin = getattr(view, "__self__", None)
        lists = isinstance(model_admin, admin.ModelAdmin) and view.__name__ == "changelist_view"

        @wraps(inner)
        def refusing_nul(request, *args, **kwargs):
            if request_has_nul(request):
                return nul_refused(request)
            if lists and request.method == "POST" and not selected_ids_valid(model_admin.model, request):
                messages.error(request, SELECTED_INVALID)
                return HttpResponseRedirect(request.get_full_path())
            try:
                return inner(request, *args, **kwargs)
            except PermissionDenied:  # the 403 page as before, and the attempt on record
                staff_refusal_audit(request, model_admin if isinstance(model_admin, admin.ModelAdmin) else None,
                                    kwargs.get("object_id", kwargs.get("pk")))
                raise

        return refusing_nul
