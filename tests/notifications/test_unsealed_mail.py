"""NOTE-1, NOTE-3, NOTE-4 (outside review dbprobe32 F1): a mail the app did not seal (written by
SQL as the app's role) is never sent as written; for an event the "the customer was told" rules
count, the event's fixed notice is signed and sent in its place — to the customer's address, or
an old one the database recorded — and /health/ reports the mail."""

from __future__ import annotations

import logging
import re

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import F

from notifications.models import TOLD_EVENTS, OutboxMessage
from notifications.selectors import unsealed_mails_count
from notifications.services import notice_enqueue, unsealed_notice
from notifications.tasks import outbox_send_pending
from tests import factories

pytestmark = pytest.mark.django_db

PHISHING = "パスワードの再設定はこちら https://evil.example/"
PLANTED = ("INSERT INTO notifications_outboxmessage (customer_id, event, \"to\", subject, body, status, attempts,"
           " next_attempt_at, created_at) VALUES (%s, %s, %s, '【大阪厚生信金】重要', %s, 'pending', 0, now(), now())"
           " RETURNING id")


def planted(customer, event: str, to: str) -> int:
    """An unsealed mail written by one INSERT as the app's role (dbprobe31 F1's class)."""
    with connection.cursor() as cursor:
        cursor.execute(PLANTED, [customer.pk, event, to, PHISHING])
        return cursor.fetchone()[0]


def test_an_unsealed_mail_of_a_told_event_is_replaced_by_its_fixed_notice(caplog):
    """An unsealed 「Ｅメール設定変更」 mail to the customer's address: the customer gets the
    event's fixed notice, signed, with nothing of the row (no link, no subject, no name); the
    row is 送信失敗 and the log says why."""
    customer = factories.customer(email="yamada@example.jp", name_kanji="偽名https://evil.example/")
    mail_id = planted(customer, "email_change", "yamada@example.jp")
    with caplog.at_level(logging.ERROR, logger="notifications.tasks"):
        assert outbox_send_pending() == 0  # the row's own text is not sent
    [sent] = mail.outbox
    assert sent.to == ["yamada@example.jp"] and sent.subject == "【大阪厚生信金】Ｅメール設定変更のお知らせ"
    assert "ご登録内容の変更またはお取引（Ｅメール設定変更）がありました。" in sent.body
    assert "お心当たりのない場合は、至急お取引店またはお問い合わせ窓口までご連絡ください。" in sent.body
    assert "0120-054-852" in sent.body  # the bank's contact, as in every mail
    assert "evil.example" not in sent.body and "重要" not in sent.subject and "偽名" not in sent.body
    assert b"multipart/signed" in sent.message().as_bytes()  # NOTE-4: signed like the others
    message = OutboxMessage.objects.get(pk=mail_id)
    assert (message.status, message.attempts, message.sent_at) == (OutboxMessage.Status.FAILED, 1, None)
    assert f"mail {mail_id} to customer {customer.pk} is not sealed by the app" in caplog.text
    assert "fixed notice of email_change is sent in its place" in caplog.text


def test_an_old_address_the_database_recorded_is_told_too():
    """The old mailbox of an address change (アドレス変更履歴) gets the fixed notice: what the
    address rule (CI310) counts as "the old address was told"."""
    customer = factories.customer(email="old@example.jp")
    factories.address_changed(customer, "new@example.jp")
    planted(customer, "email_change", "OLD@example.jp")  # the guard lets the change's own transaction write it
    assert outbox_send_pending() == 3  # the service's code mail and its mails to the old and new address
    fixed = [sent for sent in mail.outbox if "ご登録内容の変更またはお取引" in sent.body]
    assert [(sent.to, sent.subject) for sent in fixed] == [(["OLD@example.jp"], "【大阪厚生信金】Ｅメール設定変更のお知らせ")]


def test_only_the_customers_addresses_get_a_fixed_notice():
    """An address the customer never had (a row the owner wrote, or the customer's changed by a
    DBA with no record — never, 0010 records every change) gets nothing."""
    customer = factories.customer(email="yamada@example.jp")
    written = OutboxMessage(customer=customer, event="password_change", to="stranger@example.jp", subject="s",
                            body=PHISHING)
    assert unsealed_notice(written) is None
    written.to = "Yamada@Example.JP"
    assert unsealed_notice(written)[0] == "【大阪厚生信金】ログインパスワード変更のお知らせ"
    written.to = ""
    assert unsealed_notice(written) is None


def test_an_unsealed_mail_of_another_event_is_still_not_sent(caplog):
    """A 入出金 or ログイン mail tells no rule anything: 送信失敗, nothing sent, as before."""
    customer = factories.customer(email="yamada@example.jp")
    ids = [planted(customer, event, "yamada@example.jp") for event in ("login", "deposit", "email_verify")]
    assert outbox_send_pending() == 0
    assert mail.outbox == []
    assert set(OutboxMessage.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"failed"}
    assert caplog.text.count("is not sealed by the app (written by SQL?): not sent\n") == 3


def test_a_fixed_notice_waits_for_the_server_as_any_mail(monkeypatch):
    customer = factories.customer(email="yamada@example.jp")
    mail_id = planted(customer, "passkey_add", "yamada@example.jp")

    def refuse(self, fail_silently=False):
        raise OSError("connection refused")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    assert outbox_send_pending() == 0
    message = OutboxMessage.objects.get(pk=mail_id)
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert unsealed_mails_count() == 1  # its fixed notice waits: reported meanwhile


def test_the_sealed_mails_are_sent_as_written():
    customer = factories.customer(email="yamada@example.jp")
    notice_enqueue(customer=customer, event="password_change", lines=["ログインパスワードを変更しました。"])
    assert outbox_send_pending() == 1
    assert "ログインパスワードを変更しました。" in mail.outbox[0].body
    assert unsealed_mails_count() == 0


def test_every_event_a_told_rule_counts_is_a_told_event():
    """TOLD_EVENTS is the events the database's told-functions read (``m.event`` of a mail of the
    transaction, or the batch's ``v_event``) — but the address change's code mail, which tells
    nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                       " WHERE n.nspname = 'public' AND p.prosrc LIKE '%notifications_outboxmessage m%'")
        sources = [row[0] for row in cursor.fetchall()]
    counted = set()
    for source in sources:
        counted |= set(re.findall(r"m\.event = '(\w+)'", source)) | set(re.findall(r"v_event := '(\w+)'", source))
        for listed in re.findall(r"m\.event IN \(([^)]*)\)", source):
            counted |= set(re.findall(r"'(\w+)'", listed))
    assert counted - {"email_verify"} == TOLD_EVENTS


# --- /health/ ------------------------------------------------------------------------------------

def test_health_reports_an_unsealed_mail(client, no_job_waiting):
    customer = factories.customer(email="yamada@example.jp")
    health = client.get("/health/").json()
    assert health["status"] == "ok" and health["mail_unsealed"] == 0
    planted(customer, "login", "yamada@example.jp")
    planted(customer, "email_change", "yamada@example.jp")
    health = client.get("/health/").json()
    assert health["status"] == "ok" and health["mail_unsealed"] == 0, "not yet tried: the sender's to judge"
    outbox_send_pending()
    response = client.get("/health/")
    health = response.json()
    assert response.status_code == 200 and health["status"] == "error" and health["mail_unsealed"] == 2
    assert health["database"] == "ok"


def test_health_does_not_count_a_sealed_mail_that_failed(client, no_job_waiting):
    customer = factories.customer(email="yamada@example.jp")
    written = notice_enqueue(customer=customer, event="password_change", lines=["変更しました。"])
    OutboxMessage.objects.filter(pk=written.pk).update(status=OutboxMessage.Status.FAILED,
                                                           attempts=F("attempts") + 1)
    health = client.get("/health/").json()
    assert health["status"] == "ok" and health["mail_unsealed"] == 0


def test_one_fixed_notice_a_day_per_customer_and_event():
    """review33 F3: every forged row was one more signed 「お心当たりのない場合は至急ご連絡」
    mail, as many as the writer liked. One fixed notice per customer and event a day; every
    row stays 送信失敗 and /health/ counts them all."""
    customer = factories.customer(email="yamada@example.jp")
    rows = [planted(customer, "email_change", "yamada@example.jp") for _ in range(5)]
    planted(customer, "password_change", "yamada@example.jp")
    outbox_send_pending()
    fixed = [sent.subject for sent in mail.outbox if "ご登録内容の変更またはお取引" in sent.body]
    assert sorted(fixed) == sorted(["【大阪厚生信金】Ｅメール設定変更のお知らせ", "【大阪厚生信金】ログインパスワード変更のお知らせ"])
    assert set(OutboxMessage.objects.filter(pk__in=rows).values_list("status", flat=True)) == {"failed"}
    assert unsealed_mails_count() == 6
