"""Test data built through the real services (the ledger is only written by journal_post)."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model

from accounts.models import Account, Branch, Customer, Journal
from accounts.services import PostingLine, journal_post

_sequence = itertools.count(1)


def unique(prefix: str = "") -> str:
    return f"{prefix}{next(_sequence):06d}"


def branch(code: str = "001") -> Branch:
    return Branch.objects.get(code=code)


def internal(purpose: str) -> Account:
    return Account.objects.get(purpose=purpose)


def ledger_account_id(entry) -> int:
    """The account an entry belongs to as the bank reads it: a stripe's entry is its hot
    internal account's (Account.stripe_of, issue 14)."""
    return entry.account.stripe_of_id or entry.account_id


def customer(*, contract_id: str | None = None, name_kanji: str = "山田太郎",
             name_kana: str = "ﾔﾏﾀﾞ ﾀﾛｳ", password: str = "Init1234", email: str = "",
             password_is_initial: bool = True) -> Customer:
    """A customer as the back office creates one. ``password_is_initial=False``: one whose
    initial password is already changed — said at the INSERT, as the demo seed says it; for
    the app's role an UPDATE of the flag is its services' only (security 0021, CI314)."""
    contract_id = contract_id or f"5{next(_sequence):09d}"
    user = get_user_model().objects.create_user(username=contract_id, password=password)
    return Customer.objects.create(
        user=user, contract_id=contract_id, name_kanji=name_kanji, name_kana=name_kana, email=email,
        password_is_initial=password_is_initial,
    )


def account(*, owner: Customer | None = None, branch_code: str = "001", number: str | None = None,
            balance: int = 0, type: str = Account.Type.ORDINARY, hold_amount: int = 0) -> Account:
    owner = owner or customer()
    created = Account.objects.create(
        branch=branch(branch_code),
        customer=owner,
        type=type,
        number=number or f"{next(_sequence) % 10_000_000:07d}",
        holder_kana=owner.name_kana,
    )
    if balance:
        deposit(created, balance)
    if hold_amount:
        # a hold never exceeds the balance (LEDGER-7), so it comes after the deposit
        Account.objects.filter(pk=created.pk).update(hold_amount=hold_amount)
    created.refresh_from_db()
    return created


# The tests' funding is loaded history of a demo database (``demo:``, as the demo seed's):
# ledger_check takes it as backed (probe34 F4, accounts 0039); the test database is a demo's.
def deposit(target: Account, amount: int, *, description: str = "入金", posted_at=None) -> Journal:
    return journal_post(
        lines=[
            PostingLine(internal(Account.Purpose.CASH), -amount),
            PostingLine(target, amount, description),
        ],
        kind=Journal.Kind.DEPOSIT,
        description=description,
        idempotency_key=unique("demo:test-deposit-"),
        posted_at=posted_at,
    )


def transfer(source: Account, target: Account, amount: int, *, key: str | None = None) -> Journal:
    return journal_post(
        lines=[PostingLine(source, -amount, "振込"), PostingLine(target, amount, "振込")],
        kind=Journal.Kind.TRANSFER,
        description="振込",
        idempotency_key=key or unique("demo:test-transfer-"),
    )



def confirmed(customer: Customer, kind: str, content: dict, run):
    """``run(stepup_id)`` in one transaction with a step-up of ``customer`` confirming
    ``content``, verified and used there (``stepup_seed_used``) — as
    ``stepup_verify_execute`` leaves it around the operation (transfers 0012, payeasy 0005)."""
    from django.db import transaction

    from security.stepup import stepup_seed_used

    with transaction.atomic():
        return run(stepup_seed_used(customer=customer, kind=kind, content=content).pk)


# the failure audit row each kind's service writes (security 0022, CI315): its action, its
# summary for a wrong answer and for the wrong answer that locks (tests/security/test_stepup.py
# holds the step-up's to what the service writes)
CREDENTIAL_FAILED_ROWS = {
    "password": ("login", "パスワード誤り", "パスワード誤り"),
    "image_card": ("step_up", "振込 画像認証 認証誤り", "振込 画像認証 ロック"),
    "otp": ("step_up", "振込 ワンタイムパスワード 誤り", "振込 ワンタイムパスワード ロック"),
    "passkey": ("login_passkey", "認証誤り", "ロック"),
}


def credential_failed(customer: Customer, kind: str = "password", *, lock: bool = False, locked_at=None):
    """One wrong answer counted as the app's role may count it (SEC-8, security 0013, 0022):
    failures one more, with the failure audit row of that credential's answer (CI315); with
    ``lock``, the lock too (the failure that reaches the limit) and the service's lockout
    audit row and mail (security 0014, dbprobe29 F7). One transaction (CI305)."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone

    from notifications.services import notice_enqueue
    from security.audit import audit_record
    from security.models import Credential

    Credential.objects.bulk_create([Credential(customer=customer, kind=kind)], ignore_conflicts=True)
    rows = Credential.objects.filter(customer=customer, kind=kind)
    action, wrong, locking = CREDENTIAL_FAILED_ROWS[kind]
    summary = locking if lock else wrong
    with transaction.atomic():
        rows.update(failures=F("failures") + 1, **({"locked_at": locked_at or timezone.now()} if lock else {}))
        credential = rows.get()
        if kind == "password":  # as the login writes it
            summary = f"{summary}（連続{credential.failures}回目）"
        audit_record(action=action, outcome="failure", customer=customer, summary=summary)
        if lock:
            audit_record(action="lockout", outcome="refused", customer=customer, summary=credential.get_kind_display())
            notice_enqueue(customer=customer, event="lockout", lines=["お取引をロックしました。"])
    return credential


def credential_locked(customer: Customer, kind: str = "password", *, locked_at=None):
    """A locked credential, made as the app's role may make one (SEC-8, security 0013,
    dbprobe28 F5): one failure at a time up to the kind's limit, each with its failure audit
    row (security 0022), the lock with the last (``credential_failed``)."""
    from django.conf import settings

    from security.models import Credential

    limit = settings.SECURITY_LOCKOUT_THRESHOLDS[kind]
    while not Credential.objects.filter(customer=customer, kind=kind, failures__gte=limit - 1).exists():
        credential_failed(customer, kind)
    return credential_failed(customer, kind, lock=True, locked_at=locked_at)


def staff_user(username: str = "staff01", *, group: bool = True, **fields):
    """An active staff user named ``username`` — in the branch staff group (their permissions:
    ロック解除, 初回パスワード再発行 …) unless not ``group``: the actor security 0022 (CI315)
    asks a staff action's audit row to name."""
    from accounts.roles import branch_staff_group_ensure

    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True, **fields})
    if group:
        user.groups.add(branch_staff_group_ensure())
    return user


def staff_user_holding(username: str, *permissions: str, **fields):
    """An active staff user outside the branch staff group holding only ``permissions``
    ("app.codename"): the staff user without the one a database rule asks for."""
    from django.contrib.auth.models import Permission

    user = staff_user(username, group=False, **fields)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def suspended(customer: Customer) -> Customer:
    """The customer's IB取引中止 as the app's role may write it (SEC-10, security 0015, CI308):
    the status with the ``ib_suspend`` audit row and mail in one transaction — without the
    service's session clean-up, for tests of what a session meets after the fact."""
    from django.db import transaction

    from notifications.services import notice_enqueue
    from security.audit import audit_record

    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.SUSPENDED)
        audit_record(action="ib_suspend", outcome="success", customer=customer)
        notice_enqueue(customer=customer, event="ib_suspend", lines=["ご利用を停止しました。"])
    return customer


def card_replaced(customer: Customer, card) -> object:
    """A new active card with ``card``'s layout, ``card`` deactivated and its open challenge
    left open — a race's leftover — written as the app's role may write it (SEC-5, security
    0015, CI306): with the ``card_issue`` audit row and mail in the same transaction."""
    from django.db import transaction

    from notifications.services import notice_enqueue
    from security.audit import audit_record
    from security.models import ImageCard

    with transaction.atomic():
        ImageCard.objects.filter(pk=card.pk).update(is_active=False)
        active = ImageCard.objects.create(customer=customer, layout=list(card.layout))
        audit_record(action="card_issue", outcome="success", customer=customer, summary="再発行")
        notice_enqueue(customer=customer, event="card_issue", lines=["画像認証カードを再発行しました。"])
    return active


def address_changed(customer: Customer, new_email: str) -> Customer:
    """``customer``'s address made ``new_email`` as the app's role may make it (NOTE-2,
    notifications 0022, CI310): through the service — ``email_change_request``, then
    ``email_change_confirm`` with the code read from its mail — which tells the old address.
    ``new_email`` '' removes the address (``email_remove``)."""
    import re

    from django.db import transaction

    from notifications.models import OutboxMessage
    from notifications.services import email_change_confirm, email_change_request, email_remove

    with transaction.atomic():
        if not new_email:
            customer.refresh_from_db(fields=["email"])
            email_remove(customer=customer, email=customer.email, ip=None)
            return customer
        email_change_request(customer=customer, new_email=new_email, ip=None)
        mail = OutboxMessage.objects.filter(customer=customer, event="email_verify").latest("id")
        email_change_confirm(customer=customer, code=re.search(r"確認コード：(\d{6})", mail.body)[1], ip=None)
    return customer


def notices_chosen(customer: Customer, **choices: bool):
    """``customer``'s choice of optional notices (NOTE-2), ``choices`` over the current ones,
    as the app's role may write it (notifications 0022, CI311): ``notice_preference_change``
    after the Ｅメール設定 confirm page's step-up of that content, used in its transaction —
    with its audit row and its ``email_change`` mail."""
    from django.db import transaction

    from notifications.models import PREFERENCE_LABELS
    from notifications.services import notice_preference_change, preference_for
    from security.stepup import stepup_seed_used

    current = preference_for(customer)
    chosen = {field: bool(choices.get(field, getattr(current, field))) for field in PREFERENCE_LABELS}
    assert set(choices) <= set(chosen), f"no such choice: {set(choices) - set(chosen)}"
    with transaction.atomic():
        stepup_seed_used(customer=customer, kind="email_change", content={"operation": "preferences", **chosen})
        return notice_preference_change(customer=customer, choices=chosen, ip=None)
