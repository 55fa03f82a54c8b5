-- LEDGER-7, LEDGER-5: an account whose stripes hold money is not closed. The database
-- already refuses to close an account that holds money itself (CHECK
-- account_closed_is_empty), but a striped account's money is on its stripes (0012), and
-- only the admin service (account_admin_change) looked at them: the app's role closed the
-- fee income with one UPDATE, stranding its money (ledger_post() refuses every line on a
-- stripe of a closed account) and failing ledger_check.
--   CI107 an account closed while its stripes hold money
CREATE FUNCTION ledger_account_close_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- Lock the stripes first: a posting that holds one commits before we look, and one
    -- that comes later sees the account closed after its own locks (ledger_post()).
    PERFORM 1 FROM public.accounts_account s WHERE s.stripe_of_id = OLD.id ORDER BY s.id FOR UPDATE;
    IF EXISTS (SELECT 1 FROM public.accounts_account s WHERE s.stripe_of_id = OLD.id AND s.balance <> 0) THEN
        RAISE EXCEPTION 'account % cannot be closed: its stripes hold money', OLD.id
            USING ERRCODE = 'CI107', DETAIL = OLD.id::text;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_account_close_guard
    BEFORE UPDATE OF status ON accounts_account
    FOR EACH ROW
    WHEN (NEW.status = 'closed' AND OLD.status IS DISTINCT FROM 'closed')
    EXECUTE FUNCTION ledger_account_close_guard();
