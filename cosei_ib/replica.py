"""Read scale-out: which database a customer's history pages read from.

``DATABASE_REPLICA_URL`` adds the ``replica`` alias (a streaming standby of the primary).
Only three reads may use it, and each says so explicitly with ``using=read_alias(request)``:
入出金明細照会 (the statement page), its CSV download, and 取引履歴照会 (the operation
history). Everything else — every write, the session, the customer's login state, the
account lookup and everything a posting decides on (balances, holds, limits, idempotency)
— reads and writes the primary (``default``), which is also what the ORM does when a
query names no database.

Replica-lag rule (docs/operations.md): a standby is a few milliseconds to seconds behind.
A customer who has just changed something must see it, so for
``REPLICA_PRIMARY_AFTER_WRITE_SECONDS`` after the customer's last successful write
request (any POST, PUT, PATCH or DELETE answered below 400; the session remembers when)
those pages read the primary too. Other customers' postings (a transfer received, the
scheduled batch) may appear on the replica up to its lag later; the balance page always
reads the primary.
"""

from __future__ import annotations

import time

from django.conf import settings

REPLICA = "replica"
PRIMARY = "default"
SESSION_LAST_WRITE = "cosei_last_write_at"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias(request) -> str:
    """The database alias for a read-only history page of ``request``'s customer: the
    replica when there is one and the customer has not written within the lag window."""
    if not replica_configured():
        return PRIMARY
    last_write = request.session.get(SESSION_LAST_WRITE)
    if last_write is not None:
        try:
            elapsed = time.time() - float(last_write)
        except (TypeError, ValueError):
            return PRIMARY
        if elapsed < settings.REPLICA_PRIMARY_AFTER_WRITE_SECONDS:
            return PRIMARY
    return REPLICA


def write_note(request) -> None:
    """Remember that this customer has just written (the replica-lag rule)."""
    request.session[SESSION_LAST_WRITE] = time.time()


class LastWriteMiddleware:
    """Stamps the session after every successful unsafe request of a signed-in session,
    so that the history pages read the primary for the next few seconds. Only with a
    replica configured (otherwise it would cost a session save per POST for nothing).
    Sits after the session middleware, so the stamp is saved with the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method not in SAFE_METHODS
            and response.status_code < 400
            and replica_configured()
            and hasattr(request, "session")
            and not request.session.is_empty()  # not after logout's flush
        ):
            write_note(request)
        return response


class PrimaryReplicaRouter:
    """The database router of the replica: nothing is routed to it implicitly.

    * reads: no opinion — the ORM reads ``default`` unless a selector was given
      ``using=read_alias(request)``;
    * writes: always the primary, even for an object that was read from the replica
      (Django would otherwise save it back where it came from — a read-only standby);
    * relations between objects of the primary and the replica are allowed (same data);
    * migrations never run on the replica (it replays the primary's).
    """

    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        instance = hints.get("instance")
        if instance is not None and instance._state.db == REPLICA:
            return PRIMARY
        return None

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False
        return None
