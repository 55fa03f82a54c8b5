"""NOTE-3: the outbox worker retries a failed mail with a growing back-off, gives up only
after hours, and stops its run when the mail server looks down."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage

from notifications.models import OutboxMessage
from notifications.services import notice_enqueue
from notifications.tasks import BATCH, MAX_ATTEMPTS, outbox_drain, outbox_send, outbox_send_pending, retry_delay
from tests import factories

pytestmark = pytest.mark.django_db

TOKYO = dt.timezone(dt.timedelta(hours=9))
START = dt.datetime(2026, 11, 26, 10, 0, tzinfo=TOKYO)


@pytest.fixture
def mail_server_down(monkeypatch):
    calls = []

    def refuse(self, fail_silently=False):
        calls.append(self.to)
        raise OSError("connection refused")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    return calls


def _notice(email: str = "t@example.jp") -> OutboxMessage:
    customer = factories.customer(email=email)
    return notice_enqueue(customer=customer, event="password_change", lines=["ログインパスワードが変更されました。"])


def test_the_back_off_doubles_from_one_minute_up_to_an_hour():
    delays = [retry_delay(attempts) for attempts in range(1, MAX_ATTEMPTS)]
    assert delays[:4] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert max(delays) == dt.timedelta(hours=1)
    assert sum(delays, dt.timedelta()) >= dt.timedelta(hours=3)  # a short outage is survived


def test_an_outage_leaves_the_message_pending_with_a_future_retry(mail_server_down):
    with time_machine.travel(START, tick=False):
        message = _notice()
        assert outbox_send_pending() == 0
    assert len(mail_server_down) == 1  # tried once, not MAX_ATTEMPTS times in a loop
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at == START + dt.timedelta(minutes=1)
    assert mail.outbox == []


def test_a_message_is_not_retried_before_its_time(mail_server_down):
    with time_machine.travel(START, tick=False):
        message = _notice()
        outbox_send_pending()
    with time_machine.travel(START + dt.timedelta(seconds=59), tick=False):
        assert outbox_send_pending() == 0
    assert len(mail_server_down) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_after_the_outage_the_message_is_sent_exactly_once(monkeypatch, mail_server_down):
    with time_machine.travel(START, tick=False):
        message = _notice()
        outbox_send_pending()
    monkeypatch.undo()  # the mail server is back
    with time_machine.travel(START + dt.timedelta(minutes=1), tick=False):
        assert outbox_send_pending() == 1
        assert outbox_send_pending() == 0
    with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
        assert outbox_send_pending() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["t@example.jp"]
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT
    assert message.attempts == 2
    assert message.sent_at == START + dt.timedelta(minutes=1)


def test_the_message_fails_only_after_the_last_attempt(mail_server_down):
    now = START
    with time_machine.travel(now, tick=False):
        message = _notice()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with time_machine.travel(now, tick=False):
            outbox_send_pending()
        message.refresh_from_db()
        assert message.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert message.status == OutboxMessage.Status.PENDING
            assert message.next_attempt_at == now + retry_delay(attempt)
            now = message.next_attempt_at
    assert message.status == OutboxMessage.Status.FAILED
    assert now - START >= dt.timedelta(hours=3)
    with time_machine.travel(now + dt.timedelta(days=1), tick=False):
        outbox_send_pending()
    assert len(mail_server_down) == MAX_ATTEMPTS  # a failed message is never tried again
    assert mail.outbox == []


def test_a_failure_stops_the_run(mail_server_down):
    with time_machine.travel(START, tick=False):
        first = _notice("a@example.jp")
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        second = _notice("b@example.jp")
        assert outbox_send_pending() == 0
    assert mail_server_down == [["a@example.jp"]]  # the second is not tried against a dead server
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.attempts, second.attempts) == (1, 0)
    assert second.status == OutboxMessage.Status.PENDING


def _server_refusing(monkeypatch, address: str, error: Exception) -> list:
    """The SMTP server's answer for one address is ``error``; every other mail is sent (to
    the test outbox). Returns the list of recipients tried, in order."""
    send = EmailMessage.send
    tried = []

    def refuse_one(self, fail_silently=False):
        tried.append(self.to)
        if self.to == [address]:
            raise error
        return send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", refuse_one)
    return tried


def test_one_customers_refused_address_does_not_hold_back_the_others(monkeypatch):
    """NOTE-3 (review, session 19): the server answered but refused one recipient (a dead
    address): that message is retried later as any failure, but the run goes on — the
    other customers' notices are not held behind it until the next sweep."""
    import smtplib

    tried = _server_refusing(monkeypatch, "gone@example.jp",
                             smtplib.SMTPRecipientsRefused({"gone@example.jp": (550, b"5.1.1 user unknown")}))
    with time_machine.travel(START, tick=False):
        gone = _notice("gone@example.jp")
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        _notice("b@example.jp")
        _notice("c@example.jp")
        assert outbox_send_pending() == 2
    assert tried == [["gone@example.jp"], ["b@example.jp"], ["c@example.jp"]]
    assert sorted(message.to[0] for message in mail.outbox) == ["b@example.jp", "c@example.jp"]
    gone.refresh_from_db()
    assert (gone.status, gone.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert gone.next_attempt_at == START + dt.timedelta(seconds=1) + retry_delay(1)  # from the run


@pytest.mark.parametrize(("code", "goes_on"), [(554, True), (550, True), (421, False)])
def test_a_message_the_server_refuses_at_data_does_not_hold_back_the_others(monkeypatch, code, goes_on):
    """NOTE-3 (review2, session 19): a poison message — the server is up but refuses this
    one mail at DATA (554 content rejected by a carrier's filter, 550 policy) — is retried
    with the back-off, but the run goes on: with a few such messages due first, every run
    ended at the first of them and the other customers' notices waited minute after minute.
    421 (the server closing the connection) still ends the run."""
    import smtplib

    tried = _server_refusing(monkeypatch, "poison@example.jp", smtplib.SMTPDataError(code, b"5.7.1 message rejected"))
    with time_machine.travel(START, tick=False):
        poison = _notice("poison@example.jp")
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        _notice("b@example.jp")
        assert outbox_send_pending() == (1 if goes_on else 0)
    assert tried == ([["poison@example.jp"], ["b@example.jp"]] if goes_on else [["poison@example.jp"]])
    poison.refresh_from_db()
    assert (poison.status, poison.attempts) == (OutboxMessage.Status.PENDING, 1)


@pytest.mark.django_db(transaction=True, databases=["default", "owner"])
def test_a_message_that_cannot_be_built_fails_alone_and_the_run_goes_on():
    """NOTE-3 (dbprobe26 F3): rows with a line break in the subject are due first; each
    fails to build (BadHeaderError) — that says nothing of the server. It is failed at
    once, not retried for four hours, and the customers' notices behind it go out in the
    same run. The app's role can no longer write such a row (notifications 0014): the
    rows come from the owner here, as from a DBA's repair script."""
    from django.db import connections

    poison = []
    for index in range(3):
        customer = factories.customer(email=f"poison{index}@example.jp")
        subject = "お知らせ\nBcc: x@example.com"
        sealed = OutboxMessage(customer_id=customer.pk, event="password_change", to=customer.email, subject=subject,
                               body="本文").sealed_now()  # sealed: it fails as unbuildable, not as unsealed
        with connections["owner"].cursor() as cursor:
            cursor.execute("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status,"
                           " attempts, next_attempt_at, created_at, seal, seal_nonce) VALUES (%s, 'password_change',"
                           " %s, %s, '本文', 'pending', 0, %s, now(), %s, %s) RETURNING id",
                           [customer.pk, customer.email, subject, START, sealed.seal, sealed.seal_nonce])
            poison.append(cursor.fetchone()[0])
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        _notice("b@example.jp")
        assert outbox_send_pending() == 1
    assert [message.to for message in mail.outbox] == [["b@example.jp"]]
    assert set(OutboxMessage.objects.filter(pk__in=poison)
               .values_list("status", "attempts")) == {(OutboxMessage.Status.FAILED, 1)}


def test_a_healthy_run_sends_everything_due_oldest_first():
    with time_machine.travel(START, tick=False):
        _notice("a@example.jp")
        _notice("b@example.jp")
        factories.customer()  # no address: the notice is skipped, never sent
        assert outbox_send_pending() == 2
    assert [m.to for m in mail.outbox] == [["a@example.jp"], ["b@example.jp"]]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def _many_notices(count: int) -> None:
    customers = [factories.customer(email=f"many{index}@example.jp") for index in range(count)]
    with time_machine.travel(START, tick=False):
        for customer in customers:
            notice_enqueue(customer=customer, event="password_change", lines=["ログインパスワードが変更されました。"])


def test_one_run_drains_the_outbox_not_only_one_batch():
    # the 0:05 batch queues thousands of notices: a run sends them all, batch after batch
    _many_notices(2 * BATCH + 7)
    outbox_send()
    assert len(mail.outbox) == 2 * BATCH + 7
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_run_stops_when_its_time_is_up_after_at_least_one_batch():
    _many_notices(BATCH + 3)
    assert outbox_drain(seconds=0) == BATCH  # the rest waits for the next run
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == 3
    assert outbox_drain(seconds=0) == 3


def test_a_failure_ends_the_drain_too(mail_server_down):
    _many_notices(BATCH + 3)
    assert outbox_drain() == 0
    assert len(mail_server_down) == 1  # one attempt against the dead server, not one a batch


# --- dbprobe31 F1: only the app's own mails are signed and sent --------------------------------

PLANTED = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
           " next_attempt_at, created_at, seal) VALUES (%s, 'login', %s, %s, %s, 'pending', 0, %s, now(), %s)"
           " RETURNING id")


def test_a_mail_the_app_did_not_write_is_never_signed_nor_sent(caplog):
    """F1: one INSERT as the app's role put a phishing mail in the outbox, and the worker
    signed it as the bank and sent it to the customer's real address. Without the app's
    seal — none, or one copied from a real mail of the same customer onto another body —
    it is 送信失敗 with an error in the log; the app's own notice beside it goes out."""
    from django.db import connection

    with time_machine.travel(START, tick=False):
        real = _notice("victim@example.jp")
    planted = []
    # the real seal copied onto another body: refused at the INSERT now (dbprobe32 F1)
    assert _sqlstate(PLANTED, [real.customer_id, "victim@example.jp", real.subject, "https://evil.example/", START,
                               real.seal]) == "23505"
    with connection.cursor() as cursor:
        for seal in ("", "0" * 64):
            cursor.execute(PLANTED, [real.customer_id, "victim@example.jp", real.subject,
                                     "パスワードの再設定はこちら https://evil.example/", START, seal])
            planted.append(cursor.fetchone()[0])
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        assert outbox_send_pending() == 1
    assert [message.body for message in mail.outbox] == [real.body]
    assert set(OutboxMessage.objects.filter(pk__in=planted).values_list("status", "sent_at")) == {
        (OutboxMessage.Status.FAILED, None)}
    assert "is not sealed by the app" in caplog.text


def test_every_writer_seals_and_a_rotated_key_still_sends(settings):
    """The app's writers seal what they write (the notices of the scheduled batch too); a
    mail sealed under a key being rotated out (SECRET_KEY_FALLBACKS) still goes, one under
    a key no longer known does not."""
    from transfers.scheduled_records import notices_enqueue

    customer = factories.customer(email="seal@example.jp")
    written = [_notice("one@example.jp"), *notices_enqueue([(customer, "transfer_executed", ["受付番号 1"])])]
    assert all(message.is_sealed() for message in written)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "x" * 50, [old_key]
    assert all(OutboxMessage.objects.get(pk=message.pk).is_sealed() for message in written)
    settings.SECRET_KEY_FALLBACKS = []
    assert not any(OutboxMessage.objects.get(pk=message.pk).is_sealed() for message in written)


# --- dbprobe32 F1: a sealed mail is sealed once ------------------------------------------------

COPY = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, seal, seal_nonce, status,"
        " attempts, next_attempt_at, created_at) SELECT customer_id, event, \"to\", subject, body, seal, seal_nonce,"
        " 'pending', 0, now(), now() FROM notifications_outboxmessage WHERE id = %s")


def _sqlstate(sql, params):
    from django.db import DatabaseError, connection, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            transaction.set_rollback(True)
    except DatabaseError as error:
        return getattr(error.__cause__, "sqlstate", None)
    return None


def test_a_copy_of_a_sealed_mail_is_refused_at_its_insert():
    """The repro of dbprobe32 F1 (f_pref_replay.sql): ``INSERT … SELECT`` of an older sealed
    mail, seal and nonce included, as the app's role — refused at once (23505), so it cannot
    be the "told" mail of the attacker's transaction; with another nonce its seal is wrong."""
    with time_machine.travel(START, tick=False):
        real = _notice("victim@example.jp")
    assert len(real.seal_nonce) == 32 and real.is_sealed()
    assert _sqlstate(COPY, [real.pk]) == "23505"
    assert _sqlstate(COPY.replace("seal_nonce,\n", "").replace(", seal_nonce, 'pending'", ", md5(random()::text),"
                                                                " 'pending'"), [real.pk]) == "23505"


def test_two_mails_of_the_same_text_are_both_sealed_and_sent():
    """Two genuine mails saying exactly the same (two logins in the same minute) differ by
    their nonces: both are written and sent."""
    customer = factories.customer(email="twice@example.jp")
    with time_machine.travel(START, tick=False):
        first, second = (notice_enqueue(customer=customer, event="password_change", lines=["同じ本文"])
                         for _ in range(2))
        assert (first.body, first.subject) == (second.body, second.subject) and first.seal != second.seal
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        assert outbox_send_pending() == 2
    assert [message.to for message in mail.outbox] == [["twice@example.jp"]] * 2


@pytest.mark.parametrize("tamper", ["old_form", "nonce_changed", "body_changed", "no_nonce"])
def test_a_mail_not_sealed_once_by_the_app_is_never_sent(caplog, tamper):
    """A seal of 0021's form (no nonce), a nonce or a text other than the seal's: 送信失敗 and
    an error in the log, never signed nor sent; the app's notice beside it goes out."""
    from django.db import connection

    with time_machine.travel(START, tick=False):
        real = _notice("victim@example.jp")
    planted = OutboxMessage(customer_id=real.customer_id, event="login", to=real.to, subject=real.subject,
                            body="ログインがありました。").sealed_now()
    if tamper == "old_form":
        planted.seal_nonce = ""
        planted.seal = planted.seal_for()  # right as 0021 sealed it
    elif tamper == "nonce_changed":
        planted.seal_nonce = "0" * 32
    elif tamper == "body_changed":
        planted.body = "パスワードの再設定はこちら https://evil.example/"
    else:
        planted.seal_nonce = ""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status,"
                       " attempts, next_attempt_at, created_at, seal, seal_nonce) VALUES (%s, 'login', %s, %s, %s,"
                       " 'pending', 0, %s, now(), %s, %s) RETURNING id",
                       [real.customer_id, real.to, real.subject, planted.body, START, planted.seal, planted.seal_nonce])
        planted_id = cursor.fetchone()[0]
    with time_machine.travel(START + dt.timedelta(seconds=1), tick=False):
        assert outbox_send_pending() == 1
    assert [message.body for message in mail.outbox] == [real.body]
    assert OutboxMessage.objects.get(pk=planted_id).status == OutboxMessage.Status.FAILED
    assert "is not sealed by the app" in caplog.text
