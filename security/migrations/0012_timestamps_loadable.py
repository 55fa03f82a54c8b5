"""SEC-13, LEDGER-7 (outside review dbprobe26 F6): a 取引履歴 row dated 'infinity' by the
app's role stopped 取引履歴, the admin log and audit_check (psycopg: DataError), and any
date or time of the security tables the app writes could be one.

* for the app's role an audit row's 日時 is within five minutes of ``recorded_at``, the
  database's clock the trigger sets (security 0009: audit_check only reported a row dated
  back, the night after) — CI303; five minutes is ``cosei_clock_slack()`` (accounts 0031:
  the test database widens it, its tests travel in time);
* every date/time column of the security tables is within the years 1900–8999
  (``<table>_<column>_loadable``, 23514, accounts 0031's ``loadable_checks``).
"""

import importlib

from django.db import migrations

audit_0009 = importlib.import_module("security.migrations.0009_audit_recorded_at")
loadable = importlib.import_module("accounts.migrations.0031_timestamps_loadable")

RECORDED = "    NEW.recorded_at := clock_timestamp();\n"
RECORDED_AND_NEAR = RECORDED + f"""    IF {loadable.not_owner()}
       AND NOT NEW.created_at BETWEEN NEW.recorded_at - public.cosei_clock_slack()
                                 AND NEW.recorded_at + public.cosei_clock_slack() THEN
        RAISE EXCEPTION 'audit row: 日時 % is not within 5 minutes of the database''s clock %', NEW.created_at,
            NEW.recorded_at USING ERRCODE = 'CI303';
    END IF;
"""


def guard_0009() -> str:
    return audit_0009.FORWARD.split("CREATE TRIGGER", 1)[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def guard() -> str:
    source = guard_0009()
    if source.count(RECORDED) != 1:
        raise RuntimeError("security_audit_insert_guard() has no single recorded_at line")
    return source.replace(RECORDED, RECORDED_AND_NEAR)


COLUMNS = {
    "security_auditevent": ("created_at", "recorded_at"),
    "security_credential": ("locked_at", "unlocked_at"),
    "security_customersession": ("created_at",),
    "security_imagecard": ("issued_at", "deactivated_at"),
    "security_imagecardchallenge": ("created_at", "closed_at"),
    "security_otptoken": ("issued_at", "activated_at"),
    "security_passkey": ("created_at", "last_used_at"),
    "security_stafflogincounter": ("locked_at",),
    "security_stepup": ("created_at", "expires_at", "verified_at", "used_at"),
    "security_webauthnchallenge": ("created_at", "expires_at", "used_at"),
}
CHECKS, CHECKS_REVERSE = loadable.loadable_checks(COLUMNS)


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0011_stepup_born_unused"),
        ("accounts", "0031_timestamps_loadable"),
    ]

    operations = [
        migrations.RunSQL(guard(), guard_0009()),
        migrations.RunSQL(CHECKS, CHECKS_REVERSE),
    ]
