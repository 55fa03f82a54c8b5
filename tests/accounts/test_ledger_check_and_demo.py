"""LEDGER-5 on demo data; the demo seed is idempotent, loads the Pay-easy billers (PAY-2)
and queues its backdated history's notices without mailing them (NOTE-1). One seed for
all three: it is the suite's slowest setup."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections, transaction

from accounts.models import Account, Customer, Entry, Journal
from accounts.ledger_check import ledger_check
from notifications.models import OutboxMessage, PostingNotice
from notifications.services import posting_notices_process
from payeasy.models import Biller
from tests import factories

# transactional: the seed really commits, so the deferred ledger triggers run on it
pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_seed_is_idempotent_and_passes_ledger_check(capsys):
    call_command("seed_demo")
    customers, journals = Customer.objects.count(), Journal.objects.count()
    assert customers == 3 and journals > 300
    assert Biller.objects.filter(number="00100").exists()
    customer_entries = Entry.objects.filter(account__purpose=Account.Purpose.CUSTOMER).count()
    assert customer_entries > 100
    assert PostingNotice.objects.count() == customer_entries  # every seeded entry passed the trigger
    while posting_notices_process():
        pass
    assert not PostingNotice.objects.filter(processed_at__isnull=True).exists()
    # 18 months of backdated history is not news: no mail for it
    assert not OutboxMessage.objects.filter(event__in=["deposit", "withdrawal"]).exists()
    # STAFF-1 (walk30 note): a branch member, and a 役席 who may also freeze an account
    staff = {user.username: user for user in get_user_model().objects.filter(is_staff=True)}
    assert not staff["staff01"].has_perm("accounts.change_account")
    assert staff["staff01"].has_perm("accounts.unlock_credential")
    assert staff["yakuseki01"].has_perm("accounts.change_account")
    assert staff["yakuseki01"].check_password("Yakuseki-2026-demo")
    first = capsys.readouterr().out
    assert "yakuseki01" in first and "otpauth://totp/cosei-ib:yakuseki01" in first
    call_command("seed_demo")
    assert (Customer.objects.count(), Journal.objects.count()) == (customers, journals)
    assert "1000000001" in capsys.readouterr().out
    call_command("ledger_check")  # exits 0
    assert all(result.ok for result in ledger_check())
    # 18 months of history: the oldest entry is about 18 months back
    oldest = Entry.objects.order_by("posted_at").first().posted_at
    newest = Entry.objects.order_by("-posted_at").first().posted_at
    assert (newest - oldest).days >= 500


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_ledger_check_fails_after_a_tampered_balance(capsys):
    victim = factories.account(balance=50_000)
    factories.deposit(factories.account(), 1_000)
    call_command("ledger_check")  # clean before the tampering
    with transaction.atomic(using="owner"), connections["owner"].cursor() as cursor:
        # The owner of the tables (not the app's role) can switch triggers off; the
        # check still notices.
        cursor.execute("ALTER TABLE accounts_account DISABLE TRIGGER ledger_account_guard")
        cursor.execute("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [victim.id])
        cursor.execute("ALTER TABLE accounts_account ENABLE TRIGGER ledger_account_guard")
    with pytest.raises(SystemExit) as exited:
        call_command("ledger_check")
    assert exited.value.code == 1
    output = capsys.readouterr().out
    assert "[FAIL] cached balance equals the sum of entries" in output
    assert f"id {victim.id}" in output
