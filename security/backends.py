"""The authentication backend of customer sessions.

Customers never authenticate through Django's ``authenticate()``: the login checks the
contract ID and password itself (``services.login_authenticate``: lockout, equal timing,
audit) and then logs the user in naming a backend. This backend only loads the user of
such a session, with its customer in the same query: every customer page reads
``request.user.customer`` (``CustomerSessionMiddleware``), which would otherwise be a
second query on every request.

Staff sign in to admin with ``authenticate()``, through ``ModelBackend`` as before; this
backend answers None to ``authenticate()`` without running the hasher, so a wrong staff
password is hashed once, not once per backend.
"""

from __future__ import annotations

from functools import lru_cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import DEFAULT_DB_ALIAS

from accounts.models import Customer
from cosei_ib.queries import prepared_cursor


@lru_cache(maxsize=1)
def _user_with_customer_query() -> tuple[str, list[str], list[str]]:
    """The SQL of ``select_related("customer").get(pk=…)``, written once per process from
    the two models' columns, and the attribute names of the user's and the customer's
    part of its row. The ORM built and compiled that query on every request of every
    customer page (~0.7 ms of Python CPU, half the bare page's whole request; issue 14)."""
    user_model = get_user_model()
    user_fields = [field for field in user_model._meta.concrete_fields]
    customer_fields = [field for field in Customer._meta.concrete_fields]
    user_table, customer_table = user_model._meta.db_table, Customer._meta.db_table
    columns = [f'"user"."{field.column}"' for field in user_fields]
    columns += [f'customer."{field.column}"' for field in customer_fields]
    sql = (f'SELECT {", ".join(columns)} FROM "{user_table}" "user" '
           f'LEFT JOIN "{customer_table}" customer ON customer."{Customer._meta.get_field("user").column}" = "user".id '
           f'WHERE "user".id = %s')
    return sql, [field.attname for field in user_fields], [field.attname for field in customer_fields]


class CustomerSessionBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None

    def get_user(self, user_id):
        # One statement whose SQL is not rebuilt per request. The columns of both models
        # are text, booleans, integers and timestamps, which the database driver already
        # returns as the ORM would (no field converts them from the database);
        # tests/security/test_backends.py compares every field with the ORM's.
        sql, user_names, customer_names = _user_with_customer_query()
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        with prepared_cursor() as cursor:
            cursor.execute(sql, [user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user_model = get_user_model()
        user = user_model.from_db(DEFAULT_DB_ALIAS, user_names, row[:len(user_names)])
        customer_values = row[len(user_names):]
        customer = None
        if customer_values[0] is not None:  # its id: the user has a customer
            customer = Customer.from_db(DEFAULT_DB_ALIAS, customer_names, customer_values)
            Customer._meta.get_field("user").set_cached_value(customer, user)
        # as select_related: user.customer is known, also when there is none (staff)
        user_model._meta.get_field("customer").set_cached_value(user, customer)
        return user if self.user_can_authenticate(user) else None
