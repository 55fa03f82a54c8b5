"""STAFF-1, SEC-13 (walk31 F8): a staff step admin refuses for want of a permission (a 403)
is written to the 操作ログ as 拒否 — who, from where, what was attempted — and changes
nothing; Django's log has one line for it, not a traceback."""

from __future__ import annotations

import io
import logging

import pytest

from accounts.models import Account
from security.history import audit_history_for_customer
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import SHOWN_OPEN, staff, staff_client  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_branch_staff_freezing_an_account_is_refused_audited_and_changes_nothing(staff_client):  # noqa: F811
    """staff01 (営業店担当者, no change_account) posts 状態=支払停止 to an account's page: 403,
    as before; now a 拒否 row says who tried what on which account."""
    account = factories.account(balance=5_000)
    before = (account.status, account.hold_amount, account.balance)
    response = staff_client.post(f"/admin/accounts/account/{account.pk}/change/",
                                 {"status": "frozen", "hold_amount": "300", "reason": "不正利用の届出", **SHOWN_OPEN})
    assert response.status_code == 403
    account.refresh_from_db()
    assert (account.status, account.hold_amount, account.balance) == before
    event = AuditEvent.objects.get(outcome="refused")
    assert (event.action, event.actor, event.contract_id, event.client_ip) == (
        "account_change", "staff-t", account.customer.contract_id, "127.0.0.1")
    assert event.summary == (f"権限なし：{account.number} 状態=支払停止、拘束額=300円"
                             "（変更前：状態=有効、拘束額=0円）")
    assert not AuditEvent.objects.filter(outcome="success", action="account_change").exists()
    # staff read it in the 操作ログ; the customer's 取引履歴 does not list a staff attempt
    assert event.customer_id is None
    assert event not in audit_history_for_customer(customer=account.customer)
    listing = staff_client.get("/admin/security/auditevent/", {"q": account.customer.contract_id}).content.decode()
    assert "口座の状態・拘束額の変更" in listing and "拒否" in listing and "権限なし" in listing
    # looking at the page is allowed (read-only): no row for that
    assert staff_client.get(f"/admin/accounts/account/{account.pk}/change/").status_code == 200
    assert AuditEvent.objects.filter(outcome="refused").count() == 1


def test_any_other_page_refused_in_admin_names_the_page(staff, staff_client):  # noqa: F811
    user, _device = staff
    user.groups.clear()  # no 為替 permission
    assert staff_client.get("/admin/transfers/interbankoutgoingfile/exchange/").status_code == 403
    event = AuditEvent.objects.get(outcome="refused")
    assert (event.action, event.actor, event.contract_id) == ("staff_refused", "staff-t", "")
    assert event.summary == "権限なし：仕向ファイル（他行宛振込） GET /admin/transfers/interbankoutgoingfile/exchange/"
    assert staff_client.post("/admin/transfers/interbankoutgoingfile/exchange/", {"day": "2026-12-04"}).status_code == 403
    assert AuditEvent.objects.filter(outcome="refused", action="staff_refused").count() == 2


def test_a_403_is_one_line_of_log_and_a_500_keeps_its_traceback(staff_client):  # noqa: F811
    from cosei_ib.log_filters import ClientErrorWithoutTraceback

    (handler,) = [handler for handler in logging.getLogger("django.request").handlers  # settings.LOGGING's
                  if any(isinstance(each, ClientErrorWithoutTraceback) for each in handler.filters)]
    account = factories.account()
    written = io.StringIO()
    stream = handler.setStream(written)
    try:
        for _ in range(2):
            response = staff_client.post(f"/admin/accounts/account/{account.pk}/change/",
                                         {"status": "frozen", "hold_amount": "0", **SHOWN_OPEN})
            assert response.status_code == 403
    finally:
        handler.setStream(stream)
    lines = written.getvalue().splitlines()
    assert len(lines) == 2, written.getvalue()
    assert all(f"WARNING django.request Forbidden (Permission denied): /admin/accounts/account/{account.pk}/change/"
               in line for line in lines), lines
    assert "Traceback" not in written.getvalue()
    # a server error's record keeps what operators need
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        error = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /x",
                                  None, sys.exc_info())
    error.status_code = 500
    assert ClientErrorWithoutTraceback().filter(error) and error.exc_info is not None
    assert Account.objects.get(pk=account.pk).status == "open"
