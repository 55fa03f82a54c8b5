"""Closing days a test writes by SQL (accounts 0036, CI114): the staff audit row each one
needs by commit — and by the test's teardown, which runs the deferred checks."""

from __future__ import annotations

from accounts.models import BankClosingDay
from security.audit import audit_record


def staff_user(username: str):
    """An active staff user named ``username`` of the branch staff group (the actor CI114
    asks for: one who may add and delete closing days, accounts 0040)."""
    from tests import factories

    return factories.staff_user(username)


def closing_days_audited() -> None:
    """For every closing day in the table (a test's, written by SQL): the admin's audit row
    of its addition, by a staff user named as its ``created_by``."""
    for day in BankClosingDay.objects.order_by("id"):
        staff_user(day.created_by)
        audit_record(action="staff_closing_day", outcome="success", actor=day.created_by,
                     summary=f"臨時休業日追加 {day}")
