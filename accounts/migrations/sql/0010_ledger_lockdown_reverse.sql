-- Reverse of 0010: the functions as 0002 wrote them.
DROP FUNCTION ledger_post(text, text, text, bigint[], bigint[], text[], timestamptz);
DROP FUNCTION ledger_request_hash(text, text, bigint[], bigint[], text[], timestamptz);
CREATE OR REPLACE FUNCTION ledger_entry_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
BEGIN
    UPDATE accounts_account
       SET balance = balance + NEW.amount, last_entry_at = NEW.posted_at
     WHERE id = NEW.account_id
       AND (last_entry_at IS NULL OR last_entry_at <= NEW.posted_at)
    RETURNING balance INTO v_balance;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'entry for account % is older than the account''s last entry', NEW.account_id
            USING ERRCODE = 'CI101';
    END IF;
    IF v_balance <> NEW.balance_after THEN
        RAISE EXCEPTION 'balance_after % of account % should be %', NEW.balance_after, NEW.account_id, v_balance
            USING ERRCODE = 'CI102';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance <> 0 OR NEW.last_entry_at IS NOT NULL THEN
            RAISE EXCEPTION 'a new account starts at zero; post a journal instead' USING ERRCODE = 'CI104';
        END IF;
    ELSIF (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.last_entry_at IS DISTINCT FROM OLD.last_entry_at)
          AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'the balance of account % is maintained by ledger entries only', OLD.id
            USING ERRCODE = 'CI103';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ledger_journal_for_key(p_key text, p_hash text)
RETURNS TABLE (found_id bigint, found_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_journal record;
BEGIN
    SELECT j.id, j.request_hash, j.posted_at INTO v_journal
      FROM accounts_journal j WHERE j.idempotency_key = p_key;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF v_journal.request_hash IS DISTINCT FROM p_hash THEN
        RAISE EXCEPTION 'idempotency key reused with other content' USING ERRCODE = 'CI005';
    END IF;
    RETURN QUERY SELECT v_journal.id, v_journal.posted_at;
END $$;

CREATE FUNCTION ledger_post(
    p_kind text,
    p_description text,
    p_key text,
    p_hash text,
    p_accounts bigint[],
    p_amounts bigint[],
    p_descriptions text[],
    p_posted_at timestamptz DEFAULT NULL
) RETURNS TABLE (journal_id bigint, created boolean, posted_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_existing record;
    v_bad record;
    v_id bigint;
    v_when timestamptz;
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
    IF p_hash IS NULL OR p_key IS NULL THEN
        RAISE EXCEPTION 'idempotency key and request hash are required' USING ERRCODE = 'CI010';
    END IF;
    IF p_posted_at > clock_timestamp() THEN
        -- a future entry would block every later posting on its accounts (CI101)
        RAISE EXCEPTION 'posting dated in the future' USING ERRCODE = 'CI013';
    END IF;

    SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, p_hash) AS k;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    PERFORM 1 FROM accounts_account a WHERE a.id = ANY (p_accounts) ORDER BY a.id FOR UPDATE;

    -- Look again now that we hold the locks: a concurrent request with the same key may
    -- have committed while we waited, and must be answered with its journal, not with a
    -- funds check that already sees its debit.
    SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, p_hash) AS k;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    SELECT a.id, a.status, a.purpose, a.balance, a.hold_amount, d.delta, d.acc INTO v_bad
      FROM (SELECT l.acc, sum(l.amt) AS delta
              FROM unnest(p_accounts, p_amounts) AS l(acc, amt) GROUP BY l.acc) AS d
      LEFT JOIN accounts_account a ON a.id = d.acc
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
    INSERT INTO accounts_journal (kind, description, idempotency_key, request_hash, posted_at, created_at)
    VALUES (p_kind, p_description, p_key, p_hash, v_when, clock_timestamp())
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO v_id;
    IF v_id IS NULL THEN
        -- A concurrent request with the same key committed first: exactly once.
        SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, p_hash) AS k;
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    INSERT INTO accounts_entry (journal_id, account_id, amount, balance_after, description, posted_at)
    SELECT v_id, l.acc, l.amt,
           a.balance + sum(l.amt) OVER (PARTITION BY l.acc ORDER BY l.ord),
           l.descr, v_when
      FROM unnest(p_accounts, p_amounts, p_descriptions) WITH ORDINALITY AS l(acc, amt, descr, ord)
      JOIN accounts_account a ON a.id = l.acc
     ORDER BY l.ord;

    RETURN QUERY SELECT v_id, true, v_when;
END $$;

GRANT EXECUTE ON FUNCTION ledger_journal_for_key(text, text) TO PUBLIC;
GRANT EXECUTE ON FUNCTION ledger_assert_journal_balanced(bigint) TO PUBLIC;
