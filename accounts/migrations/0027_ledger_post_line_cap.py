"""LEDGER-7, LEDGER-1 (outside review dbprobe25 F11): ledger_post() refuses a line of more
than 10^12 yen either way (CI015). It took any bigint: one call with two lines of
±9.2·10^18 pushed 為替決済 to the bigint floor, and every later posting on it — each 被仕向
credit, each transfer to another bank — failed with 22003 (numeric out of range), a code the
app does not know: a 500 for everyone until someone posted it back. 10^12 yen (一兆円) is the
cap the app already has (accounts.services.MAX_AMOUNT for journal_post, MAX_HOLD for a hold;
the 振込 amount field stops at 999,999,999,999); the bench's largest line (bench/ledger_post.py's
seed deposit) is exactly 10^12. At most 10^12 a line, the floor is 9.2 million postings away
from any account, not one call. Checked with the lines' other checks (one aggregate over the
arrays the function reads anyway)."""

import importlib

from django.db import migrations

ledger_0026 = importlib.import_module("accounts.migrations.0026_ledger_post_bank_day_floor_internal")

MAX_LINE = 10**12  # accounts.services.MAX_AMOUNT when this was written

LINES_READ = """    SELECT bool_or(l.amt IS NULL OR l.amt = 0) AS zero, sum(l.amt) AS total, bool_or(l.descr IS NULL) AS untold
      INTO v_lines"""
LINES_READ_WITH_CAP = f"""    SELECT bool_or(l.amt IS NULL OR l.amt = 0) AS zero, sum(l.amt) AS total, bool_or(l.descr IS NULL) AS untold,
           bool_or(l.amt NOT BETWEEN -{MAX_LINE} AND {MAX_LINE}) AS huge
      INTO v_lines"""
ZERO_CHECK = """    IF v_lines.zero THEN
        RAISE EXCEPTION 'amounts must be non-zero' USING ERRCODE = 'CI012';
    END IF;
"""
CAP_CHECK = f"""    IF v_lines.huge THEN
        -- dbprobe25 F11: a balance pushed to the bigint limit failed every later posting
        RAISE EXCEPTION 'an amount beyond {MAX_LINE} yen' USING ERRCODE = 'CI015';
    END IF;
"""


def ledger_post_with_line_cap() -> str:
    source = ledger_0026.ledger_post_with_internal_floor()
    for block in (LINES_READ, ZERO_CHECK):
        if source.count(block) != 1:
            raise RuntimeError(f"ledger_post() has no single block:\n{block}")
    return source.replace(LINES_READ, LINES_READ_WITH_CAP).replace(ZERO_CHECK, ZERO_CHECK + CAP_CHECK)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0026_ledger_post_bank_day_floor_internal")]

    operations = [
        migrations.RunSQL(sql=ledger_post_with_line_cap(), reverse_sql=ledger_0026.ledger_post_with_internal_floor()),
    ]
