-- Issue 14: hot internal accounts split into stripes. ledger_post() as in 0010, except
-- that a line on a striped internal account is put on one of its stripes (v_accounts).
-- Same signature: the grants of db_roles.py stay as they are.

CREATE OR REPLACE FUNCTION ledger_post(
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
    v_accounts bigint[];
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

    -- Hot internal accounts are split into stripes (Account.stripe_of, issue 14): a line
    -- on the open fee income or Pay-easy collection account (reference_data.STRIPES) goes
    -- to one of its open stripes, chosen by this connection's backend pid, so concurrent
    -- postings do not all queue on one row lock. No other account is ever striped:
    -- customer accounts need their one row for the funds check, and a stripe row someone
    -- adds to any other account is ignored. The request hash above is over the lines as
    -- asked, so a replay still matches. The account's own status is checked again below,
    -- after the locks (staff lock the stripes when they change it).
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

    -- Look again now that we hold the locks: a concurrent request with the same key may
    -- have committed while we waited, and must be answered with its journal, not with a
    -- funds check that already sees its debit.
    SELECT k.found_id, k.found_at INTO v_existing FROM ledger_journal_for_key(p_key, v_hash) AS k;
    IF FOUND THEN
        RETURN QUERY SELECT v_existing.found_id, false, v_existing.found_at;
        RETURN;
    END IF;

    -- A stripe takes the status of its account when that is worse (frozen or closed
    -- since the line was put on the stripe).
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
      FROM unnest(v_accounts, p_amounts, p_descriptions) WITH ORDINALITY AS l(acc, amt, descr, ord)
      JOIN public.accounts_account a ON a.id = l.acc
     ORDER BY l.ord;

    RETURN QUERY SELECT v_id, true, v_when;
END $$;
