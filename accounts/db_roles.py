"""LEDGER-7: what the app's database role may do, applied by the owner after every migrate.

Two roles everywhere (docs/architecture.md, "Database roles"): the owner runs migrations
and owns every table and function; the app's role (web and worker) reads and writes
ordinary tables but may write the ledger only by calling ``ledger_post()``, a SECURITY
DEFINER function owned by the owner. Re-applied after each ``migrate --database owner``,
so a new app's tables get their grants without a migration of their own, and the ledger's
revocations always win.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

# the ledger, and the history of account status and hold that proves it (ledger_check);
# and the history of customers' addresses (notifications 0010) and of their choice of
# notices (notifications 0011): tables the database alone writes, which the app's role only reads
LEDGER_TABLES = ("accounts_journal", "accounts_entry", "accounts_accountstatechange",
                 "notifications_emailaddresschange", "notifications_noticepreferencechange")


def account_updatable_columns() -> list[str]:
    """Columns of accounts_account the app may UPDATE: status and hold (staff's freeze, hold
    and close); balance, last_entry_at and status_changed_at are the database's alone, and
    the names are written once, when the account is opened (dbprobe28 F8, accounts 0034)."""
    from .models import Account

    return [Account._meta.get_field(name).column for name in Account.APP_UPDATABLE_FIELDS]
LEDGER_POST_SIGNATURE = "ledger_post(text, text, text, bigint[], bigint[], text[], timestamptz)"


def app_role_name(using: str = "owner") -> str | None:
    """The app's role: DATABASE_APP_ROLE, else the user of the default connection; None
    when that is the owner itself (a single-role setup: nothing to grant)."""
    role = getattr(settings, "DATABASE_APP_ROLE", None) or settings.DATABASES["default"].get("USER")
    owner = connections[using].settings_dict.get("USER")
    if not role or role == owner:
        return None
    return role


def grants_statements(*, database: str, role: str, tables: set[str] | None = None) -> list[str]:
    """``tables``: the tables that exist (a migrate back to before the ledger's history
    table, accounts 0018, or notifications 0010/0011, leaves it out); None: all of LEDGER_TABLES."""
    quote = connections["default"].ops.quote_name
    app, db = quote(role), quote(database)
    ledger = [name for name in LEDGER_TABLES if tables is None or name in tables]
    return [
        # No TEMP (a temp table's trigger was the way around the balance guard) and no
        # CREATE anywhere the app can reach.
        f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {db} TO {app}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE CREATE ON SCHEMA public FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {app}",
        # The ledger: read, and write only through ledger_post().
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {', '.join(ledger)} FROM {app}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON accounts_account FROM {app}",
        # Our branches are reference data the migrations write (accounts 0003, 0033): the
        # 全銀 file's header and the payee guards read them (dbprobe27 F1, F5).
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON accounts_branch FROM {app}",
        f"GRANT UPDATE ({', '.join(account_updatable_columns())}) ON accounts_account TO {app}",
        f"REVOKE EXECUTE ON FUNCTION {LEDGER_POST_SIGNATURE} FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {LEDGER_POST_SIGNATURE} TO {app}",
        # The audit log (取引履歴, staff actions) is the evidence of who did what: the app
        # adds rows and never changes or removes one (SEC-11).
        f"REVOKE UPDATE, DELETE, TRUNCATE ON security_auditevent FROM {app}",
        # The record by which the owner's migrate decides what is applied: a row the app
        # added would make a deploy skip a migration (a future ledger guard) unannounced.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {app}",
    ]


def database_grants_apply(*, using: str) -> bool:
    """Apply the app role's privileges on the database behind ``using`` (the owner's
    connection). Returns False when there is no separate app role to grant to."""
    role = app_role_name(using)
    if role is None:
        logger.warning("no separate app role configured: LEDGER-7 grants not applied")
        return False
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        for statement in grants_statements(database=connection.settings_dict["NAME"], role=role, tables=tables):
            cursor.execute(statement)
    return True


def grants_after_migrate(sender, using: str, **kwargs) -> None:
    """post_migrate (accounts): after ``migrate`` only — not after a test flush."""
    if "plan" not in kwargs:
        return
    if using != "owner" and "owner" in settings.DATABASES:
        return
    database_grants_apply(using=using)
