"""The authentication backend of customer sessions.

Customers never authenticate through Django's ``authenticate()``: the login checks the
contract ID and password itself (``services.login_authenticate``: lockout, equal timing,
audit) and then logs the user in naming a backend. This backend only loads the user of
such a session, with its customer in the same query: every customer page reads
``request.user.customer`` (``CustomerSessionMiddleware``), which would otherwise be a
second query on every request.

The session store reads that same row with the session itself when the session is a
customer's (``security/session_store.py``, one statement for both); this backend then
takes the user from it, if it is the session's user, instead of reading it again.

Staff sign in to admin with ``authenticate()``, through ``ModelBackend`` as before; this
backend answers None to ``authenticate()`` without running the hasher, so a wrong staff
password is hashed once, not once per backend.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import DEFAULT_DB_ALIAS

from accounts.models import Customer
from cosei_ib.queries import model_columns, moments_made, prepared_cursor


@lru_cache(maxsize=1)
def _user_with_customer_columns() -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The columns of a user row with its customer's (``"user"`` and ``customer`` in the
    FROM), and the attribute names of the user's and the customer's part of such a row.
    The timestamps (last_login, date_joined, the customer's three) are read as integers
    (``cosei_ib.queries.model_columns``): Django's loader parses each in Python, ~4 µs, on
    every customer page (issue 14); ``user_with_customer`` makes them datetimes."""
    user_columns, user_names, _user_moments = model_columns(get_user_model(), '"user"')
    customer_columns, customer_names, _customer_moments = model_columns(Customer, "customer")
    return ", ".join(user_columns + customer_columns), user_names, customer_names


@lru_cache(maxsize=1)
def _user_with_customer_moments() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The positions of the timestamps in the user's and in the customer's part of a row."""
    return model_columns(get_user_model(), '"user"')[2], model_columns(Customer, "customer")[2]


@lru_cache(maxsize=1)
def _user_with_customer_query() -> str:
    """The SQL of ``select_related("customer").get(pk=…)``, written once per process from
    the two models' columns. The ORM built and compiled that query on every request of
    every customer page (~0.7 ms of Python CPU, half the bare page's whole request;
    issue 14)."""
    user_model = get_user_model()
    columns, _user_names, _customer_names = _user_with_customer_columns()
    return (f'SELECT {columns} FROM "{user_model._meta.db_table}" "user" '
            f'LEFT JOIN "{Customer._meta.db_table}" customer '
            f'ON customer."{Customer._meta.get_field("user").column}" = "user".id '
            f'WHERE "user".id = %s')


def user_with_customer(row):
    """The user of a row of ``_user_with_customer_columns()``, its customer (or None)
    known to it as select_related("customer") would; None for a row without a user. The
    columns of both models are text, booleans and integers, which the database driver
    already returns as the ORM would (no field converts them from the database), and
    timestamps, read as integers and made the ORM's datetimes here;
    tests/security/test_backends.py compares every field with the ORM's."""
    _columns, user_names, customer_names = _user_with_customer_columns()
    if row[0] is None:  # its id: no user
        return None
    user_moments, customer_moments = _user_with_customer_moments()
    user_model = get_user_model()
    user = user_model.from_db(DEFAULT_DB_ALIAS, user_names, moments_made(row[:len(user_names)], user_moments))
    customer_values = row[len(user_names):]
    customer = None
    if customer_values[0] is not None:  # its id: the user has a customer
        customer = Customer.from_db(DEFAULT_DB_ALIAS, customer_names, moments_made(customer_values, customer_moments))
        Customer._meta.get_field("user").set_cached_value(customer, user)
    user_model._meta.get_field("customer").set_cached_value(user, customer)
    return user


# The session of the request whose user is being loaded (security.middleware's
# AuthenticationMiddleware sets it around Django's get_user): its store may have read the
# user with the session (security/session_store.py).
request_session: ContextVar = ContextVar("request_session", default=None)


class CustomerSessionBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None

    def get_user(self, user_id):
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        session = request_session.get()
        user = getattr(session, "prefetched_user", None)
        if user is not None:
            session.prefetched_user = None  # once: a second get_user reads afresh
        if user is None or user.pk != user_id:
            # One statement whose SQL is not rebuilt per request.
            with prepared_cursor() as cursor:
                cursor.execute(_user_with_customer_query(), [user_id])
                row = cursor.fetchone()
            user = user_with_customer(row) if row is not None else None
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None
