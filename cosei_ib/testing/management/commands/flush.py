"""Test profile only: Django empties the database between transactional tests with
``flush`` on the connection the test used — the app's role, which may not TRUNCATE the
ledger (LEDGER-7). The same statements run as the owner instead, as a DBA would, on a
connection of their own (a test may not use the ``owner`` alias itself). The owner then
puts back the reference data of the migrations (branches, the bank's internal accounts
and their stripes: the app's role may not open the bank's own accounts, accounts 0024; the
default fee table and the transfer settings row, transfers 0002). Every test then starts
from the migrated database, whichever test ran before it on its worker (pytest-xdist: a
worker runs one file's transactional tests before the next file's others)."""

import psycopg
from django.core.management.commands.flush import Command as DjangoFlush
from django.core.management.sql import emit_post_migrate_signal, sql_flush
from django.db import connections

CONNINFO_KEYS = {"dbname", "user", "password", "host", "port", "options"}


class Command(DjangoFlush):
    def handle(self, **options):
        database = options.get("database", "default")
        if "owner" not in connections:
            return super().handle(**options)
        if database != "default":
            super().handle(**options)
            reference_data_restore()
            return
        statements = sql_flush(self.style, connections[database],
                               reset_sequences=options.get("reset_sequences", True),
                               allow_cascade=options.get("allow_cascade", False))
        params = connections["owner"].get_connection_params()
        conninfo = {key: value for key, value in params.items() if key in CONNINFO_KEYS}
        with psycopg.connect(**conninfo) as owner, owner.transaction():
            for statement in statements:
                owner.execute(statement)
        reference_data_restore()
        if not options.get("inhibit_post_migrate"):
            emit_post_migrate_signal(options.get("verbosity", 1), options.get("interactive", False),
                                     database)


RESTORE_ALIAS = "owner_reference_data"


def reference_data_restore() -> None:
    """ensure_reference_data as the owner, on a connection of its own under an alias of its
    own (Django fences off a test's unlisted aliases, and allows connections made on the
    fly)."""
    from accounts.models import Account, Branch
    from accounts.reference_data import ensure_reference_data
    from transfers.demo import reference_ensure

    owner = connections["owner"]
    connections[RESTORE_ALIAS] = owner.__class__(dict(owner.settings_dict), alias=RESTORE_ALIAS)
    try:
        ensure_reference_data(Branch, Account, using=RESTORE_ALIAS)
        reference_ensure(using=RESTORE_ALIAS)
    finally:
        connections[RESTORE_ALIAS].close()
        del connections[RESTORE_ALIAS]
