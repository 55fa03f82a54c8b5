"""Attaches the logged-in customer to the request and enforces the session limits."""

from __future__ import annotations

import datetime as dt
import time

from django.contrib import auth, messages
from django.contrib.auth import middleware as auth_middleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from accounts.models import Customer
from accounts.templatetags.accounts_format import japanese_minute

from . import session as customer_session
from .audit import audit_record, client_ip, summary_label
from .backends import request_session
from .models import AuditEvent

# walk29 F4: the admin login page after the automatic logout says why, and that nothing was done
STAFF_ENDED_WHY = {"idle": "一定時間操作がなかったため", "absolute": "ログインから一定時間が経過したため"}
STAFF_SESSION_ENDED = ("{why}、安全のためログアウトしました。ログアウト後に送信された操作（入金・発行・取消など）は"
                       "実行していません。再度ログインして、必要な操作をやり直してください。")


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, with the request's session known to ``CustomerSessionBackend`` while
    Django loads the user, so that the backend can take the user the session store read
    with the session (security/session_store.py; issue 14)."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _user_of(request))


def _user_of(request):
    """Django's ``get_user`` of the middleware (cached on the request, as Django's)."""
    if not hasattr(request, "_cached_user"):
        token = request_session.set(request.session)
        try:
            request._cached_user = auth.get_user(request)
        finally:
            request_session.reset(token)
    return request._cached_user


class CustomerSessionMiddleware:
    """Sets ``request.customer`` for a complete customer session and ends a session on
    the server (SEC-9/10/12):

    - after 15 idle minutes or at the absolute limit;
    - as soon as the contract is no longer active (IB取引中止, 解約), at any stage: the
      session is logged out, not merely ignored — a session that escaped the index of
      the customer's sessions must not come back when staff resume the contract.

    Every response it sees is ``Cache-Control: no-store, private`` with the never-cache
    headers (SEC-9/13), anonymous ones too: the OTP activation pages show the key before
    any login, the login page is a form. Static files are served by WhiteNoise before this
    middleware and keep their caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._response(request)
        add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response

    def _response(self, request):
        request.customer = None
        user = request.user
        customer = getattr(user, "customer", None) if user.is_authenticated else None
        if customer is None:
            if user.is_authenticated and user.is_staff:
                return self._staff_response(request)
            if (not user.is_authenticated and request.session.get(customer_session.ENDED)
                    and request.path != reverse("security:login")):
                # ended from elsewhere (a password change on another device): the login
                # page says why (walk26 F9)
                return redirect("security:login")
            return self.get_response(request)
        now = time.time()
        reason = customer_session.session_expired_reason(request, now)
        if reason is not None:
            ended = timezone.localtime(dt.datetime.fromtimestamp(
                customer_session.session_ended_at(request, reason), tz=dt.timezone.utc))
            audit_record(action="timeout", outcome=AuditEvent.Outcome.SUCCESS, customer=customer,
                         summary=f"{summary_label(reason)}（{japanese_minute(ended)}に終了）",
                         ip=client_ip(request))
            customer_session.session_end(request)
            # the logged-out page says which limit ended it (walk29 F3: 2 hours read as idleness)
            said = "expired" if reason == "absolute" else "timeout"
            return redirect(f"{reverse('security:logged_out')}?reason={said}")
        if customer.status != Customer.Status.ACTIVE:
            audit_record(action="access_refused", outcome=AuditEvent.Outcome.REFUSED,
                         customer=customer, summary=f"{customer.get_status_display()}の契約でのアクセス",
                         ip=client_ip(request))
            customer_session.session_end(request)
            return redirect("security:login")
        customer_session.session_seen(request, now=now)
        customer_session.password_replaced_here(request, now)  # dropped once its window is past
        if customer_session.session_stage(request) == customer_session.STAGE_COMPLETE:
            request.customer = customer
        return self.get_response(request)

    def _staff_response(self, request):
        """Staff in admin get the same idle and absolute limits as customers (the guide's
        15 minutes); their clock starts at the first request after the admin login."""
        now = time.time()
        request.session.setdefault(customer_session.AUTH_AT, int(now))
        reason = customer_session.session_expired_reason(request, now)
        if reason is not None:
            audit_record(action="staff_timeout", outcome=AuditEvent.Outcome.SUCCESS,
                         actor=request.user.get_username(), ip=client_ip(request))
            customer_session.session_end(request)
            # the login page says why, and that the form sent was not carried out (walk29 F4:
            # a bare login page after 記帳する on the 窓口入金 confirm)
            messages.warning(request, STAFF_SESSION_ENDED.format(why=STAFF_ENDED_WHY[reason]))
            return redirect(f"{reverse('admin:login')}?next={reverse('admin:index')}")
        customer_session.session_seen(request, now=now)
        return self.get_response(request)
