"""The one lock order for a customer's rows (SEC-8, SEC-10; docs/security.md, "Lock order").

Every transaction takes the rows it locks or writes in this order, never back up:

1. the customer's row (``accounts_customer``), FOR NO KEY UPDATE — ``customer_for_update``;
2. the password credential (``services.credential_for_update``), then the user's row
   (the password hash);
3. the step-up (``stepup._stepup_for_update``);
4. one factor after another — image card, OTP, passkey — each its credential first, then
   its rows: the open challenge and its card; the device, then the token;
   the WebAuthn challenge, then the passkey;
5. the operation's rows: the transfer limit (``transfers.services._customer_lock``), then
   accounts in id order (``journal_post``); payees, transfers, the e-mail change request,
   a passkey being deleted.

Every write that can meet another of the same customer's takes (1) first: the login
(right or wrong password, the lockout), the password change, staff's 初回パスワード再発行,
ロック解除, IB取引中止/再開, card issue, OTP revoke and passkey reset, the customer's
confirmation (``stepup_verify_execute``), OTP 利用開始 and token issue, passkey
registration, deletion and 「パスキーでのみ」, the e-mail changes. So two of them for one
customer run one after the other, whatever rows they touch below. A transaction may
start lower — the login's second factor (``otp_verify``, ``image_card_verify``,
``passkey_verify_login``) locks one factor's rows only, the transfer batch the limit and
accounts — as long as it never takes a row above one it holds. (The customer's own
IB取引中止 takes (2) after its step-up's (3) and (4): safe only because every transaction
that takes (2) holds (1) first.)

NO KEY, never plain FOR UPDATE: no key of a customer ever changes, and FOR UPDATE would
also block every insert that references the customer (an audit row, a mail, a step-up) —
a key share on the row — so a transaction that wrote one of those and then waited for a
lock the holder wanted closed a cycle.

Why the customer first (and not the password credential, as the login did): an operation
confirmed by a step-up (IB取引中止, a passkey's deletion, the e-mail address …) must hold
the customer's row from the start, to read the contract's status as it is now; what it
then locks depends on the operation. The login's hasher runs before any lock
(``services.login_authenticate``), so guesses do not hold the customer's row for it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import Customer


def customer_for_update(customer: Customer, *, with_user: bool = False) -> Customer:
    """The customer's row as it is now, locked FOR NO KEY UPDATE until the commit (call
    inside a transaction, before any other row of the customer: the module's order).
    ``with_user``: the user's row too (read, not locked), as committed once the lock is
    held — so the password hash is the current one: every path that writes it holds this
    lock (SEC-3)."""
    locked = Customer.objects.select_for_update(no_key=True, of=("self",)).get(pk=customer.pk)
    # the address as it is now, on the caller's object too: the service's mail goes where an
    # address change committed in another tab has moved it (CI204; walk32 F1)
    customer.email = locked.email
    if with_user:
        # A statement of its own, after the lock. Joined to the locking query, the user's
        # row was the one that query's snapshot saw before it waited: PostgreSQL re-reads
        # only the rows it locks once the holder commits, so a login that had waited for a
        # password change checked the old hash — the old password logged in, the new not.
        locked.user = get_user_model()._default_manager.get(pk=locked.user_id)
    return locked
