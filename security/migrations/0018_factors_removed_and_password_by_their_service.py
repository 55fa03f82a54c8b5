"""SEC-5, SEC-6, SEC-7, SEC-13, LEDGER-7 (outside review dbprobe30, what 0015 and 0017
left): a customer's OTP token and image card are removed, and a customer's login password
changed, by the app's role only through the service that does each, with its audit row and
mail in the same transaction.

0015 held how a factor is added and rewritten; its DELETE and the password were open:

* ``DELETE FROM security_otptoken`` of an active token took a customer's ワンタイムパスワード
  away (ログイン時認証 with it) with no trace: the next login asked no OTP and every
  step-up fell back to the image card. The service is ``otp_token_revoke`` (branch staff, a
  lost phone): the ``otp_revoke`` audit row with the staff user and the ``otp_revoke``
  mail. A token not yet activated is replaced by ``otp_token_issue`` without either (the
  customer's 利用開始 starts again), so its DELETE stays open;
* ``DELETE FROM security_imagecard`` left a customer with no card to answer a step-up
  with (no 振込 until the branch issued one), again with no trace. No service deletes a
  card — a new issue deactivates the old one (0015) — so for the app's role a card is
  never deleted while its customer is there (CI307);
* ``UPDATE auth_user SET password = …`` of a customer's user planted a password the
  attacker knows, and nobody was told. The services that set it: ``password_change``
  (the customer: the ``password_change`` success audit row and mail), the branch's
  ``initial_password_issue`` (the row with the staff user and its mail), and the login's
  re-hash of an older hasher's hash (``login_authenticate``: the ``login`` or
  ``otp_activate_identify`` success row of the customer, and the hash's algorithm and
  parameters — all of it but the salt and the digest — changed, as a re-hash changes
  them). Staff users' passwords are Django admin's and not held here.

Deferred to the commit (``DEFERRABLE INITIALLY DEFERRED``: the audit row and the mail come
after the change in each service), CI306 as 0015/0017, for the app's role only (the owner,
a DBA, is not bound); rows of a customer deleted in the same transaction are let go. Mails
are counted as 0015 counts them (to be sent, or 送信対象外 only for a customer with no
address).

SQL functions/triggers: CREATE FUNCTION public.security_otptoken_removed_by_its_service(),
public.security_imagecard_never_removed(), public.security_customer_password_by_its_service();
CREATE CONSTRAINT TRIGGER of the same names on security_otptoken, security_imagecard and
auth_user. Nothing replaced.
"""

import importlib

from django.db import migrations

TAKEN_0015 = importlib.import_module("security.migrations.0015_factors_and_ib_status_taken_by_their_service")
NOT_OWNER = TAKEN_0015.NOT_OWNER
told = TAKEN_0015.told
audited = TAKEN_0015.audited

CUSTOMER_GONE = "NOT EXISTS (SELECT 1 FROM public.accounts_customer c WHERE c.id = OLD.customer_id)"
# all of a Django hash but its salt and digest: the algorithm and its parameters
HASH_KIND = r"regexp_replace({column}, '\$[^$]*\$[^$]*$', '')"

FORWARD = f"""
CREATE FUNCTION public.security_otptoken_removed_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT {NOT_OWNER} OR {CUSTOMER_GONE} THEN
        RETURN NULL;
    END IF;
    IF NOT {told('OLD.customer_id', 'otp_revoke', staff=True)} THEN
        RAISE EXCEPTION 'OTP token % of customer %: an active token is ended by otp_token_revoke (the otp_revoke '
                        'audit row with the staff user and the otp_revoke mail)', OLD.id, OLD.customer_id
            USING ERRCODE = 'CI306';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION public.security_imagecard_never_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF NOT {NOT_OWNER} OR {CUSTOMER_GONE} THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'image card % of customer %: a card is never deleted (image_card_issue deactivates it '
                    'when it issues the next)', OLD.id, OLD.customer_id USING ERRCODE = 'CI307';
END $$;

CREATE FUNCTION public.security_customer_password_by_its_service() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    v_customer bigint;
BEGIN
    IF NOT {NOT_OWNER} THEN
        RETURN NULL;
    END IF;
    SELECT c.id INTO v_customer FROM public.accounts_customer c WHERE c.user_id = NEW.id;
    IF v_customer IS NULL THEN
        RETURN NULL;  -- staff, or a user not (yet) a customer's
    END IF;
    IF NOT ({told('v_customer', 'password_change')}
            OR {told('v_customer', 'initial_password_issue', staff=True)}
            OR (({audited('v_customer', 'login')} OR {audited('v_customer', 'otp_activate_identify')})
                AND {HASH_KIND.format(column='NEW.password')} <> {HASH_KIND.format(column='OLD.password')})) THEN
        RAISE EXCEPTION 'customer %: a login password is set by password_change, the branch''s '
                        'initial_password_issue (each with its audit row and mail) or a login''s re-hash',
                        v_customer USING ERRCODE = 'CI306';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER security_otptoken_removed_by_its_service
    AFTER DELETE ON public.security_otptoken DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.activated_at IS NOT NULL)
    EXECUTE FUNCTION public.security_otptoken_removed_by_its_service();
CREATE CONSTRAINT TRIGGER security_imagecard_never_removed
    AFTER DELETE ON public.security_imagecard DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.security_imagecard_never_removed();
CREATE CONSTRAINT TRIGGER security_customer_password_by_its_service
    AFTER UPDATE OF password ON public.auth_user DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.password IS DISTINCT FROM OLD.password)
    EXECUTE FUNCTION public.security_customer_password_by_its_service();
"""

REVERSE = """
DROP TRIGGER IF EXISTS security_otptoken_removed_by_its_service ON public.security_otptoken;
DROP TRIGGER IF EXISTS security_imagecard_never_removed ON public.security_imagecard;
DROP TRIGGER IF EXISTS security_customer_password_by_its_service ON public.auth_user;
DROP FUNCTION IF EXISTS public.security_otptoken_removed_by_its_service();
DROP FUNCTION IF EXISTS public.security_imagecard_never_removed();
DROP FUNCTION IF EXISTS public.security_customer_password_by_its_service();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("security", "0017_passkey_removed_by_its_service"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
