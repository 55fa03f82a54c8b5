"""LEDGER-7, XFER-5, XFER-12, PAY-1 (dbprobe25 F4): a journal posted under a service's key
is that service's record's own posting. Keys of the services are known in advance
(``scheduled-transfer:<transfer id>``, ``interbank-return:<outgoing record id>`` are
sequential): the app's role posted ``ledger_post('adjustment', 'x',
'scheduled-transfer:<next id>', …)`` (±1円 between two fee stripes), and the 振込予約 batch
met CI005 on that transfer on every run — it crashed, and nothing after it executed.

At commit (a constraint trigger, DEFERRABLE INITIALLY DEFERRED: every service writes its
record after the posting, in the same transaction), a journal whose key begins with

* ``transfer:`` / ``scheduled-transfer:`` — is the journal of the transfer whose 確認ID /
  id the key names (``transfers.services.transfer_execute``, ``transfers.scheduled``), kind 振込;
* ``payeasy:`` — of the payment of that 受付番号 (``payeasy.services.payeasy_pay``), kind
  ペイジー払込;
* ``interbank-return:`` — of the 資金返却 of that outgoing record, kind 振込;
* ``interbank-in:`` — of the 被仕向 record of that file and line, kind 振込
  (``transfers.interbank.services``).

One lookup per such posting, on the record's unique (or indexed) journal column; any other
key (demo history, counter deposits, tests) is not looked at. CI005, as the ledger's own
key conflict. Defined here, after the tables it reads (payeasy depends on transfers).
The batch also turns a CI005 met on one transfer into its 未処理 (transfers.scheduled).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public.ledger_service_key_held() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    k constant text := NEW.idempotency_key;
    v_ok boolean;
BEGIN
    IF k LIKE 'transfer:%' THEN
        v_ok := NEW.kind = 'transfer' AND EXISTS (SELECT 1 FROM public.transfers_transfer t
                 WHERE t.journal_id = NEW.id AND 'transfer:' || t.stepup_id = k);
    ELSIF k LIKE 'scheduled-transfer:%' THEN
        v_ok := NEW.kind = 'transfer' AND EXISTS (SELECT 1 FROM public.transfers_transfer t
                 WHERE t.journal_id = NEW.id AND 'scheduled-transfer:' || t.id = k);
    ELSIF k LIKE 'payeasy:%' THEN
        v_ok := NEW.kind = 'payeasy' AND EXISTS (SELECT 1 FROM public.payeasy_payment p
                 WHERE p.journal_id = NEW.id AND 'payeasy:' || p.reference = k);
    ELSIF k LIKE 'interbank-return:%' THEN
        v_ok := NEW.kind = 'transfer' AND EXISTS (SELECT 1 FROM public.transfers_interbankreturn r
                 WHERE r.journal_id = NEW.id AND 'interbank-return:' || r.outgoing_id = k);
    ELSIF k LIKE 'interbank-in:%' THEN
        v_ok := NEW.kind = 'transfer' AND EXISTS (
                 SELECT 1 FROM public.transfers_interbankincomingrecord r
                   JOIN public.transfers_interbankincomingfile f ON f.id = r.file_id
                  WHERE r.journal_id = NEW.id AND 'interbank-in:' || f.sha256 || ':' || r.line = k);
    ELSE
        RETURN NULL;
    END IF;
    IF NOT v_ok THEN
        RAISE EXCEPTION 'journal % (%): a service''s key is only its record''s own posting', NEW.id, k
            USING ERRCODE = 'CI005';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_service_key_held
    AFTER INSERT ON public.accounts_journal DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.ledger_service_key_held();
"""

REVERSE = """
DROP TRIGGER IF EXISTS ledger_service_key_held ON public.accounts_journal;
DROP FUNCTION IF EXISTS public.ledger_service_key_held();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payeasy", "0005_payment_confirmed_by_its_customer"),
        ("transfers", "0013_fee_schedule_within_caps"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
