-- Back to 0012: the row triggers of 0002/0010 and ledger_post() of 0012. The migration runs
-- this in three parts: the drops below, the old functions (read from 0002, 0010 and 0012's
-- own files), then the triggers after the marker.

DROP TRIGGER ledger_entries_apply ON accounts_entry;
DROP FUNCTION ledger_entries_apply();
DROP TRIGGER ledger_account_guard ON accounts_account;
DROP TRIGGER ledger_account_guard_insert ON accounts_account;
ALTER FUNCTION ledger_request_hash(text, text, bigint[], bigint[], text[], timestamptz)
    IMMUTABLE SET search_path = pg_catalog, public, pg_temp;

-- @triggers

-- notifications migration 0004's row trigger: dropped here, written again by the
-- migration from 0004's own text
DROP TRIGGER notifications_entry_notice ON public.accounts_entry;
DROP FUNCTION ledger_account_change_announced(bigint, bigint, timestamptz);
CREATE TRIGGER ledger_entry_apply
    BEFORE INSERT ON accounts_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_apply();
CREATE TRIGGER ledger_account_guard
    BEFORE INSERT OR UPDATE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();
CREATE CONSTRAINT TRIGGER ledger_entry_journal_balanced
    AFTER INSERT ON accounts_entry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_journal_balanced();
