"""View guards for customer pages."""

from __future__ import annotations

from functools import wraps

from django.shortcuts import redirect

from . import session as customer_session


def customer_required(view):
    """Only a complete customer session passes; a half-way session is sent to its next
    step (forced password change, OTP), anybody else to the login page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.customer is not None:
            return view(request, *args, **kwargs)
        stage = customer_session.session_stage(request) if request.user.is_authenticated else None
        if stage == customer_session.STAGE_PASSWORD_CHANGE:
            return redirect("security:password_change_initial")
        if stage == customer_session.STAGE_OTP:
            return redirect("security:login_otp")
        return redirect("security:login")

    return wrapped
