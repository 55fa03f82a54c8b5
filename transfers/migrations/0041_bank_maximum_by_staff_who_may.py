"""XFER-8, STAFF-1, LEDGER-7 (after probe34 F5, as security 0023 / payeasy 0014): the bank
maximum (利用限度額の上限) is written by a staff user who may write it.

transfers 0037 (CI236) asked the ``staff_transfer_settings`` audit row of the transaction to
name an active is_staff user — any one. Now its actor is one ``public.security_staff_may``
(security 0022) lets hold ``transfers.manage_transfer_limit``, the permission
``TransferSettingsAdmin`` checks (``_AuditedAdmin._may_manage``: the permission, or a
superuser — security_staff_may counts a superuser too; the branch staff group holds it).

The function keeps its text but this one condition, rewritten in the database's own current
text (accounts 0040's ``condition_rewritten``); the reverse writes it back. The customer's own
limit rules of 0037 (CI235) name no staff user and are left as they are.

SQL functions: CREATE OR REPLACE FUNCTION public.transfers_transfersettings_by_staff() (one
condition). Nothing added.
"""

import importlib

from django.db import migrations

condition_rewritten = importlib.import_module(
    "accounts.migrations.0040_closing_day_by_staff_who_may").condition_rewritten

FUNCTION = "transfers_transfersettings_by_staff"
ANY_STAFF = "JOIN public.auth_user u ON u.username = a.actor AND u.is_staff AND u.is_active"
STAFF_WHO_MAY = ("JOIN public.auth_user u ON u.username = a.actor"
                 " AND public.security_staff_may(a.actor, 'transfers.manage_transfer_limit')")


class Migration(migrations.Migration):

    # accounts 0040 only lends its helper; security 0022 is read when the row is written
    dependencies = [("transfers", "0040_name_lookup_kept")]

    operations = [condition_rewritten(FUNCTION, ANY_STAFF, STAFF_WHO_MAY)]
