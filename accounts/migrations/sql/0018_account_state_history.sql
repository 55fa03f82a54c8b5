-- LEDGER-7, LEDGER-5 (review H3): every change of an account's status or hold is written,
-- by the database alone, into accounts_accountstatechange — append-only for every role;
-- the app's role may only read it (db_roles.py). The app's role changes status and hold
-- by design (staff freeze, hold and close accounts in admin), so a compromised web server
-- could lift a freeze, debit and put the freeze back in one transaction, and the account
-- row kept no trace of it (status_changed_at only says when the last change was).
-- ledger_check reads this history (accounts/ledger_check.py says how).

CREATE FUNCTION ledger_account_state_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- The highest entry id this statement sees: the account's row is locked from here to
    -- the end of the transaction, and ledger_post() takes entry ids only after locking
    -- the account, so its entries with a higher id come after this change.
    INSERT INTO public.accounts_accountstatechange
           (account_id, old_status, new_status, old_hold_amount, new_hold_amount,
            changed_at, xact_id, xact_started_at, last_entry_id, db_user)
    VALUES (NEW.id,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '' END, NEW.status,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.hold_amount END, NEW.hold_amount,
            clock_timestamp(), pg_current_xact_id()::text::bigint, now(),
            coalesce((SELECT max(e.id) FROM public.accounts_entry e), 0), session_user);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION ledger_account_state_record() FROM PUBLIC;

-- AFTER: the values as stored, after every BEFORE trigger and CHECK.
CREATE TRIGGER ledger_account_state_insert
    AFTER INSERT ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_state_record();
CREATE TRIGGER ledger_account_state_update
    AFTER UPDATE ON accounts_account
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.hold_amount IS DISTINCT FROM OLD.hold_amount)
    EXECUTE FUNCTION ledger_account_state_record();

-- Append-only, as the ledger (0002's functions; TRUNCATE only in a test database).
CREATE TRIGGER ledger_account_state_append_only
    BEFORE UPDATE OR DELETE ON accounts_accountstatechange
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_account_state_no_truncate
    BEFORE TRUNCATE ON accounts_accountstatechange
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();

-- Where the history starts: each existing account as it is now. Entries before this row
-- are judged by status_changed_at alone (ledger_check's older frozen-account rules).
INSERT INTO accounts_accountstatechange
       (account_id, old_status, new_status, old_hold_amount, new_hold_amount,
        changed_at, xact_id, xact_started_at, last_entry_id, db_user)
SELECT a.id, '', a.status, NULL, a.hold_amount, clock_timestamp(), pg_current_xact_id()::text::bigint, now(),
       coalesce((SELECT max(e.id) FROM accounts_entry e), 0), session_user
  FROM accounts_account a
 ORDER BY a.id;
