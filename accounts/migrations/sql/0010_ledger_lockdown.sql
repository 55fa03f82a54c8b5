-- LEDGER-7: the app's role posts money only through ledger_post(); the table rules hold
-- for everybody else too (the owner, migrations), as defence in depth.
--   CI007 debit of a frozen account     CI008 debit below the hold
--   CI014 entry time differs from its journal's, or lies in the future
--   CI103 balance written outside the ledger (no more pg_trigger_depth() exemption)

-- The entry trigger tells the account guard which change it is making, in a transaction-
-- local setting: the guard lets exactly that change through and nothing else. The app's
-- role cannot UPDATE balance at all (column privileges); this stops the owner's accidents.
CREATE OR REPLACE FUNCTION ledger_entry_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_account record;
    v_journal_at timestamptz;
    v_balance bigint;
BEGIN
    SELECT j.posted_at INTO v_journal_at FROM public.accounts_journal j WHERE j.id = NEW.journal_id;
    IF v_journal_at IS DISTINCT FROM NEW.posted_at THEN
        RAISE EXCEPTION 'entry time % differs from journal %''s time %', NEW.posted_at, NEW.journal_id, v_journal_at
            USING ERRCODE = 'CI014';
    END IF;
    IF NEW.posted_at > clock_timestamp() + interval '5 seconds' THEN
        RAISE EXCEPTION 'entry dated in the future (%)', NEW.posted_at USING ERRCODE = 'CI014';
    END IF;
    SELECT a.status, a.purpose, a.hold_amount INTO v_account
      FROM public.accounts_account a WHERE a.id = NEW.account_id;
    IF v_account.status = 'closed' THEN
        RAISE EXCEPTION 'account closed' USING ERRCODE = 'CI002', DETAIL = NEW.account_id::text;
    END IF;
    IF NEW.amount < 0 AND v_account.status = 'frozen' THEN
        RAISE EXCEPTION 'account frozen' USING ERRCODE = 'CI007', DETAIL = NEW.account_id::text;
    END IF;
    IF NEW.amount < 0 AND v_account.purpose = 'customer' AND NEW.balance_after < v_account.hold_amount THEN
        RAISE EXCEPTION 'debit below the hold of account %', NEW.account_id
            USING ERRCODE = 'CI008', DETAIL = NEW.account_id::text;
    END IF;
    PERFORM set_config('cosei.ledger_applying', NEW.account_id || ':' || NEW.amount || ':' || NEW.posted_at, true);
    UPDATE public.accounts_account
       SET balance = balance + NEW.amount, last_entry_at = NEW.posted_at
     WHERE id = NEW.account_id
       AND (last_entry_at IS NULL OR last_entry_at <= NEW.posted_at)
    RETURNING balance INTO v_balance;
    IF v_balance IS NULL THEN
        RAISE EXCEPTION 'entry for account % is older than the account''s last entry', NEW.account_id
            USING ERRCODE = 'CI101';
    END IF;
    PERFORM set_config('cosei.ledger_applying', '', true);
    IF v_balance <> NEW.balance_after THEN
        RAISE EXCEPTION 'balance_after % of account % should be %', NEW.balance_after, NEW.account_id, v_balance
            USING ERRCODE = 'CI102';
    END IF;
    RETURN NEW;
END $$;

-- Balance and last entry time move only by the entry being applied; the time of the last
-- status change is kept by this trigger alone (ledger_check reads it for frozen accounts).
CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_applying text := coalesce(current_setting('cosei.ledger_applying', true), '');
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance <> 0 OR NEW.last_entry_at IS NOT NULL THEN
            RAISE EXCEPTION 'a new account starts at zero; post a journal instead' USING ERRCODE = 'CI104';
        END IF;
        NEW.status_changed_at := clock_timestamp();
        RETURN NEW;
    END IF;
    IF (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.last_entry_at IS DISTINCT FROM OLD.last_entry_at)
       AND v_applying IS DISTINCT FROM
           (OLD.id || ':' || (NEW.balance - OLD.balance) || ':' || NEW.last_entry_at) THEN
        RAISE EXCEPTION 'the balance of account % is maintained by ledger entries only', OLD.id
            USING ERRCODE = 'CI103';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_changed_at := clock_timestamp();
    ELSE
        NEW.status_changed_at := OLD.status_changed_at;
    END IF;
    RETURN NEW;
END $$;

-- The whole request is hashed (kind, description, every line, an explicit posting time),
-- so a key reused with any difference is CI005, never a silent replay of the first.
CREATE FUNCTION ledger_request_hash(
    p_kind text, p_description text, p_accounts bigint[], p_amounts bigint[],
    p_descriptions text[], p_posted_at timestamptz
) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        p_kind, p_description, to_jsonb(p_accounts), to_jsonb(p_amounts), to_jsonb(p_descriptions),
        extract(epoch FROM p_posted_at))::text, 'UTF8')), 'hex')
$$;

CREATE OR REPLACE FUNCTION ledger_journal_for_key(p_key text, p_hash text)
RETURNS TABLE (found_id bigint, found_at timestamptz)
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_journal record;
BEGIN
    SELECT j.id, j.request_hash, j.posted_at INTO v_journal
      FROM public.accounts_journal j WHERE j.idempotency_key = p_key;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_journal.request_hash IS DISTINCT FROM p_hash THEN
        RAISE EXCEPTION 'idempotency key reused with other content' USING ERRCODE = 'CI005';
    END IF;
    RETURN QUERY SELECT v_journal.id, v_journal.posted_at;
END $$;

DROP FUNCTION ledger_post(text, text, text, text, bigint[], bigint[], text[], timestamptz);

-- The posting service in one round trip (called by accounts.services.journal_post), the
-- only way the app's role can write the ledger: SECURITY DEFINER, owned by the migration
-- role, with a fixed search_path; EXECUTE is granted to the app's role alone
-- (accounts/db_roles.py). Locks every touched account in id order, checks status and
-- funds after the lock, writes the journal and its entries, and returns the existing
-- journal when the idempotency key was used before for the same request.
CREATE FUNCTION ledger_post(
    p_kind text,
    p_description text,
    p_key text,
    p_accounts bigint[],
    p_amounts bigint[],
    p_descriptions text[],
    p_posted_at timestamptz DEFAULT NULL
) RETURNS TABLE (journal_id bigint, created boolean, posted_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_existing record;
    v_bad record;
    v_id bigint;
    v_when timestamptz;
    v_hash text;
BEGIN
    IF coalesce(cardinality(p_accounts), 0) < 2
       OR cardinality(p_accounts) <> cardinality(p_amounts)
       OR cardinality(p_accounts) <> cardinality(p_descriptions) THEN
        RAISE EXCEPTION 'a journal needs two or more complete lines' USING ERRCODE = 'CI010';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_amounts) AS a WHERE a IS NULL OR a = 0) THEN
        RAISE EXCEPTION 'amounts must be non-zero' USING ERRCODE = 'CI012';
    END IF;
    IF (SELECT sum(a) FROM unnest(p_amounts) AS a) <> 0 THEN
        RAISE EXCEPTION 'lines do not sum to zero' USING ERRCODE = 'CI011';
    END IF;
    IF p_key IS NULL OR p_kind IS NULL OR p_description IS NULL
       OR EXISTS (SELECT 1 FROM unnest(p_descriptions) AS d WHERE d IS NULL) THEN
        RAISE EXCEPTION 'kind, description and idempotency key are required' USING ERRCODE = 'CI010';
    END IF;
    IF p_posted_at > clock_timestamp() THEN
        -- a future entry would block every later posting on its accounts (CI101)
        RAISE EXCEPTION 'posting dated in the future' USING ERRCODE = 'CI013';
    END IF;
    v_hash := ledger_request_hash(p_kind, p_description, p_accounts, p_amounts, p_descriptions, p_posted_at);

    SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, v_hash) AS k;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    PERFORM 1 FROM public.accounts_account a WHERE a.id = ANY (p_accounts) ORDER BY a.id FOR UPDATE;

    -- Look again now that we hold the locks: a concurrent request with the same key may
    -- have committed while we waited, and must be answered with its journal, not with a
    -- funds check that already sees its debit.
    SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, v_hash) AS k;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    SELECT a.id, a.status, a.purpose, a.balance, a.hold_amount, d.delta, d.acc INTO v_bad
      FROM (SELECT l.acc, sum(l.amt) AS delta
              FROM unnest(p_accounts, p_amounts) AS l(acc, amt) GROUP BY l.acc) AS d
      LEFT JOIN public.accounts_account a ON a.id = d.acc
     WHERE a.id IS NULL
        OR a.status = 'closed'
        OR (a.status = 'frozen' AND d.delta < 0)
        OR (a.purpose = 'customer' AND d.delta < 0 AND a.balance - a.hold_amount + d.delta < 0)
     ORDER BY d.acc
     LIMIT 1;
    IF FOUND THEN
        IF v_bad.id IS NULL THEN
            RAISE EXCEPTION 'unknown account' USING ERRCODE = 'CI003', DETAIL = coalesce(v_bad.acc::text, 'null');
        ELSIF v_bad.status = 'closed' THEN
            RAISE EXCEPTION 'account closed' USING ERRCODE = 'CI002', DETAIL = v_bad.id::text;
        ELSIF v_bad.status = 'frozen' THEN
            RAISE EXCEPTION 'account frozen' USING ERRCODE = 'CI004', DETAIL = v_bad.id::text;
        ELSE
            RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'CI001', DETAIL = v_bad.id::text;
        END IF;
    END IF;

    -- Taken after the locks, so entry times never go backwards on an account.
    v_when := coalesce(p_posted_at, clock_timestamp());
    INSERT INTO public.accounts_journal (kind, description, idempotency_key, request_hash, posted_at, created_at)
    VALUES (p_kind, p_description, p_key, v_hash, v_when, clock_timestamp())
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        -- A concurrent request with the same key committed first: exactly once.
        SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, v_hash) AS k;
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    INSERT INTO public.accounts_entry (journal_id, account_id, amount, balance_after, description, posted_at)
    SELECT v_id, l.acc, l.amt,
           a.balance + sum(l.amt) OVER (PARTITION BY l.acc ORDER BY l.ord),
           l.descr, v_when
      FROM unnest(p_accounts, p_amounts, p_descriptions) WITH ORDINALITY AS l(acc, amt, descr, ord)
      JOIN public.accounts_account a ON a.id = l.acc
     ORDER BY l.ord;

    RETURN QUERY SELECT v_id, true, v_when;
END $$;

-- Helpers of the ledger are not for calling; ledger_post's EXECUTE is granted to the app
-- role after every migrate (accounts/db_roles.py).
REVOKE EXECUTE ON FUNCTION ledger_post(text, text, text, bigint[], bigint[], text[], timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger_journal_for_key(text, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger_assert_journal_balanced(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ledger_request_hash(text, text, bigint[], bigint[], text[], timestamptz) FROM PUBLIC;
