"""NOTE-1, NOTE-2, LEDGER-7 (outside review dbprobe29 F8): a customer's address is one the
service sends to, or none.

``accounts_customer.email`` took any text from the app's role. In one transaction it set the
address to the attacker's, wrote a ご出金 notice's mail to it, and set it to
'Yamada <yamada@example.jp>' — the customer's own mailbox to SMTP, but another string to the
round-trip rule (CI240, notifications 0015/0017), and no address to ``address_is_sendable``:
the notice went to the attacker, and every later notice of the customer was written 送信対象外
to no one, unnoticed.

* whoever writes (the owner too), the address is '' or one of notifications 0014's SENDABLE
  pattern — 半角英数字 and . _ % + - as dot-atoms, @, host names and a TLD of letters — of
  at most 254 characters and a mailbox name of at most 64: what ``address_is_sendable`` takes
  (the service holds the same pattern) and Ｅメール設定 stores (23514
  ``accounts_customer_email_sendable``). A display name, a space, '<', a quoted mailbox name,
  a control character or a full-width letter is refused, so CI240's compare of lower-cased
  addresses is a compare of mailboxes.
* a database holding an address outside it is not changed: the migration stops and names the
  customers (ids and 契約者ID). Their notices are written 送信対象外 already. A DBA sets each
  to the customer's new address, or to '' (no notices), as the owner — the change is written
  into アドレス変更履歴 — and migrates again.
"""

import importlib

from django.db import migrations

SENDABLE = importlib.import_module("notifications.migrations.0014_mail_delivery_held").SENDABLE

CONDITION = (f"email = '' OR (length(email) <= 254 AND length(split_part(email, '@', 1)) <= 64"
             f" AND email ~ '{SENDABLE}')")

REFUSE_OTHERS = f"""
DO $$
DECLARE
    v_count integer;
    v_named text;
BEGIN
    SELECT count(*), string_agg(id || ' (' || contract_id || ')', ', ' ORDER BY id)
      INTO v_count, v_named
      FROM (SELECT id, contract_id FROM public.accounts_customer WHERE NOT ({CONDITION}) ORDER BY id) c;
    IF v_count > 0 THEN
        RAISE EXCEPTION 'accounts 0035: % customers have an address the service cannot send to: %', v_count, v_named
            USING HINT = 'Set each to the customer''s new address or to '''' (no notices) as the owner: '
                         'UPDATE accounts_customer SET email = ... WHERE id = ...; then migrate again '
                         '(docs/operations.md, CI codes: accounts_customer_email_sendable).';
    END IF;
END $$;
"""

CHECK = f"""
ALTER TABLE public.accounts_customer ADD CONSTRAINT accounts_customer_email_sendable CHECK ({CONDITION});
"""
CHECK_REVERSE = "ALTER TABLE public.accounts_customer DROP CONSTRAINT IF EXISTS accounts_customer_email_sendable;"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0034_account_names_held")]

    operations = [
        migrations.RunSQL(REFUSE_OTHERS, migrations.RunSQL.noop),
        migrations.RunSQL(CHECK, CHECK_REVERSE),
    ]
