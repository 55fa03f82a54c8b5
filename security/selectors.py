from __future__ import annotations

from accounts.models import Customer

from . import session as customer_session


def login_next_stage(customer: Customer) -> str:
    """Where a customer who gave the right password goes next."""
    if customer.password_is_initial:
        return customer_session.STAGE_PASSWORD_CHANGE
    if customer_otp_required_at_login(customer):
        return customer_session.STAGE_OTP
    return customer_session.STAGE_COMPLETE


def customer_otp_required_at_login(customer: Customer) -> bool:
    """Whether the customer chose OTP at login (SEC-6); False until OTP is registered."""
    return False
