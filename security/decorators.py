"""View guards for customer pages."""

from __future__ import annotations

from functools import wraps

from django.shortcuts import redirect, render

from cosei_ib import bankcalendar

from . import session as customer_session


def customer_required(view=None, *, service: str = "default"):
    """Only a complete customer session passes; a half-way session is sent to its next
    step (forced password change, OTP), anybody else to the login page.

    Outside the service hours of ``service`` (LEDGER-6: "default" or "payeasy") the page
    politely refuses and shows the hours (status 503, nothing done)."""
    if view is None:
        return lambda actual: customer_required(actual, service=service)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.customer is not None:
            if not bankcalendar.is_service_open(service):
                return render(request, "service_closed.html",
                              {"hours": bankcalendar.hours_text(service)}, status=503)
            return view(request, *args, **kwargs)
        stage = customer_session.session_stage(request) if request.user.is_authenticated else None
        if stage == customer_session.STAGE_PASSWORD_CHANGE:
            return redirect("security:password_change_initial")
        if stage == customer_session.STAGE_OTP:
            return redirect("security:login_otp")
        if stage == customer_session.STAGE_PASSKEY:
            return redirect("security:login_passkey")
        return redirect("security:login")

    return wrapped
