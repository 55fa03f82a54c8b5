"""ACCT-1, SEC-13, PAY-1, LEDGER-7 (outside review dbprobe26 F6): a date or time Python cannot
load ('infinity', a BC date) written by the app's role stopped the pages and batches that
read it — a customer's balances (開設日時), 取引履歴, the 入出金 notice batch (前回ログイン).
accounts 0031, security 0012, payeasy 0008. The five minutes the app's clock may be off are
``cosei_clock_slack()``: the tests that travel in time have 100 years, these five minutes
(``database_clock_strict``, tests/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from accounts.models import Account
from security.models import AuditEvent
from tests import factories
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db

CHECK_VIOLATION = "23514"
UNLOADABLE = ["infinity", "-infinity", "0044-03-15 BC", "9999-12-31 23:00+00"]
# the ledger's own times (CI013/CI014) and the 臨時休業日 dates (CI112) are held otherwise
HELD_OTHERWISE = {("accounts_journal", "created_at"), ("accounts_journal", "posted_at"),
                  ("accounts_entry", "posted_at"), ("accounts_bankclosingday", "date")}


def test_every_date_and_time_column_of_these_apps_is_held_loadable():
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.table_name, c.column_name FROM information_schema.columns c
             WHERE c.table_schema = 'public' AND c.data_type IN ('date', 'timestamp with time zone')
               AND (c.table_name LIKE 'accounts\\_%%' OR c.table_name LIKE 'payeasy\\_%%'
                    OR c.table_name LIKE 'security\\_%%')
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                                WHERE k.conrelid = ('public.' || c.table_name)::regclass AND k.contype = 'c'
                                  AND k.conname = c.table_name || '_' || c.column_name || '_loadable')""")
        assert set(cursor.fetchall()) == HELD_OTHERWISE


def test_an_account_opened_by_the_app_role_is_opened_now_whatever_it_says():
    owner = factories.customer()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_account (purpose, type, number, holder_kana, name, status, balance, hold_amount,"
            " opened_at, branch_id, customer_id) VALUES ('customer', '1', '7777777', 'ﾔﾏﾀﾞ ﾀﾛｳ', '普通預金', 'closed',"
            " 0, 0, 'infinity', %s, %s) RETURNING id, opened_at, opened_at > clock_timestamp() - interval '1 minute'",
            [factories.branch("001").pk, owner.pk])
        account_id, opened_at, recent = cursor.fetchone()
    assert recent and Account.objects.get(pk=account_id).opened_at == opened_at  # it loads


@pytest.mark.parametrize("value", UNLOADABLE + ["2999-01-01", dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)])
def test_a_customer_login_time_is_loadable_and_not_in_the_future(value, database_clock_strict):
    customer = factories.customer()
    code = refused("UPDATE accounts_customer SET previous_login_at = %s WHERE id = %s", [value, customer.pk])
    assert code in (CHECK_VIOLATION, "CI113")
    assert refused("UPDATE accounts_customer SET last_login_at = %s WHERE id = %s", [value, customer.pk]) == code
    with connection.cursor() as cursor:  # the login service's write passes
        cursor.execute("UPDATE accounts_customer SET previous_login_at = last_login_at, last_login_at = now()"
                       " WHERE id = %s", [customer.pk])


@pytest.mark.parametrize("value", UNLOADABLE)
def test_an_audit_row_dated_out_of_this_world_is_refused(value, database_clock_strict):
    customer = factories.customer()
    insert = ("INSERT INTO security_auditevent (contract_id, action, outcome, summary, actor, created_at, customer_id)"
              " VALUES ('', 'login', 'success', 'x', 'customer', %s, %s)")
    assert refused(insert, [value, customer.pk]) in ("CI303", CHECK_VIOLATION)
    for days in (-400, 1):  # dated back (the probe of dbprobe25) or ahead: CI303 at once
        moment = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        assert refused(insert, [moment, customer.pk]) == "CI303"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [dt.datetime.now(dt.UTC), customer.pk])
    assert AuditEvent.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("value", UNLOADABLE)
def test_a_step_up_is_loadable(value):
    customer = factories.customer()
    insert = ("INSERT INTO security_stepup (id, kind, content, content_hash, method, created_at, expires_at,"
              " customer_id) VALUES (gen_random_uuid(), 'payeasy', '{}', 'x', '', now(), %s, %s)")
    assert refused(insert, [value, customer.pk]) == CHECK_VIOLATION
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(insert, [dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5), customer.pk])
