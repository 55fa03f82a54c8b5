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

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class CustomerSessionBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        return None

    def get_user(self, user_id):
        # get(), as ModelBackend: first() would add an ORDER BY to build and send on
        # every request (~0.2 ms of CPU, issue 14) for a primary key
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("customer").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
