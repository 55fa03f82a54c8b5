"""The session engine (``SESSION_ENGINE``): Django's database sessions, whose load also
reads the user of a customer's session in the same statement (issue 14).

Every customer page read its session and then, in a second statement, the session's
user with the customer (``security.backends.CustomerSessionBackend``). The session key
names its customer in the index of customers' sessions (``CustomerSession``, SEC-12), so
one statement can read both; the store keeps that user as ``prefetched_user`` and the
backend takes it for the request — only if it is the user the session names (Django's
check of the session's password hash follows as always), and only once. A session
without an index row (staff, a session half-way through the login, a marker of an ended
session) reads no user, and the backend reads it as before.
"""

from __future__ import annotations

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone

from accounts.models import Customer
from cosei_ib.queries import prepared_cursor

from .backends import _user_with_customer_columns, user_with_customer
from .models import CustomerSession


@lru_cache(maxsize=1)
def _session_with_user_query() -> str:
    columns, _user_names, _customer_names = _user_with_customer_columns()
    session = db.SessionStore.get_model_class()._meta.db_table
    index = CustomerSession._meta.db_table
    return (f'SELECT session.session_data, session.expire_date, {columns} '
            f'FROM "{session}" session '
            f'LEFT JOIN "{index}" indexed ON indexed.session_key = session.session_key '
            f'LEFT JOIN "{Customer._meta.db_table}" customer ON customer.id = indexed.customer_id '
            f'LEFT JOIN "{get_user_model()._meta.db_table}" "user" ON "user".id = customer.user_id '
            f'WHERE session.session_key = %s AND session.expire_date > %s')


class SessionStore(db.SessionStore):
    prefetched_user = None  # the customer's user, read with the session (see above)
    _written = None  # (key, serialized data) of ``save_in_transaction``

    def save_in_transaction(self) -> bool:
        """Write the session now, in the caller's open transaction, as Django's save would
        (the data and the expiry, the row by its key) but without a savepoint of its own.
        The confirm pages save the session with the operation they executed: one commit
        fewer (issue 14). The response's ``save`` then writes nothing while the session
        is what was written here; anything changed since is saved as always. False, and
        nothing written, when the row is gone (the session ended meanwhile): the
        response's save fails then, as it did."""
        if self.session_key is None:
            return False
        data = self._get_session()
        connection = connections[router.db_for_write(self.model)]
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{self.model._meta.db_table}" SET session_data = %s, expire_date = %s '
                           'WHERE session_key = %s',
                           [self.encode(data), self.get_expiry_date(), self.session_key])
            if cursor.rowcount != 1:
                return False
        written = (self.session_key, self.serializer().dumps(data))
        # only once it is committed: a rollback (of the operation's savepoint too) drops it
        connection.on_commit(lambda: setattr(self, "_written", written))
        return True

    def save(self, must_create=False):
        written, self._written = self._written, None
        if not must_create and written is not None \
                and written == (self.session_key, self.serializer().dumps(self._get_session())):
            return  # written by save_in_transaction, committed with the operation
        super().save(must_create=must_create)

    def _get_session_from_db(self):
        """What Django's store reads (the unexpired session under this key, else no key),
        with the customer's user. ``session_key`` is unique in both tables: one row."""
        self.prefetched_user = None
        with prepared_cursor() as cursor:
            cursor.execute(_session_with_user_query(), [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        self.prefetched_user = user_with_customer(row[2:])
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])
