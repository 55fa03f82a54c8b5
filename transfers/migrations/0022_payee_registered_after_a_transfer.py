"""XFER-7, LEDGER-7 (dbprobe26 F8): a registered payee is registered after a transfer.
0016 kept a payee's account from changing (UPDATE, CI201), but the app's role repointed
「田中さん」 all the same by DELETE + INSERT in one transaction: the same 登録名, 受取人名 and
registration time, a new 口座番号 — the customer's next transfer from the list went there.

The services create a payee only from the customer's own transfer (``payee_register``, the
done page's 「今回の振込先を登録」: XFER-7 "register after a transfer"), copying its bank,
branch, 科目, 口座番号, 受取人名 and names; customers may delete a payee (振込先の管理), which
stays allowed. On INSERT by the app's role (CI213) a payee names an account the customer
has a transfer to — a transfer row of that customer with the same 金融機関コード・名, 店番・
支店名, 科目, 口座番号 and 受取人名 (any state: a 予約 registered and later cancelled
counts). A repointed payee would need a confirmed transfer to the new account first. The
owner (a DBA) is not bound.

SQL functions/triggers: CREATE FUNCTION public.transfers_payee_insert_guard(), CREATE
TRIGGER transfers_payee_insert_guard (BEFORE INSERT ON transfers_payee). Nothing replaced.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.transfers_payee_insert_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF session_user <> pg_get_userbyid((SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = TG_RELID))
       AND NOT EXISTS (SELECT 1 FROM public.transfers_transfer t
                        WHERE t.customer_id = NEW.customer_id AND t.bank_code = NEW.bank_code
                          AND t.branch_code = NEW.branch_code AND t.account_type = NEW.account_type
                          AND t.account_number = NEW.account_number AND t.holder_kana = NEW.holder_kana
                          AND t.bank_name = NEW.bank_name AND t.branch_name = NEW.branch_name) THEN
        RAISE EXCEPTION 'payee of customer %: registered only after a transfer to that account', NEW.customer_id
            USING ERRCODE = 'CI213';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_payee_insert_guard
    BEFORE INSERT ON public.transfers_payee
    FOR EACH ROW EXECUTE FUNCTION public.transfers_payee_insert_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS transfers_payee_insert_guard ON public.transfers_payee;
DROP FUNCTION IF EXISTS public.transfers_payee_insert_guard();
"""


class Migration(migrations.Migration):

    dependencies = [("transfers", "0021_zengin_names_written")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
