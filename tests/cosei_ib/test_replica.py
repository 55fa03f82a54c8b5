"""Read scale-out (issue 14; cosei_ib/replica.py, docs/operations.md): the router and the
replica-lag rule, without a replica. test_replica_standby.py proves it on a real standby."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from accounts.models import Customer
from cosei_ib import replica


def test_the_router_never_sends_writes_or_migrations_to_the_replica():
    router = replica.PrimaryReplicaRouter()
    from_replica, from_primary = Customer(), Customer()
    from_replica._state.db, from_primary._state.db = "replica", "default"
    assert router.db_for_read(Customer) is None  # reads go where the selector says
    assert router.db_for_write(Customer, instance=from_replica) == "default"
    assert router.db_for_write(Customer, instance=from_primary) is None
    assert router.db_for_write(Customer) is None
    assert router.allow_relation(from_replica, from_primary) is True
    assert router.allow_migrate("replica", "accounts") is False
    assert router.allow_migrate("default", "accounts") is None
    assert router.allow_migrate("owner", "accounts") is None
    assert "cosei_ib.replica.PrimaryReplicaRouter" in settings.DATABASE_ROUTERS


class FakeSession(dict):
    def is_empty(self):
        return not self


def _request(method="GET", session=None):
    request = getattr(RequestFactory(), method.lower())("/")
    request.session = FakeSession(session or {})
    return request


def test_without_a_replica_everything_reads_the_primary(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: False)
    assert replica.read_alias(_request(session={"customer": 1})) == "default"


def test_a_customer_who_just_wrote_reads_the_primary(monkeypatch, settings):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    settings.REPLICA_PRIMARY_AFTER_WRITE_SECONDS = 30
    assert replica.read_alias(_request(session={"customer": 1})) == "replica"
    request = _request(session={"customer": 1})
    replica.write_note(request)
    assert replica.read_alias(request) == "default"
    request.session[replica.SESSION_LAST_WRITE] = time.time() - 31
    assert replica.read_alias(request) == "replica"
    request.session[replica.SESSION_LAST_WRITE] = "garbage"
    assert replica.read_alias(request) == "default"


@pytest.mark.parametrize("method, status, session, stamped", [
    ("POST", 302, {"customer": 1}, True),
    ("POST", 200, {"customer": 1}, True),
    ("DELETE", 204, {"customer": 1}, True),
    ("GET", 200, {"customer": 1}, False),
    ("POST", 400, {"customer": 1}, False),
    ("POST", 403, {"customer": 1}, False),
    ("POST", 302, {}, False),  # logout flushed the session: no new session for a stamp
])
def test_the_middleware_stamps_successful_writes_only(monkeypatch, method, status, session, stamped):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    request = _request(method, session)
    replica.LastWriteMiddleware(lambda r: HttpResponse(status=status))(request)
    assert (replica.SESSION_LAST_WRITE in request.session) is stamped


def test_the_middleware_does_nothing_without_a_replica(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: False)
    request = _request("POST", {"customer": 1})
    replica.LastWriteMiddleware(lambda r: HttpResponse(status=302))(request)
    assert replica.SESSION_LAST_WRITE not in request.session
