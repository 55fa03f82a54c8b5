"""XFER-12, LEDGER-7 (outside review dbprobe28 F6, transfers 0029, CI227): as the app's own
role, a 仕向 file is the one ``outgoing_file_create`` writes — its records settle on its
決済日, the header is ours for that day and each line names its record's payee. The checks
run at commit (``at_commit``); the service's own file still commits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from django.test import Client

from tests.transfers.test_record_guards import as_the_app_role  # noqa: F401 - the fixture
from tests.transfers.test_interbank_guards import (  # noqa: F401 - the fixtures
    _forged_file,
    as_the_app_role_on_friday_noon,
    at_commit,
    pending,
    refused_at_commit,
)
from tests.transfers.test_interbank_services import DAY
from transfers.interbank import services as interbank
from transfers.interbank.zengin_file import file_build
from transfers.selectors import overdue_counts

pytestmark = pytest.mark.django_db
AS_WRITTEN = "CI227"


def _file_of(pending, *, header=None, record=None, day=DAY):
    content = file_build(header or interbank._our_header(DAY), [record or interbank._data_record(pending)])
    return dict(business_day=day, sha256=hashlib.sha256(content).hexdigest(), content=content)


def test_a_file_of_another_day_than_its_records_is_refused(pending):
    """The review's file: the day's record "sent" in a file dated 2001-01-01."""
    assert refused_at_commit(lambda: _forged_file(pending, interbank._data_record(pending),
                                                  **_file_of(pending, day=dt.date(2001, 1, 1)))) == AS_WRITTEN
    header = interbank._our_header(dt.date(2001, 1, 1))
    assert refused_at_commit(lambda: _forged_file(pending, interbank._data_record(pending),
                                                  **_file_of(pending, header=header, day=dt.date(2001, 1, 1)))) == AS_WRITTEN


@pytest.mark.parametrize("change", [
    {"transfer_day": DAY + dt.timedelta(days=3)},    # 振込指定日 not the 決済日
    {"requester_name": "ﾆｾﾓﾉ"},                      # 依頼人名
    {"bank_code": "0005", "bank_kana": "ﾐﾂﾋﾞｼ"},     # another bank's code
    {"account_number": "7777777"},                   # another 為替決済 account
    {"branch_code": "002"},
])
def test_a_file_whose_header_is_not_ours_for_its_day_is_refused(pending, change):
    header = dataclasses.replace(interbank._our_header(DAY), **change)
    assert refused_at_commit(lambda: _forged_file(pending, interbank._data_record(pending),
                                                  **_file_of(pending, header=header))) == AS_WRITTEN


def test_a_header_of_blanks_is_refused(pending):
    fields = _file_of(pending)
    content = b"1" + b" " * 119 + fields["content"][120:]
    fields.update(content=content, sha256=hashlib.sha256(content).hexdigest())
    assert refused_at_commit(lambda: _forged_file(pending, interbank._data_record(pending), **fields)) == AS_WRITTEN


def test_a_line_without_its_payees_name_is_refused(pending):
    for name in ("", "ｱﾀｯｶｰ"):
        record = dataclasses.replace(interbank._data_record(pending), payee_kana=name)
        assert refused_at_commit(lambda: _forged_file(pending, record, **_file_of(pending, record=record))) == AS_WRITTEN


def test_the_services_file_still_commits_and_health_counts_nothing_misfiled(pending, no_job_waiting):
    file = interbank.outgoing_file_create(day=DAY, staff="madoguchi")
    at_commit()
    assert file.record_count == 1 and overdue_counts(DAY) == (0, 0, 0)
    # the worker's part: the 振込 mail and notices of the test's day (long past by the
    # database's clock) sent, else /health/ rightly reports mail held back (dbprobe30 F3)
    from notifications.services import posting_notices_process
    from notifications.tasks import outbox_send_pending

    posting_notices_process()
    outbox_send_pending()
    health = Client().get("/health/").json()
    assert health["outgoing_records_misfiled"] == 0 and health["status"] == "ok"


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_health_reports_a_record_sent_in_a_file_of_another_day(pending):
    """/health/ counts 送信済 records in a file whose 決済日 is not theirs — a file the rule
    cannot refuse any more (an owner's load, or one written before transfers 0029): the
    status is ``error``."""
    import psycopg
    from django.db import connections

    fields = _file_of(pending, day=DAY + dt.timedelta(days=3))
    with psycopg.connect(**connections["owner"].get_connection_params()) as conn, conn.transaction():
        file_id = conn.execute(
            "INSERT INTO transfers_interbankoutgoingfile (business_day, record_count, total_amount, sha256, content,"
            " settlement_amount, created_by, created_at) VALUES (%s, 1, %s, %s, %s, %s, 'dba', now()) RETURNING id",
            [fields["business_day"], pending.amount, fields["sha256"], fields["content"], pending.amount]).fetchone()[0]
        conn.execute("INSERT INTO transfers_interbankoutgoingitem (file_id, outgoing_id, line) VALUES (%s, %s, 2)",
                     [file_id, pending.pk])
        conn.execute("UPDATE transfers_outgoingtransfer SET status = 'sent' WHERE id = %s", [pending.pk])
    assert overdue_counts(DAY) == (0, 0, 1)
    health = Client().get("/health/").json()
    assert (health["outgoing_records_misfiled"], health["status"]) == (1, "error")
