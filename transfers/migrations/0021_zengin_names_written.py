"""XFER-10, XFER-12, LEDGER-7 (dbprobe26 F5): a 仕向 record is one the day's 全銀 file can
carry. The app's role INSERTed a record (transfers_outgoingtransfer) of its own executed
other-bank transfer with 被仕向金融機関名 '三菱' (kanji): ``outgoing_file_create`` met it,
refused the whole day's file (TransferRefused), and the record can be neither changed nor
deleted (CI206) — every other-bank transfer settling that day was stuck.

The Zengin characters as the file writer takes them (transfers.zengin, XFER-10): half-width
katakana with ﾞ ﾟ (small kana and ｰ too, which the writer enlarges and writes as -), A–Z
(a–z, written upper case), 0–9, space and ( ) . / - (CI212, refused on INSERT):

* ``transfers_outgoingtransfer_guard`` (replaces 0008's; every role, as before): besides
  the transfer's own payee, amount and 依頼人名, its 被仕向金融機関名 and 支店名 (which
  come from the bank directory; blank allowed, the fields are optional in the record),
  受取人名 and 依頼人名 are in that set;
* ``transfers_transfer_insert_guard`` (replaces 0020's; the app's role): the 受取人名
  (holder_kana, from 口座名義確認) and 依頼人名 (sender_name, checked by the form with
  ``zengin_name``) are in that set — what the transfer's 仕向 record will copy.

The file itself holds back a record stored before that it cannot write, instead of
refusing the day's file (transfers.interbank.services.outgoing_file_create; docs/interbank.md).

SQL functions/triggers: CREATE OR REPLACE FUNCTION public.transfers_outgoingtransfer_guard()
and public.transfers_transfer_insert_guard() (triggers unchanged). Reverse: 0008's and
0020's functions.
"""

import importlib

from django.db import migrations

ROW_0008 = importlib.import_module("transfers.migrations.0008_interbank_records_held").FORWARD
ROW_0020 = importlib.import_module("transfers.migrations.0020_transfer_row_the_batch_can_post")

# what transfers.zengin's writer takes (ALLOWED after zengin_normalize), as a bracket expression
ZENGIN = "[ｦ-ﾟA-Za-z0-9 ()./-]"

OUTGOING_START = "CREATE FUNCTION public.transfers_outgoingtransfer_guard()"
OUTGOING_0008 = ROW_0008[ROW_0008.index(OUTGOING_START):
                         ROW_0008.index("CREATE TRIGGER transfers_outgoingtransfer_guard")].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
INSERT_END = "        RETURN NEW;\n    END IF;\n    IF to_jsonb(NEW) - 'status'"
assert INSERT_END in OUTGOING_0008

OUTGOING_NAMES = f"""        IF NOT (NEW.bank_kana ~ '^{ZENGIN}*$' AND NEW.branch_kana ~ '^{ZENGIN}*$'
                AND NEW.payee_kana ~ '^{ZENGIN}+$' AND NEW.sender_name ~ '^{ZENGIN}+$') THEN
            RAISE EXCEPTION 'outgoing record of transfer %: names in the Zengin characters only (bank %, branch %)',
                NEW.transfer_id, NEW.bank_kana, NEW.branch_kana USING ERRCODE = 'CI212';
        END IF;
"""

TRANSFER_NAMES = f"""    IF NOT (NEW.holder_kana ~ '^{ZENGIN}+$' AND NEW.sender_name ~ '^{ZENGIN}+$') THEN
        RAISE EXCEPTION 'transfer: 受取人名 and 依頼人名 in the Zengin characters only'
            USING ERRCODE = 'CI212';
    END IF;
"""

FORWARD = (OUTGOING_0008.replace(INSERT_END, OUTGOING_NAMES + INSERT_END, 1)
           + ROW_0020.insert_guard(TRANSFER_NAMES))
REVERSE = OUTGOING_0008 + ROW_0020.FORWARD


class Migration(migrations.Migration):

    dependencies = [("transfers", "0020_transfer_row_the_batch_can_post")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
