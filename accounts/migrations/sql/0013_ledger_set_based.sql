-- Issue 14: a posting made cheap for the database, every rule of 0002/0010/0012 kept.
-- Measured on 0012 (bench/ledger_cost.py, RESULTS.md): 1.6-2.4 ms of server CPU per
-- posting against 0.3-0.6 ms for pgbench's TPC-B transaction — half of it re-planning the
-- function's queries on every call (custom plans: an array parameter makes the generic
-- plan look dearer), the rest one PL/pgSQL trigger call per entry (each with 6 statements
-- and an UPDATE that fired the account guard) and a deferred check per entry.
--
-- * ledger_post() uses generic plans (plan_cache_mode, every query is a key look-up),
--   asks for the idempotency key once (its journal INSERT … ON CONFLICT, after the locks),
--   and inlines the request hash (ledger_request_hash, now STABLE and without its SET
--   clause, either of which made it a function call of its own; its body names only
--   pg_catalog functions).
-- * Entries are applied per statement, not per row: ledger_entries_apply, an AFTER INSERT
--   statement trigger over the inserted rows (a transition table), checks every rule of
--   the old row trigger for all of them in one query, moves each account's balance and
--   last entry time in one UPDATE and checks the balance_after chain in the same query.
--   It fires for every INSERT into accounts_entry, whoever writes it: a direct write by
--   the owner is checked exactly as before.
-- * The account guard is called only when a change needs it: its UPDATE trigger has a
--   WHEN clause that lets through exactly the changes ledger_entries_apply announced
--   (cosei.ledger_applying now lists every account of the statement) and calls the
--   function for anything else (CI103) and for status changes (status_changed_at).
-- * The 入出金 notices are queued per statement too (one INSERT … SELECT).
-- * A leg added to a journal of another transaction is refused at once (CI106) by
--   ledger_entries_apply, so the deferred per-entry balance check is gone; the deferred
--   per-journal check (ledger_journal_balanced, at commit) stays.
-- The reverse (0013_ledger_set_based_reverse.sql and the migration) restores 0012's state.

-- STABLE, as its body is (to_jsonb and jsonb_build_array are), and without a SET clause:
-- the two things that kept it from being inlined into ledger_post().
ALTER FUNCTION ledger_request_hash(text, text, bigint[], bigint[], text[], timestamptz) STABLE RESET search_path;

CREATE FUNCTION ledger_entries_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_bad record;
BEGIN
    -- The first entry (by id) that breaks a rule, and the first rule it breaks, in the
    -- order the row trigger of 0010 checked them.
    SELECT c.* INTO v_bad
      FROM (SELECT n.id, n.account_id, n.journal_id, n.posted_at, j.posted_at AS journal_at,
                   CASE WHEN j.posted_at IS DISTINCT FROM n.posted_at THEN 'time'
                        WHEN n.posted_at > clock_timestamp() + interval '5 seconds' THEN 'future'
                        WHEN a.status = 'closed' THEN 'closed'
                        WHEN n.amount < 0 AND a.status = 'frozen' THEN 'frozen'
                        WHEN n.amount < 0 AND a.purpose = 'customer' AND n.balance_after < a.hold_amount THEN 'hold'
                        -- written by the same (sub)transaction as its journal: nobody
                        -- appends legs to a journal that was committed before
                        WHEN j.xmin <> e.xmin THEN 'old journal'
                   END AS rule
              FROM new_entries n
              JOIN public.accounts_entry e ON e.id = n.id
              LEFT JOIN public.accounts_journal j ON j.id = n.journal_id
              LEFT JOIN public.accounts_account a ON a.id = n.account_id) c
     WHERE c.rule IS NOT NULL
     ORDER BY c.id
     LIMIT 1;
    IF FOUND THEN
        CASE v_bad.rule
        WHEN 'time' THEN
            RAISE EXCEPTION 'entry time % differs from journal %''s time %', v_bad.posted_at, v_bad.journal_id,
                v_bad.journal_at USING ERRCODE = 'CI014';
        WHEN 'future' THEN
            RAISE EXCEPTION 'entry dated in the future (%)', v_bad.posted_at USING ERRCODE = 'CI014';
        WHEN 'closed' THEN
            RAISE EXCEPTION 'account closed' USING ERRCODE = 'CI002', DETAIL = v_bad.account_id::text;
        WHEN 'frozen' THEN
            RAISE EXCEPTION 'account frozen' USING ERRCODE = 'CI007', DETAIL = v_bad.account_id::text;
        WHEN 'hold' THEN
            RAISE EXCEPTION 'debit below the hold of account %', v_bad.account_id
                USING ERRCODE = 'CI008', DETAIL = v_bad.account_id::text;
        ELSE
            RAISE EXCEPTION 'entry % added to journal % after the journal was written', v_bad.id, v_bad.journal_id
                USING ERRCODE = 'CI106';
        END CASE;
    END IF;

    -- Announce the exact changes to the account guard (transaction-local), make them in
    -- one UPDATE, and check each entry's balance_after against the balance before the
    -- statement plus the entries up to it; entries of one account may not go back in time.
    PERFORM set_config('cosei.ledger_applying',
                       (SELECT ',' || string_agg(d.account_id || ':' || d.delta || ':' || d.last_at, ',') || ','
                          FROM (SELECT account_id, sum(amount) AS delta, max(posted_at) AS last_at
                                  FROM new_entries GROUP BY account_id) d), true);
    WITH d AS (
        SELECT account_id, sum(amount) AS delta, min(posted_at) AS first_at, max(posted_at) AS last_at
          FROM new_entries GROUP BY account_id
    ), applied AS (
        UPDATE public.accounts_account a
           SET balance = a.balance + d.delta, last_entry_at = d.last_at
          FROM d
         WHERE a.id = d.account_id
           AND (a.last_entry_at IS NULL OR a.last_entry_at <= d.first_at)
        RETURNING a.id, a.balance - d.delta AS balance_before
    )
    SELECT c.* INTO v_bad
      FROM (SELECT n.id, n.account_id, n.balance_after, n.posted_at, p.id IS NOT NULL AS applied,
                   p.balance_before + sum(n.amount) OVER w AS expected,
                   lag(n.posted_at) OVER w AS previous_at
              FROM new_entries n LEFT JOIN applied p ON p.id = n.account_id
            WINDOW w AS (PARTITION BY n.account_id ORDER BY n.id)) c
     WHERE NOT c.applied OR c.previous_at > c.posted_at OR c.expected <> c.balance_after
     ORDER BY c.id
     LIMIT 1;
    IF FOUND THEN
        IF NOT v_bad.applied OR v_bad.previous_at > v_bad.posted_at THEN
            RAISE EXCEPTION 'entry for account % is older than the account''s last entry', v_bad.account_id
                USING ERRCODE = 'CI101';
        END IF;
        RAISE EXCEPTION 'balance_after % of account % should be %', v_bad.balance_after, v_bad.account_id,
            v_bad.expected USING ERRCODE = 'CI102';
    END IF;
    PERFORM set_config('cosei.ledger_applying', '', true);
    RETURN NULL;
END $$;

DROP TRIGGER ledger_entry_apply ON accounts_entry;
DROP FUNCTION ledger_entry_apply();
CREATE TRIGGER ledger_entries_apply
    AFTER INSERT ON accounts_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_apply();

DROP TRIGGER ledger_entry_journal_balanced ON accounts_entry;
DROP FUNCTION ledger_entry_journal_balanced();

-- NOTE-1's 入出金 notices (notifications migration 0004): the same rows — one per entry on
-- a customer account, in the posting's transaction, whoever inserts the entries — queued
-- by one INSERT … SELECT per statement instead of a trigger call and an INSERT per entry.
-- Same names, so that a later change of the notifications app to its row version fails
-- loudly rather than being silently ignored.
CREATE OR REPLACE FUNCTION public.notifications_entry_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.notifications_postingnotice (entry_id, account_id, amount, created_at)
    SELECT n.id, n.account_id, n.amount, clock_timestamp()
      FROM new_entries n JOIN public.accounts_account a ON a.id = n.account_id
     WHERE a.purpose = 'customer'
     ORDER BY n.id;
    RETURN NULL;
END $$;

DROP TRIGGER notifications_entry_notice ON public.accounts_entry;
CREATE TRIGGER notifications_entry_notice
    AFTER INSERT ON public.accounts_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION public.notifications_entry_notice();

-- Balance and last entry time move only by what ledger_entries_apply announced; the time
-- of the last status change is kept by this trigger alone (ledger_check reads it).
CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance <> 0 OR NEW.last_entry_at IS NOT NULL THEN
            RAISE EXCEPTION 'a new account starts at zero; post a journal instead' USING ERRCODE = 'CI104';
        END IF;
        NEW.status_changed_at := clock_timestamp();
        RETURN NEW;
    END IF;
    IF (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.last_entry_at IS DISTINCT FROM OLD.last_entry_at)
       AND NOT ledger_account_change_announced(OLD.id, NEW.balance - OLD.balance, NEW.last_entry_at) THEN
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

-- Whether ledger_entries_apply announced this change of an account's balance and last
-- entry time (the guard function's test). Its trigger's WHEN clause spells the same test
-- out, with text casts: a WHEN clause is planned again for every UPDATE statement, and a
-- SQL function there — this one, or the || of text and a number — is inlined by parsing
-- its body again each time.
CREATE FUNCTION ledger_account_change_announced(p_account bigint, p_delta bigint, p_last_at timestamptz)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT strpos(coalesce(pg_catalog.current_setting('cosei.ledger_applying', true), ''),
                  ',' || p_account || ':' || p_delta || ':' || p_last_at || ',') > 0
$$;
-- EXECUTE stays with PUBLIC: the WHEN clause is initialised for every UPDATE of an
-- account, staff's included (the app's role), and the function only reads a setting.

DROP TRIGGER ledger_account_guard ON accounts_account;
CREATE TRIGGER ledger_account_guard_insert
    BEFORE INSERT ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();
CREATE TRIGGER ledger_account_guard
    BEFORE UPDATE ON accounts_account
    FOR EACH ROW
    WHEN (NEW.status IS DISTINCT FROM OLD.status
          OR NEW.status_changed_at IS DISTINCT FROM OLD.status_changed_at
          OR ((NEW.balance IS DISTINCT FROM OLD.balance OR NEW.last_entry_at IS DISTINCT FROM OLD.last_entry_at)
              AND strpos(coalesce(current_setting('cosei.ledger_applying', true), ''),
                         ',' || OLD.id::text || ':' || (NEW.balance - OLD.balance)::text || ':'
                         || NEW.last_entry_at::text || ',') = 0))
    EXECUTE FUNCTION ledger_account_guard();

-- The posting service in one round trip (accounts.services.journal_post): as in 0012, with
-- the idempotency look-up after the locks only, as the journal's INSERT … ON CONFLICT.
CREATE OR REPLACE FUNCTION ledger_post(
    p_kind text,
    p_description text,
    p_key text,
    p_accounts bigint[],
    p_amounts bigint[],
    p_descriptions text[],
    p_posted_at timestamptz DEFAULT NULL
) RETURNS TABLE (journal_id bigint, created boolean, posted_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_lines record;
    v_existing record;
    v_bad record;
    v_id bigint;
    v_when timestamptz;
    v_hash text;
    v_accounts bigint[];
BEGIN
    IF coalesce(cardinality(p_accounts), 0) < 2
       OR cardinality(p_accounts) <> cardinality(p_amounts)
       OR cardinality(p_accounts) <> cardinality(p_descriptions) THEN
        RAISE EXCEPTION 'a journal needs two or more complete lines' USING ERRCODE = 'CI010';
    END IF;
    SELECT bool_or(l.amt IS NULL OR l.amt = 0) AS zero, sum(l.amt) AS total, bool_or(l.descr IS NULL) AS untold
      INTO v_lines
      FROM unnest(p_amounts, p_descriptions) AS l(amt, descr);
    IF v_lines.zero THEN
        RAISE EXCEPTION 'amounts must be non-zero' USING ERRCODE = 'CI012';
    END IF;
    IF v_lines.total <> 0 THEN
        RAISE EXCEPTION 'lines do not sum to zero' USING ERRCODE = 'CI011';
    END IF;
    IF p_key IS NULL OR p_kind IS NULL OR p_description IS NULL OR v_lines.untold THEN
        RAISE EXCEPTION 'kind, description and idempotency key are required' USING ERRCODE = 'CI010';
    END IF;
    IF p_posted_at > clock_timestamp() THEN
        -- a future entry would block every later posting on its accounts (CI101)
        RAISE EXCEPTION 'posting dated in the future' USING ERRCODE = 'CI013';
    END IF;
    v_hash := ledger_request_hash(p_kind, p_description, p_accounts, p_amounts, p_descriptions, p_posted_at);

    -- Hot internal accounts are split into stripes, exactly as in 0012 (see there).
    SELECT array_agg(coalesce(s.id, l.acc) ORDER BY l.ord) INTO v_accounts
      FROM unnest(p_accounts) WITH ORDINALITY AS l(acc, ord)
      LEFT JOIN LATERAL (
            SELECT x.id
              FROM (SELECT st.id, row_number() OVER (ORDER BY st.id) - 1 AS n, count(*) OVER () AS k
                      FROM public.accounts_account p
                      JOIN public.accounts_account st
                        ON st.stripe_of_id = p.id AND st.purpose = 'stripe' AND st.status = 'open'
                     WHERE p.id = l.acc AND p.purpose IN ('fee_income', 'payeasy_collection') AND p.status = 'open') AS x
             WHERE x.n = pg_backend_pid() % x.k) AS s ON true;

    PERFORM 1 FROM public.accounts_account a WHERE a.id = ANY (v_accounts) ORDER BY a.id FOR UPDATE;

    -- The idempotency key, asked once, after the locks: the journal's INSERT either takes
    -- the key or finds it taken — by a request that committed while we waited for the
    -- locks, too, which is answered with its journal rather than a funds check that
    -- already sees its debit. Taken after the locks, so entry times never go backwards
    -- on an account. A refusal below undoes the INSERT with the rest of the statement.
    v_when := coalesce(p_posted_at, clock_timestamp());
    INSERT INTO public.accounts_journal (kind, description, idempotency_key, request_hash, posted_at, created_at)
    VALUES (p_kind, p_description, p_key, v_hash, v_when, clock_timestamp())
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        SELECT j.id, j.request_hash, j.posted_at INTO v_existing
          FROM public.accounts_journal j WHERE j.idempotency_key = p_key;
        IF v_existing.request_hash IS DISTINCT FROM v_hash THEN
            RAISE EXCEPTION 'idempotency key reused with other content' USING ERRCODE = 'CI005';
        END IF;
        journal_id := v_existing.id;
        created := false;
        posted_at := v_existing.posted_at;
        RETURN NEXT;
        RETURN;
    END IF;

    -- A stripe takes the status of its account when that is worse (as in 0012).
    SELECT a.id, a.status, a.purpose, a.balance, a.hold_amount, d.delta, d.acc INTO v_bad
      FROM (SELECT l.acc, sum(l.amt) AS delta
              FROM unnest(v_accounts, p_amounts) AS l(acc, amt) GROUP BY l.acc) AS d
      LEFT JOIN LATERAL (
            SELECT s.id, s.purpose, s.balance, s.hold_amount,
                   CASE WHEN 'closed' IN (s.status, p.status) THEN 'closed'
                        WHEN 'frozen' IN (s.status, p.status) THEN 'frozen'
                        ELSE s.status END AS status
              FROM public.accounts_account s
              LEFT JOIN public.accounts_account p ON p.id = s.stripe_of_id
             WHERE s.id = d.acc) AS a ON true
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

    -- The entries, each with its balance after it; ledger_entries_apply (one call for the
    -- statement) checks them and moves the balances.
    INSERT INTO public.accounts_entry (journal_id, account_id, amount, balance_after, description, posted_at)
    SELECT v_id, l.acc, l.amt,
           a.balance + sum(l.amt) OVER (PARTITION BY l.acc ORDER BY l.ord),
           l.descr, v_when
      FROM unnest(v_accounts, p_amounts, p_descriptions) WITH ORDINALITY AS l(acc, amt, descr, ord)
      JOIN public.accounts_account a ON a.id = l.acc
     ORDER BY l.ord;

    journal_id := v_id;
    created := true;
    posted_at := v_when;
    RETURN NEXT;
END $$;
