"""SEC-13, ACCT-4, LEDGER-7: the app's role could insert a 取引履歴 row dated 400 days back
or naming one customer with another's 契約者ID (dbprobe). The database records when it
wrote each row (security 0009) and ``manage.py audit_check`` reports a row whose 日時 is
far from that; a row's 契約者ID is its customer's."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from security.audit import audit_record
from security.models import AuditEvent
from tests import factories
from tests.commands import command_run
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db


def audit_check(capsys, *args: str) -> tuple[int, str, str]:
    return command_run(capsys, "audit_check", *args)


def test_a_row_dated_back_by_the_apps_role_is_found(capsys):
    customer = factories.customer()
    event = audit_record(action="transfer", outcome="success", customer=customer, summary="受付番号 1")
    assert audit_check(capsys)[0] == 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO security_auditevent (customer_id, contract_id, action, outcome, summary,"
                       " actor, created_at, recorded_at) VALUES (%s, %s, 'ib_resume', 'success', '', 'staff01',"
                       " now() - interval '400 days', now() - interval '400 days') RETURNING id",
                       [customer.pk, customer.contract_id])
        forged = cursor.fetchone()[0]

    status, out, err = audit_check(capsys)

    assert status == 1
    assert f"[DATED] id {forged}: " in out and f"contract={customer.contract_id} action=ib_resume" in out
    assert f"id {event.pk}:" not in out
    assert "audit check FAILED: 1 row(s) dated more than 5 minutes" in err
    recorded = AuditEvent.objects.get(pk=forged).recorded_at
    assert abs(recorded - timezone.now()) < dt.timedelta(minutes=1)  # the database's clock, not the INSERT's


def test_the_apps_clock_within_the_tolerance_is_no_finding(capsys):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=3)):
        audit_record(action="login", outcome="success", customer=factories.customer())
    assert audit_check(capsys)[0] == 0
    assert audit_check(capsys, "--minutes", "2")[0] == 1


def test_a_row_names_its_customers_contract_id():
    one, other = factories.customer(), factories.customer()
    insert = ("INSERT INTO security_auditevent (customer_id, contract_id, action, outcome, summary, actor, created_at)"
              " VALUES (%s, %s, 'transfer', 'success', '', '', now())")
    assert refused(insert, [other.pk, one.contract_id]) == "CI302"
    with transaction.atomic(), connection.cursor() as cursor:  # an empty one is filled in
        cursor.execute(insert + " RETURNING id", [other.pk, ""])
        filled = cursor.fetchone()[0]
    assert AuditEvent.objects.get(pk=filled).contract_id == other.contract_id


def test_a_finding_is_reported_the_night_after_not_for_ever(capsys):
    """The check reads the rows recorded in the last --hours (26: nightly with overlap),
    so a row found once does not fail every night after; --hours 0 reads the whole log."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at)"
                       " VALUES ('', 'ib_resume', 'success', '', 'staff01', now() - interval '400 days') RETURNING id")
        forged = cursor.fetchone()[0]
    assert audit_check(capsys)[0] == 1
    with time_machine.travel(timezone.now() + dt.timedelta(hours=27)):
        assert audit_check(capsys)[0] == 0
        status, out, _err = audit_check(capsys, "--hours", "0")
    assert status == 1 and f"[DATED] id {forged}: " in out


@pytest.mark.parametrize("args", [["--minutes", "0"], ["--hours", "-1"]])
def test_nonsense_options_are_refused(args):
    with pytest.raises(CommandError):
        call_command("audit_check", *args)
