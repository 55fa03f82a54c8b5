"""Attaches the logged-in customer to the request and enforces the session limits."""

from __future__ import annotations

import time

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from accounts.models import Customer

from . import session as customer_session
from .audit import audit_record, client_ip
from .models import AuditEvent


class CustomerSessionMiddleware:
    """Sets ``request.customer`` for a complete customer session, logs out after 15 idle
    minutes or the absolute limit (server-side, SEC-9/12), and marks every response of an
    authenticated session ``Cache-Control: no-store`` so the back button shows nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.customer = None
        user = request.user
        customer = getattr(user, "customer", None) if user.is_authenticated else None
        if customer is not None:
            reason = customer_session.session_expired_reason(request)
            if reason is not None:
                audit_record(action="timeout", outcome=AuditEvent.Outcome.SUCCESS,
                             customer=customer, summary=reason, ip=client_ip(request))
                customer_session.session_end(request)
                response = redirect(f"{reverse('security:logged_out')}?reason=timeout")
                add_never_cache_headers(response)
                return response
            request.session[customer_session.SEEN_AT] = int(time.time())
            if (
                customer_session.session_stage(request) == customer_session.STAGE_COMPLETE
                and customer.status == Customer.Status.ACTIVE
            ):
                request.customer = customer
        response = self.get_response(request)
        if user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
