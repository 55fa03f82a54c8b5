"""Test profile only: Django empties the database between transactional tests with
``flush`` on the connection the test used — the app's role, which may not TRUNCATE the
ledger (LEDGER-7). The same statements run as the owner instead, as a DBA would, on a
connection of their own (a test may not use the ``owner`` alias itself)."""

import psycopg
from django.core.management.commands.flush import Command as DjangoFlush
from django.core.management.sql import emit_post_migrate_signal, sql_flush
from django.db import connections

CONNINFO_KEYS = {"dbname", "user", "password", "host", "port", "options"}


class Command(DjangoFlush):
    def handle(self, **options):
        database = options.get("database", "default")
        if "owner" not in connections or database != "default":
            return super().handle(**options)
        statements = sql_flush(self.style, connections[database],
                               reset_sequences=options.get("reset_sequences", True),
                               allow_cascade=options.get("allow_cascade", False))
        params = connections["owner"].get_connection_params()
        conninfo = {key: value for key, value in params.items() if key in CONNINFO_KEYS}
        with psycopg.connect(**conninfo) as owner, owner.transaction():
            for statement in statements:
                owner.execute(statement)
        if not options.get("inhibit_post_migrate"):
            emit_post_migrate_signal(options.get("verbosity", 1), options.get("interactive", False),
                                     database)
