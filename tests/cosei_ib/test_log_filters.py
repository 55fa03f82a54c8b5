"""Issue 14, STAFF-1 (walk29 F8): a request Django refuses as suspicious is logged on one
line, not with a traceback per request — operators read the log for real errors."""

from __future__ import annotations

import io
import logging

import pytest

from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_a_refused_to_field_in_admin_is_one_line_of_log(staff_client):  # noqa: F811
    from cosei_ib.log_filters import WithoutTraceback

    (handler,) = [handler for handler in logging.getLogger("django.security").handlers  # settings.LOGGING's
                  if any(isinstance(each, WithoutTraceback) for each in handler.filters)]
    written = io.StringIO()
    stream = handler.setStream(written)
    try:
        for _ in range(3):
            assert staff_client.get("/admin/accounts/customer/?_to_field=password").status_code == 400
    finally:
        handler.setStream(stream)
    lines = written.getvalue().splitlines()
    assert len(lines) == 3, written.getvalue()
    assert all("ERROR django.security.DisallowedModelAdminToField" in line for line in lines), lines
    assert "Traceback" not in written.getvalue()
