"""NOTE-1, NOTE-3, LEDGER-7: as the app's own role (every test's), a notice's content is
never rewritten nor removed; only its delivery state moves (notifications 0007, CI204)."""

import datetime as dt
import importlib
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Account, Customer, Entry, Journal
from accounts.services import PostingLine, journal_post
from notifications import services
from notifications.services import posting_notices_process
from notifications.models import EmailAddressChange, NoticePreference, NoticePreferenceChange, OutboxMessage, PostingNotice
from tests import factories
from notifications.tasks import outbox_send_pending
from tests.accounts.test_counter_deposit_key import at_commit
from tests.accounts.test_ledger_lockdown import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail():
    return OutboxMessage.objects.create(customer=factories.customer(email="payer@example.jp"), event="transfer_accepted",
                                        to="payer@example.jp", subject="振込受付", body="振込金額：10,000円")


@pytest.mark.parametrize("statement", [
    "UPDATE notifications_outboxmessage SET body = 'x' WHERE id = %s",
    "UPDATE notifications_outboxmessage SET \"to\" = 'attacker@example.jp' WHERE id = %s",
    "DELETE FROM notifications_outboxmessage WHERE id = %s",
])
def test_a_notice_is_never_rewritten_or_removed(mail, statement):
    assert refused(statement, [mail.pk]) == "CI204"


def test_only_the_delivery_moves_and_a_sent_notice_never_again(mail):
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=1, status="failed")
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=0, status="pending")  # staff 再送
    OutboxMessage.objects.filter(pk=mail.pk).update(attempts=1, status="sent", sent_at="2026-12-06T00:00Z")
    assert refused("UPDATE notifications_outboxmessage SET status = 'pending' WHERE id = %s", [mail.pk]) == "CI204"


@pytest.mark.parametrize("status, attempts, sent_at", [
    ("sent", 1, "2026-11-06T00:00Z"), ("sent", 0, None), ("failed", 3, None), ("pending", 2, None),
    ("pending", 0, "2026-11-06T00:00Z"),
])
def test_a_mail_is_not_born_tried_or_sent(status, attempts, sent_at):
    """NOTE-1, LEDGER-7 (notifications 0008): the app's role inserted a mail already 送信済
    a month back — evidence of a notice never sent. A new row is pending or skipped, never
    tried; what the services write still goes in."""
    customer = factories.customer(email="a@example.jp")
    assert refused(
        "INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
        " next_attempt_at, created_at, sent_at) VALUES (%s, 'transfer_accepted', 'a@example.jp', 's', 'b',"
        " %s, %s, now(), now() - interval '30 days', %s)", [customer.pk, status, attempts, sent_at]) == "CI204"
    factories.notices_chosen(customer, receipts=False)  # skipped only when off (0019, CI243)
    for allowed in ("pending", "skipped"):
        OutboxMessage.objects.create(customer=customer, event="transfer_accepted", to="a@example.jp",
                                     subject="s", body="b", status=allowed)


def test_a_posting_notice_is_only_the_one_the_ledger_writes():
    """NOTE-1, LEDGER-7 (notifications 0008): the app's role inserted a 入出金 notice of
    9,999,999円 on a customer's account, naming an entry of another account. A notice must
    be its entry's — account, amount, a customer account, unprocessed — and each entry has
    one already (the ledger's trigger), so the app adds none."""
    customer_account = factories.account(owner=factories.customer(email="a@example.jp"), balance=10_000)
    ledger_notice = PostingNotice.objects.get(account=customer_account)
    cash_entry = Entry.objects.exclude(account__purpose=Account.Purpose.CUSTOMER).latest("id")
    insert = ("INSERT INTO notifications_postingnotice (entry_id, account_id, amount, created_at)"
              " VALUES (%s, %s, %s, now())")
    assert refused(insert, [cash_entry.pk, customer_account.pk, 9_999_999]) == "CI204"
    assert refused(insert, [cash_entry.pk, cash_entry.account_id, cash_entry.amount]) == "CI204"
    assert refused(insert, [ledger_notice.entry_id, customer_account.pk, 9_999_999]) == "CI204"
    assert refused(insert, [ledger_notice.entry_id, customer_account.pk, ledger_notice.amount]) == "23505"
    assert PostingNotice.objects.count() == 1


@pytest.fixture
def credit_notice():
    """The ledger's 入出金 notice of a 10,000円 credit to a customer who gets its mail."""
    owner = factories.customer(email="owner@example.jp")
    return PostingNotice.objects.get(account=factories.account(owner=owner, balance=10_000))


def _mail(customer, event, to, status="pending", body="口座　　：本店 普通 ***0001\n金額　　：10,000円\n摘要　　：入金\n"):
    return OutboxMessage.objects.create(customer=customer, event=event, to=to, subject="s", body=body,
                                        status=status).pk


PROCESS = "UPDATE notifications_postingnotice SET processed_at = now(), message_id = %s WHERE id = %s"


def test_a_posting_notice_is_processed_only_into_its_own_mail(credit_notice):
    """NOTE-1, NOTE-3, LEDGER-7 (notifications 0009, dbprobe25 F5): the app's role marked a
    pending 入出金 notice processed with no mail, or with a skipped 'login' mail of another
    customer — the customer's fraud alarm gone without a trace. The mail a notice names is
    its customer's, of its event (ご入金 for a credit), addressed as the service does,
    and written with it; no mail only for loaded history."""
    owner = credit_notice.account.customer
    other = factories.customer(email="other@example.jp")
    assert refused(PROCESS, [None, credit_notice.pk]) == "CI204"
    for mail in (_mail(other, "login", "other@example.jp", "skipped"),
                 _mail(other, "deposit", "other@example.jp"),
                 _mail(owner, "withdrawal", "owner@example.jp"),
                 _mail(owner, "login", "owner@example.jp")):
        assert refused(PROCESS, [mail, credit_notice.pk]) == "CI204", mail
    # 入出金のお知らせ is on, and the owner has an address: such a mail is not even written
    # (notifications 0019, CI243 — before 0019 its processing was refused, CI204)
    assert refused(INSERT_SKIPPED, [owner.pk, "deposit", "owner@example.jp"]) == SKIPPED
    assert refused(INSERT_SKIPPED, [owner.pk, "deposit", ""]) == SKIPPED
    own_mail = _mail(owner, "deposit", "owner@example.jp")
    PostingNotice.objects.filter(pk=credit_notice.pk).update(processed_at="2026-12-06T00:00Z", message=own_mail)
    second = PostingNotice.objects.get(entry__in=Entry.objects.filter(
        account=factories.account(owner=owner, balance=5_000)))
    assert refused(PROCESS, [own_mail, second.pk]) == "CI204", "one mail told two postings"



def test_a_debit_dated_back_within_today_is_told():
    """NOTE-1, LEDGER-7 (notifications 0012, dbprobe25 F5 remainder): the app's role dated a
    debit back 61 minutes — within today, which the bank-day floor allows — and as "loaded
    history" it got no ご出金 mail, by the service's rule and the guard's. Loaded history is a
    posting dated to an earlier bank day than the ledger wrote it: this debit is told, and
    marking its notice processed with no mail is refused (CI204)."""
    now = timezone.localtime()
    if now - now.replace(hour=0, minute=0, second=0, microsecond=0) < dt.timedelta(minutes=90):
        pytest.skip("no moment over an hour back within today in Tokyo yet (the database's clock is real)")
    # an earlier bank day is still loaded history (posted first: entries go in time order)
    history = factories.account(owner=factories.customer(email="history@example.jp"))
    factories.deposit(history, 500, posted_at=now - dt.timedelta(days=1))
    target = factories.account(owner=factories.customer(email="owner@example.jp"))
    factories.deposit(target, 10_000, posted_at=now - dt.timedelta(minutes=80))
    journal_post(lines=[PostingLine(target, -3_000), PostingLine(factories.internal(Account.Purpose.CASH), 3_000)],
                 kind=Journal.Kind.WITHDRAWAL, description="出金", idempotency_key="test-backdated-debit",
                 posted_at=now - dt.timedelta(minutes=61))
    debit = PostingNotice.objects.get(account=target, amount=-3_000)
    assert refused(PROCESS, [None, debit.pk]) == "CI204"
    posting_notices_process()
    debit.refresh_from_db()
    assert debit.message.event == "withdrawal" and debit.message.to == "owner@example.jp"
    assert "3,000円" in debit.message.body
    loaded = PostingNotice.objects.get(account=history)
    assert loaded.processed_at is not None and loaded.message is None  # processed, not mailed
    assert not OutboxMessage.objects.filter(customer=history.customer).exists()



@pytest.mark.parametrize("body", [
    "金額　　：100円\n",                                                     # another amount
    "口座　　：本店 普通 ***0001\n金額　　：1,000円\n",                         # 10,000 told as 1,000
    "口座\n金額　　：10,000円\n金額　　：1円\n",                              # two 金額 lines
    "口座\n金額　　：10000円\n",                                              # not as the template writes it
    "口座\n金額　　：10,000円",                                                # not a whole line
    "ご入金がありました。\n",                                                  # no amount at all
])
def test_a_posting_mail_states_its_entrys_amount(credit_notice, body):
    """NOTE-1, LEDGER-7 (notifications 0013): the app's role processed a notice into a mail
    of the right customer, event and address whose body told another amount. The mail names
    its entry's amount on exactly one 「金額」 line, as the template writes it (CI204)."""
    mail = _mail(credit_notice.account.customer, "deposit", "owner@example.jp", body=body)
    assert refused(PROCESS, [mail, credit_notice.pk]) == "CI204"


@pytest.mark.django_db(transaction=True)
def test_the_service_mail_keeps_one_amount_line_whatever_the_names_say(owner_sql):
    """A name, a branch name or a 摘要 written with a line break (by the app's role; a branch
    by the owner, accounts/db_roles.py) cannot add a 「金額」 line to the service's own mail —
    the guard would refuse it and no notice would go out: each value stays on its line
    (services.one_line)."""
    target = factories.account(owner=factories.customer(email="owner@example.jp", name_kanji="山田\n金額　　：1円"))
    owner_sql("UPDATE accounts_branch SET name = %s WHERE id = %s", ["本店\n金額　　：2円", target.branch_id])
    journal_post(lines=[PostingLine(factories.internal(Account.Purpose.CASH), -5_000),
                        PostingLine(target, 5_000, "入金\n金額　　：3円")],
                 kind=Journal.Kind.DEPOSIT, description="入金", idempotency_key="test-lines-in-names")
    posting_notices_process()
    body = PostingNotice.objects.get(account=target).message.body
    assert body.count("\n金額　　：") == 1 and "\n金額　　：5,000円\n" in body
    assert "山田 金額　　：1円 様" in body and "入金 金額　　：3円" in body


@pytest.mark.django_db(transaction=True)
def test_a_posting_notice_mail_is_written_with_its_processing(credit_notice):
    """NOTE-3 (notifications 0009, dbprobe25 F5): a mail committed earlier — already sent,
    or queued for another posting — is not the mail of this notice's processing."""
    earlier = _mail(credit_notice.account.customer, "deposit", "owner@example.jp")
    assert refused(PROCESS, [earlier, credit_notice.pk]) == "CI204"


INSERT_MAIL = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
               " next_attempt_at, created_at) VALUES (%s, %s, %s, 's', 'b', 'pending', 0, now(), now())")


def test_a_mail_goes_to_its_customer_address():
    """NOTE-1, NOTE-2 (notifications 0010, dbprobe25 F5): the app's role inserted a ご入金
    mail of a customer addressed to attacker@evil.example. A mail goes to its customer's
    address or to no one; only the code of an address change goes to the new address of
    the request written with it, and the notice of a change to the address the same
    transaction changed away from."""
    customer = factories.customer(email="owner@example.jp")
    for event in ("deposit", "email_verify", "email_change", "password_change"):
        assert refused(INSERT_MAIL, [customer.pk, event, "attacker@example.jp"]) == "CI204", event
    with connection.cursor() as cursor:
        for to in ("owner@example.jp", ""):
            cursor.execute(INSERT_MAIL, [customer.pk, "deposit", to])
    other = factories.customer(email="other@example.jp")
    services.email_change_request(customer=other, new_email="attacker@example.jp", ip=None)
    assert refused(INSERT_MAIL, [customer.pk, "email_verify", "attacker@example.jp"]) == "CI204", "not its request"
    assert refused(INSERT_MAIL, [other.pk, "email_change", "attacker@example.jp"]) == "CI204", "not a change"


def test_an_address_change_is_recorded_by_the_database():
    """NOTE-2, LEDGER-7 (notifications 0010, dbprobe25 F5): the app's role changed a
    customer's address with no trace. Every change is in the history, which the app's
    role only reads; the notice of the change goes to the old address (the service's own
    confirmation), and a later transaction cannot send to that address any more."""
    customer = factories.customer(email="old@example.jp")
    services.email_change_request(customer=customer, new_email="new@example.jp", ip=None)
    code_mail = OutboxMessage.objects.get(customer=customer, event="email_verify")
    assert code_mail.to == "new@example.jp"
    code = re.search(r"確認コード：(\d{6})", code_mail.body).group(1)
    services.email_change_confirm(customer=customer, code=code, ip=None)
    assert sorted(OutboxMessage.objects.filter(customer=customer, event="email_change").values_list("to", flat=True)) \
        == ["new@example.jp", "old@example.jp"]
    change = EmailAddressChange.objects.get(customer=customer)
    assert (change.old_email, change.new_email) == ("old@example.jp", "new@example.jp")
    for statement in ("UPDATE notifications_emailaddresschange SET old_email = 'x' WHERE id = %s",
                      "DELETE FROM notifications_emailaddresschange WHERE id = %s"):
        assert refused(statement, [change.pk]) == "42501"
    assert refused("INSERT INTO notifications_emailaddresschange (customer_id, old_email, new_email, changed_at,"
                   " xact_id, db_user) VALUES (%s, 'attacker@example.jp', '', now(), 0, 'x')",
                   [customer.pk]) == "42501"


def _choices(change: NoticePreferenceChange) -> tuple:
    return (change.postings_before, change.postings_after, change.receipts_before, change.receipts_after,
            change.login_before, change.login_after)


@pytest.mark.django_db(transaction=True)
def test_a_change_of_the_notices_chosen_is_recorded_by_the_database(owner_sql):
    """NOTE-1, NOTE-2, LEDGER-7 (notifications 0011, dbprobe25 F5): the app's role turned off
    入出金のお知らせ and nothing recorded it. Every change — through Ｅメール設定 or a DBA's
    UPDATE — is in the history, which the app's role only reads (42501 for a write); a bare
    one of the app's role is refused since notifications 0022 (CI311, dbprobe31 F5). Each its
    own transaction: changes that end where they began in one are refused (notifications 0015)."""
    customer = factories.customer(email="payer@example.jp")
    NoticePreference.objects.create(customer=customer)  # the defaults: nothing changed
    assert not NoticePreferenceChange.objects.filter(customer=customer).exists()
    factories.notices_chosen(customer, receipts=False, login=True)
    off = "UPDATE notifications_noticepreference SET postings = false WHERE customer_id = %s"
    assert refused(off, [customer.pk]) == "CI311"
    factories.notices_chosen(customer, postings=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user")
        app_role = cursor.fetchone()[0]
    service, behind = NoticePreferenceChange.objects.filter(customer=customer).order_by("id")
    assert _choices(service) == (True, True, True, False, False, True)
    assert _choices(behind) == (True, False, False, False, True, True) and behind.db_user == app_role
    assert behind.changes() == ["入出金のお知らせ：受け取る → 受け取らない"]
    # removed by a DBA: back to the defaults, recorded too (the app's role: CI311)
    assert refused("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [customer.pk]) == "CI311"
    owner_sql("DELETE FROM notifications_noticepreference WHERE customer_id = %s", [customer.pk])
    removed = NoticePreferenceChange.objects.filter(customer=customer).latest("id")
    assert _choices(removed) == (False, True, False, True, True, False) and removed.db_user != app_role
    for statement in ("UPDATE notifications_noticepreferencechange SET postings_after = true WHERE id = %s",
                      "DELETE FROM notifications_noticepreferencechange WHERE id = %s"):
        assert refused(statement, [behind.pk]) == "42501"
    assert refused("INSERT INTO notifications_noticepreferencechange (customer_id, postings_before, postings_after,"
                   " receipts_before, receipts_after, login_before, login_after, changed_at, xact_id, db_user)"
                   " VALUES (%s, false, true, true, true, false, false, now(), 0, 'x')", [customer.pk]) == "42501"
    assert NoticePreferenceChange.objects.filter(customer=customer).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_old_address_is_told_only_by_the_transaction_that_changed_it():
    """NOTE-2 (notifications 0010): a change committed earlier does not open the old
    address to later mails."""
    customer = factories.address_changed(factories.customer(email="old@example.jp"), "new@example.jp")
    assert refused(INSERT_MAIL, [customer.pk, "email_change", "old@example.jp"]) == "CI204"


def test_a_debit_notice_goes_unsent_only_for_a_customer_with_no_address(credit_notice):
    """NOTE-1, LEDGER-7 (notifications 0014, dbprobe26 F2): the app's role processed a
    notice into a 送信対象外 mail to no one although the customer had an address the
    service sends to — the ご入金／ご出金 alarm gone. A mail to no one is the notice's only
    when the address is one the service would not send to."""
    owner = credit_notice.account.customer
    # such a mail is not even written since notifications 0019 (CI243, dbprobe30 F2)
    assert refused(INSERT_SKIPPED, [owner.pk, "deposit", ""]) == SKIPPED
    for unusable in ("taro..yamada.@docomo.ne.jp", "山田@example.jp"):  # none of which the service sends to,
        assert not services.address_is_sendable(unusable)  # nor the database stores (accounts 0035, dbprobe29 F8)
        assert refused("UPDATE accounts_customer SET email = %s WHERE id = %s", [unusable, owner.pk]) == "23514"
    for unusable in ("",):
        factories.address_changed(owner, unusable)
        assert not services.address_is_sendable(unusable)
        with transaction.atomic():
            notice = PostingNotice.objects.get(entry__in=Entry.objects.filter(
                account=factories.account(owner=owner, balance=10_000)))
            PostingNotice.objects.filter(pk=notice.pk).update(
                processed_at=timezone.now(), message=_mail(owner, "deposit", "", "skipped"))


def test_the_service_never_leaves_unsent_a_mail_the_guard_wants_sent():
    """NOTE-1 (notifications 0014): the guard's pattern of a sendable address is inside the
    service's: every address the database would want mailed, the service mails — else the
    guard would refuse the service's own 送信対象外 mail and stop the notices behind it."""
    pattern = re.compile(importlib.import_module("notifications.migrations.0014_mail_delivery_held").SENDABLE)
    for address in ("a@example.jp", "taro.yamada+ib@docomo.ne.jp", "x_y%z@sub-1.example.co.jp", "A-B@EXAMPLE.COM",
                    f"{'a' * 64}@example.jp", "a@b.cd"):
        assert pattern.match(address) and services.address_is_sendable(address), address


def test_a_try_moves_the_attempts_by_one_and_the_next_try_stays_near(mail):
    """NOTE-3, LEDGER-7 (notifications 0014, dbprobe26 F3): the app's role parked a mail for
    ever (next try 'infinity') and kept its tries at 0. A try adds one; staff's 再送 alone
    puts them back to 0; the next try is at most an hour ahead of the database's clock."""
    update = "UPDATE notifications_outboxmessage SET attempts = %s WHERE id = %s"
    assert refused(update, [5, mail.pk]) == "CI204"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE notifications_outboxmessage SET attempts = 1, next_attempt_at = 'infinity'"
                       " WHERE id = %s", [mail.pk])
    assert refused(update, [0, mail.pk]) == "CI204"
    assert refused("UPDATE notifications_outboxmessage SET status = 'sent' WHERE id = %s", [mail.pk]) == "CI204"
    with connection.cursor() as cursor:
        cursor.execute("SELECT next_attempt_at <= clock_timestamp() + interval '1 hour' FROM"
                       " notifications_outboxmessage WHERE id = %s", [mail.pk])
        assert cursor.fetchone()[0]


def test_a_new_mail_is_due_now_and_has_no_control_characters():
    """NOTE-3 (notifications 0014, dbprobe26 F3): a mail inserted with its first try in
    'infinity' is due now; a subject with a line break (it stopped every outbox run) or an
    address with one is refused."""
    customer = factories.customer(email="a@example.jp")
    insert = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
              " next_attempt_at, created_at) VALUES (%s, 'transfer_accepted', %s, %s, 'b', 'pending', 0, %s, now())"
              " RETURNING next_attempt_at <= clock_timestamp()")
    assert refused(insert, [customer.pk, "a@example.jp", "お知らせ\nBcc: x@example.com", "now"]) == "CI204"
    assert refused(insert, [customer.pk, "a@example.jp\r", "お知らせ", "now"]) == "CI204"
    with connection.cursor() as cursor:
        cursor.execute(insert, [customer.pk, "a@example.jp", "お知らせ", "infinity"])
        assert cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_code_mail_needs_its_request_at_commit():
    """NOTE-2, LEDGER-7 (notifications 0014, dbprobe26 F11): the app's role wrote an
    address-change request, a signed 確認コード mail with any body to its address, and
    deleted the request — a bank mail to anyone, with no trace. At the commit the request
    the code mail belongs to must still be there."""
    customer = factories.customer(email="owner@example.jp")
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO notifications_emailchangerequest (customer_id, new_email, code_hash, failures,"
                       " expires_at, created_at) VALUES (%s, 'victim@example.com', 'x', 0, now() + interval '1 hour',"
                       " now())", [customer.pk])
        cursor.execute(INSERT_MAIL, [customer.pk, "email_verify", "victim@example.com"])
        cursor.execute("DELETE FROM notifications_emailchangerequest WHERE customer_id = %s", [customer.pk])
    # refused at once now: a request is never deleted (CI241, notifications 0016, dbprobe27 F6b)
    assert getattr(caught.value.__cause__, "sqlstate", None) == "CI241"
    assert not OutboxMessage.objects.filter(to="victim@example.com").exists()
    services.email_change_request(customer=customer, new_email="new@example.jp", ip=None)  # the service's own
    assert OutboxMessage.objects.filter(event="email_verify", to="new@example.jp").exists()


@pytest.mark.parametrize("delivery", [
    "status = 'sent', attempts = 1, sent_at = now()",   # the probe's: 送信済 at once
    "status = 'failed', attempts = 1",                  # 送信失敗 at once
    "attempts = 1",                                     # a failed try
])
def test_a_mail_leaves_its_state_only_after_the_commit_that_wrote_it(delivery, mail_delivered_apart_strict):
    """NOTE-1, LEDGER-7 (notifications 0018, dbprobe29 F6): the app's role wrote a 予約
    取消 mail and marked it 送信済 in the same transaction — CI229's "the customer was told"
    kept, the mail never sent. Only the sender moves a mail, in a transaction of its own."""
    customer = factories.customer(email="owner@example.jp")
    insert = (INSERT_MAIL, [customer.pk, "transfer_cancelled", "owner@example.jp"])
    move = (f"UPDATE notifications_outboxmessage SET {delivery} WHERE id = currval('notifications_outboxmessage_id_seq')",
            None)
    assert at_commit([insert, move]) == "CI242"
    assert at_commit([("SAVEPOINT s", None), insert, ("RELEASE SAVEPOINT s", None), move]) == "CI242"
    assert at_commit([insert]) is None


def test_a_mail_born_skipped_still_commits(mail_delivered_apart_strict):
    """notifications 0014: without a sendable address the service writes the mail 送信対象外
    at once — the state it is written in, kept at the commit."""
    nobody = factories.customer(email="")
    assert at_commit([(INSERT_MAIL.replace("'pending'", "'skipped'"), [nobody.pk, "transfer_cancelled", ""])]) is None
    with transaction.atomic(), connection.cursor() as cursor:
        mail = services.notice_enqueue(customer=nobody, event="transfer_cancelled", lines=["取消"])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        transaction.set_rollback(True)
    assert mail.status == OutboxMessage.Status.SKIPPED


@pytest.mark.django_db(transaction=True)
def test_the_sender_sends_a_mail_of_an_earlier_transaction(mail_delivered_apart_strict):
    """The real path commits: the service writes the mail, the sender sends it after."""
    customer = factories.customer(email="owner@example.jp")
    mail = services.notice_enqueue(customer=customer, event="transfer_cancelled", lines=["取消"])
    assert outbox_send_pending() == 1
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (OutboxMessage.Status.SENT, 1)


# --- dbprobe30 F2: 送信対象外 only where the service skips (notifications 0019, CI243) -------

SKIPPED = "CI243"
INSERT_SKIPPED = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
                  " next_attempt_at, created_at) VALUES (%s, %s, %s, 's', 'b', 'skipped', 0, now(), now())")


@pytest.mark.parametrize("event", ["transfer_cancelled", "transfer_unprocessed", "lockout", "unlock", "ib_resume"])
def test_a_notice_is_not_written_unsent_to_no_one_for_a_customer_with_an_address(event):
    """The review's path: the mail CI229/CI232/CI305 ask for, written 送信対象外 to '' for a
    customer with an address — the step kept on paper, the customer never told."""
    customer = factories.customer(email="yamada@example.jp")
    assert refused(INSERT_SKIPPED, [customer.pk, event, ""]) == SKIPPED
    assert refused(INSERT_SKIPPED, [customer.pk, event, "yamada@example.jp"]) == SKIPPED  # a security notice
    assert not OutboxMessage.objects.filter(customer=customer).exists()


def test_an_optional_notice_is_written_unsent_only_while_switched_off():
    customer = factories.customer(email="yamada@example.jp")
    for event in ("transfer_accepted", "payeasy_accepted", "withdrawal"):  # on by default
        assert refused(INSERT_SKIPPED, [customer.pk, event, "yamada@example.jp"]) == SKIPPED, event
    with connection.cursor() as cursor:  # ログインのお知らせ is off by default
        cursor.execute(INSERT_SKIPPED, [customer.pk, "login", "yamada@example.jp"])
    factories.notices_chosen(customer, postings=False, receipts=False, login=True)
    assert refused(INSERT_SKIPPED, [customer.pk, "login", "yamada@example.jp"]) == SKIPPED
    with connection.cursor() as cursor:
        for event in ("transfer_accepted", "withdrawal"):
            cursor.execute(INSERT_SKIPPED, [customer.pk, event, "yamada@example.jp"])
    assert OutboxMessage.objects.filter(customer=customer, status="skipped").count() == 3


def test_the_services_skips_still_go_in():
    """Without an address every notice is 送信対象外 to no one; with one, a notice switched
    off is 送信対象外 to it; the address-change mails to an unusable other address too."""
    nowhere = factories.customer(email="")
    assert services.notice_enqueue(customer=nowhere, event="password_change", lines=["x"]).status == "skipped"
    customer = factories.customer(email="yamada@example.jp")
    factories.notices_chosen(customer, receipts=False)
    skipped = services.notice_enqueue(customer=customer, event="transfer_accepted", lines=["x"])
    assert (skipped.status, skipped.to) == ("skipped", "yamada@example.jp")
    sent = services.notice_enqueue(customer=customer, event="password_change", lines=["x"])
    assert (sent.status, sent.to) == ("pending", "yamada@example.jp")
    with connection.cursor() as cursor:
        cursor.execute(INSERT_SKIPPED, [customer.pk, "email_change", ""])
