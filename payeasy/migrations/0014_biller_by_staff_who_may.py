"""PAY-2, STAFF-1, LEDGER-7 (after probe34 F4/F5): a biller is added or changed, for the app's
role, only with the ``staff_biller_change`` row of a staff user who may — and by the demo seed
only while the owner loads the demo.

CI247 (0012/0013) took the row of any active staff user, and, for an addition, of actor
``seed_demo`` wherever ``cosei_demo_database()`` is true — on the demo ``dev.py run`` serves
too, long after its seed: the app's role could add a biller (with its own 情報リンク key) there
under 'seed_demo'. Now, in ``payeasy_biller_by_staff()``:

* the row's ``actor`` is a staff user holding ``payeasy.add_biller`` for an addition,
  ``payeasy.change_biller`` for a change (``BillerAdmin``, Django admin's add and change
  views), by ``security_staff_may()`` (security 0022: active, is_staff, the permission directly,
  by a group or as a superuser);
* ``seed_demo`` adds a biller only while ``public.cosei_demo_loading()`` is true (accounts
  0039: the owner sets it for ``seed_demo`` and false again when the seed is in — dev.py
  ``demo_database_mark`` / ``demo_loading_end``; a bank's database never sets it).

0013's function text, each condition found once and rewritten; the reverse puts 0013's back.

SQL functions: CREATE OR REPLACE FUNCTION public.payeasy_biller_by_staff().
"""

import importlib

from django.db import migrations

demo_0013 = importlib.import_module("payeasy.migrations.0013_biller_demo_seed_and_renumbering_audited")

CHANGES = [
    ("(TG_OP = 'INSERT' AND a.actor = 'seed_demo' AND public.cosei_demo_database())",
     "(TG_OP = 'INSERT' AND a.actor = 'seed_demo' AND public.cosei_demo_loading())"),
    ("""EXISTS (SELECT 1 FROM public.auth_user u
                                       WHERE u.username = a.actor AND u.is_staff AND u.is_active)""",
     """public.security_staff_may(a.actor, CASE WHEN TG_OP = 'INSERT' THEN 'payeasy.add_biller'
                                                                     ELSE 'payeasy.change_biller' END)"""),
    ("""            CASE WHEN TG_OP = 'INSERT' AND NOT public.cosei_demo_database()
                 THEN ' (seed_demo adds billers only on a demo database: cosei_demo_database())' ELSE '' END""",
     """            CASE WHEN TG_OP = 'UPDATE' THEN ' (by a staff user holding payeasy.change_biller)'
                 WHEN public.cosei_demo_loading() THEN ' (by a staff user holding payeasy.add_biller)'
                 ELSE ' (by a staff user holding payeasy.add_biller; seed_demo only while the owner loads '
                      'the demo: cosei_demo_loading())' END"""),
]


def biller_by_staff() -> str:
    source = demo_0013.biller_by_staff()
    for old, new in CHANGES:
        if source.count(old) != 1:
            raise RuntimeError(f"payeasy_biller_by_staff() of 0013 has no single {old.strip()[:40]!r}")
        source = source.replace(old, new)
    return source


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0013_biller_demo_seed_and_renumbering_audited"),
        ("security", "0022_credential_moved_by_its_own_answer"),
        ("accounts", "0039_ledger_post_service_keys_only"),
    ]

    operations = [migrations.RunSQL(biller_by_staff(), demo_0013.biller_by_staff())]
