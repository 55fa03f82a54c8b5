"""Staff (NOTE-3, STAFF-1): outbox messages by customer and event, read-only, with an
audited retry of failed ones; the address-change code is never shown to staff."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import OutboxMessage
from notifications.services import email_change_request, notice_enqueue
from notifications.tasks import outbox_send_pending
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import staff, staff_client  # noqa: F401 - the branch staff's admin session

pytestmark = pytest.mark.django_db


def test_staff_list_read_only_bodies_and_retry_a_failed_message(staff_client):
    customer = factories.customer(email="a@example.jp", name_kanji="通知 花子")
    failed = notice_enqueue(customer=customer, event="password_change", lines=["変更しました。"])
    OutboxMessage.objects.filter(pk=failed.pk).update(status="failed", attempts=1)
    sent = notice_enqueue(customer=customer, event="ib_resume", lines=["再開しました。"])
    OutboxMessage.objects.filter(pk=sent.pk).update(status="sent", attempts=1)
    email_change_request(customer=customer, new_email="b@example.jp", ip=None)
    verify = OutboxMessage.objects.get(event="email_verify")

    listing = staff_client.get(f"/admin/notifications/outboxmessage/?q={customer.contract_id}")
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "ログインパスワード変更のお知らせ" in page and "通知 花子" in page and "送信失敗" in page
    assert "送信失敗のメールを再送する" in page
    detail = staff_client.get(f"/admin/notifications/outboxmessage/{failed.pk}/change/").content.decode()
    assert "変更しました。" in detail and 'name="body"' not in detail  # read-only
    detail = staff_client.get(f"/admin/notifications/outboxmessage/{verify.pk}/change/").content.decode()
    assert "確認コードを含むため表示しません" in detail
    assert staff_client.post(f"/admin/notifications/outboxmessage/{failed.pk}/delete/").status_code == 403

    response = staff_client.post("/admin/notifications/outboxmessage/", {
        "action": "retry_failed", "_selected_action": [failed.pk, sent.pk]})
    assert response.status_code == 302
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
    assert sent.status == "sent"  # only failed ones move
    audit = AuditEvent.objects.get(action="outbox_retry")
    assert audit.actor == "staff-t" and audit.customer == customer
    mail.outbox.clear()
    outbox_send_pending()
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.jp", "b@example.jp"]  # retried + code


def test_the_outbox_list_and_page_label_every_column_and_field_in_japanese(staff_client):
    """UI-1, STAFF-1: the list's headings read CREATED AT, TO, STATUS, ATTEMPTS, SENT AT and
    the message's page To:, Subject:, Next attempt at: (the fields had no Japanese name)."""
    import re

    customer = factories.customer(email="a@example.jp")
    message = notice_enqueue(customer=customer, event="password_change", lines=["変更しました。"])
    listing = staff_client.get("/admin/notifications/outboxmessage/").content.decode()
    headings = re.findall(r'<div class="text">(?:<a [^>]*>|<span>)([^<]*)<', listing)
    for label in ("作成日時", "契約者", "種類", "宛先", "状態"):  # 送信試行回数・送信日時 on the page
        assert label in headings
    assert "status で絞り込む" not in listing and "状態 で絞り込む" in listing
    detail = staff_client.get(f"/admin/notifications/outboxmessage/{message.pk}/change/").content.decode()
    labels = re.findall(r"<label>([^<]*):</label>", detail)
    assert {"契約者", "宛先", "件名", "本文", "状態", "送信試行回数", "次回送信予定", "作成日時", "送信日時"} <= set(labels)
    assert not [label for label in labels if re.fullmatch(r"[A-Za-z ]+", label)]


def test_a_message_is_named_in_japanese_on_its_page_and_in_the_list(staff_client):
    """NOTE-3, STAFF-1: the message's page was titled 「email_verify → 1000000001 (sent)」
    (and the list's checkboxes labelled so): its kind, 契約者ID and 状態 in Japanese."""
    customer = factories.customer(email="a@example.jp")
    email_change_request(customer=customer, new_email="b@example.jp", ip=None)
    message = OutboxMessage.objects.get(event="email_verify")
    OutboxMessage.objects.filter(pk=message.pk).update(status="sent", attempts=1)
    message.refresh_from_db()
    name = f"Ｅメールアドレス確認コードのお知らせ → {customer.contract_id}（送信済）"
    assert str(message) == name
    detail = staff_client.get(f"/admin/notifications/outboxmessage/{message.pk}/change/").content.decode()
    assert name in detail and "email_verify →" not in detail and "(sent)" not in detail
    listing = staff_client.get("/admin/notifications/outboxmessage/").content.decode()
    assert f'aria-label="アクション用にこのオブジェクトを選択 - {name}"' in listing
    assert "email_verify →" not in listing and "(sent)" not in listing


def test_staff_read_the_address_history_the_database_recorded(staff_client):
    """NOTE-2, STAFF-1 (dbprobe25 F5): every change of a registered address is recorded by
    the database (notifications 0010); branch staff read it, read-only — also a DBA's change
    (the app's role changes an address only through Ｅメール設定 since notifications 0022)."""
    customer = factories.customer(email="before@example.jp", name_kanji="履歴 花子")
    factories.address_changed(customer, "after@example.jp")
    listing = staff_client.get(f"/admin/notifications/emailaddresschange/?q={customer.contract_id}")
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "履歴 花子" in page and "before@example.jp" in page and "after@example.jp" in page
    assert staff_client.get("/admin/notifications/emailaddresschange/add/").status_code == 403
    from notifications.models import EmailAddressChange

    row = EmailAddressChange.objects.get(customer=customer, new_email="after@example.jp")
    detail = staff_client.get(f"/admin/notifications/emailaddresschange/{row.pk}/change/")
    assert detail.status_code == 200 and 'name="new_email"' not in detail.content.decode()
    # walk26 F12: titled by whose change and when, not 「EmailAddressChange object (1)」
    assert f"<h2>{changed_title(row, 'アドレス変更')}</h2>" in detail.content.decode()
    assert "object (" not in detail.content.decode()
    assert staff_client.post(f"/admin/notifications/emailaddresschange/{row.pk}/delete/").status_code == 403


def test_staff_read_the_history_of_notices_chosen_the_database_recorded(staff_client):
    """NOTE-2, STAFF-1 (dbprobe25 F5): 入出金のお知らせ turned off — through Ｅメール設定 or
    behind the customer's back — is recorded by the database (notifications 0011); branch
    staff read it beside アドレス変更履歴, read-only."""
    from notifications.models import NoticePreferenceChange

    customer = factories.customer(email="a@example.jp", name_kanji="設定 花子")
    factories.notices_chosen(customer, postings=False)
    index = staff_client.get("/admin/").content.decode()
    assert "通知設定の変更履歴" in index and "アドレス変更履歴" in index
    listing = staff_client.get(f"/admin/notifications/noticepreferencechange/?q={customer.contract_id}")
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "設定 花子" in page and "入出金のお知らせ：受け取る → 受け取らない" in page
    assert "変更内容" in page and "DBユーザー" in page
    assert staff_client.get("/admin/notifications/noticepreferencechange/add/").status_code == 403
    row = NoticePreferenceChange.objects.get(customer=customer)
    detail = staff_client.get(f"/admin/notifications/noticepreferencechange/{row.pk}/change/")
    assert detail.status_code == 200 and 'name="postings_after"' not in detail.content.decode()
    assert f"<h2>{changed_title(row, '通知設定の変更')}</h2>" in detail.content.decode()
    assert "object (" not in detail.content.decode()
    assert staff_client.post(f"/admin/notifications/noticepreferencechange/{row.pk}/delete/").status_code == 403
    assert NoticePreferenceChange.objects.filter(pk=row.pk).exists()



def changed_title(row, label: str) -> str:
    """「1000000001 アドレス変更（2026年12月7日 19:15:02）」: the 契約者ID, what, and when by
    the database's clock in Japan time (walk26 F12)."""
    from django.utils import timezone

    when = timezone.localtime(row.changed_at)
    assert when.utcoffset().total_seconds() == 9 * 3600
    return f"{row.customer.contract_id} {label}（{when:%Y}年{when.month}月{when.day}日 {when:%H:%M:%S}）"
