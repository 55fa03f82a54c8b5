"""PAY-2, STAFF-1 (walk25 F1): branch staff (営業店担当者) add and edit billers and the
simulator's bills in admin; nobody deletes them (a biller with payments must stay), and odd
input gets a Japanese message, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from payeasy.models import Bill, Biller
from security.models import AuditEvent
from tests.payeasy import support
from tests.security.test_staff_admin import staff, staff_client, staff_signed_in, superuser_client  # noqa: F401

pytestmark = pytest.mark.django_db


def _biller_data(biller: Biller, **changes) -> dict:
    data = {"number": biller.number, "name": biller.name, "kind": biller.kind,
            "is_active": "on" if biller.is_active else "", "uses_confirmation": "on" if biller.uses_confirmation else "",
            "uses_category": "on" if biller.uses_category else "", "amount_type": biller.amount_type,
            "link_secret": "", "simulation": biller.simulation}  # the page never shows the key
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _errors(response, message: str) -> str:
    """The page staff read: the form again with ``message``, or — for a NUL byte anywhere in
    an admin request — the site's 400 page (security.staff_admin), never a 500."""
    if message == NUL:
        assert response.status_code == 400 and "管理画面へ" in response.content.decode()
        return message
    assert response.status_code == 200, response.status_code
    return response.content.decode()


NUL = "(NUL: the admin's 400 page)"


def test_branch_staff_open_and_change_a_biller(staff_client):  # noqa: F811
    support.seeded()
    biller = support.biller(support.MOBILE)
    assert staff_client.get("/admin/payeasy/biller/").status_code == 200
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    assert "収納機関名" in staff_client.get(url).content.decode()
    response = staff_client.post(url, _biller_data(biller, name="携帯電話料金（新）"))
    assert response.status_code == 302
    biller.refresh_from_db()
    assert biller.name == "携帯電話料金（新）"
    event = AuditEvent.objects.get(action="staff_biller_change", actor="staff-t")
    assert event.actor == "staff-t" and "収納機関名=携帯電話料金（新）" in event.summary
    assert staff_client.get("/admin/payeasy/bill/").status_code == 200
    assert staff_client.get("/admin/payeasy/payment/").status_code == 200
    assert staff_client.get("/admin/payeasy/payment/add/").status_code == 403


def test_the_audit_row_of_a_biller_change_reads_as_the_page(staff_client):  # noqa: F811
    """STAFF-1 (walk32 F3): the 操作ログ read 「種別=private」 and 「シミュレーターの応答=down」,
    the stored codes; it says what staff chose on the page."""
    support.seeded()
    biller = support.biller(support.MOBILE)
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    data = _biller_data(biller, kind=Biller.Kind.LOCAL, simulation=Biller.Simulation.DOWN)
    data.pop("is_active")  # 取扱中 unticked
    assert staff_client.post(url, data).status_code == 302
    summary = AuditEvent.objects.filter(action="staff_biller_change", actor="staff-t").latest("id").summary
    assert "種別=地方公共団体" in summary and "シミュレーターの応答=応答なし（障害の再現）" in summary
    assert "取扱中=いいえ" in summary and "=local" not in summary and "=down" not in summary


def test_the_link_signing_key_is_never_shown_and_kept_unless_replaced(staff_client):  # noqa: F811
    """SEC-13, PAY-4 (walk25 F25): the biller page rendered the 情報リンク HMAC key in clear
    (value="demo-link-secret-…"); whoever saw it could sign a 情報リンク for that biller,
    trusted without 確認番号. It is write-only: empty keeps it, a new one replaces it (16
    characters at least), 「署名鍵を削除する」 removes it — and the audit row never carries it."""
    support.seeded()
    biller = support.biller(support.MOBILE)
    Biller.objects.filter(pk=biller.pk).update(link_secret="old-secret-0123456789")
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    page = staff_client.get(url).content.decode()
    assert "old-secret-0123456789" not in page and "設定済みです（表示しません）" in page
    assert staff_client.post(url, _biller_data(biller, name="名称だけ変更")).status_code == 302
    assert Biller.objects.get(pk=biller.pk).link_secret == "old-secret-0123456789"
    response = staff_client.post(url, _biller_data(biller, link_secret="short"))
    assert "署名鍵は16文字以上で入力してください。" in response.content.decode()
    assert Biller.objects.get(pk=biller.pk).link_secret == "old-secret-0123456789"
    assert staff_client.post(url, _biller_data(biller, link_secret="new-secret-9876543210")).status_code == 302
    assert Biller.objects.get(pk=biller.pk).link_secret == "new-secret-9876543210"
    assert staff_client.post(url, _biller_data(biller, link_secret_remove="on")).status_code == 302
    assert Biller.objects.get(pk=biller.pk).link_secret == ""
    assert "未設定です" in staff_client.get(url).content.decode()
    summaries = " ".join(AuditEvent.objects.filter(action="staff_biller_change").values_list("summary", flat=True))
    assert "署名鍵=変更" in summaries
    assert "secret-" not in summaries


def test_staff_without_the_group_get_403_on_billers():
    support.seeded()
    user = get_user_model().objects.create_user(username="nogroup", password="x", is_staff=True)
    client = staff_signed_in(user, TOTPDevice.objects.create(user=user, name="t", confirmed=True))
    biller = support.biller(support.MOBILE)
    assert client.get("/admin/payeasy/biller/").status_code == 403
    assert client.get(f"/admin/payeasy/biller/{biller.pk}/change/").status_code == 403


def test_billers_and_bills_are_never_deleted_even_by_a_superuser(superuser_client, staff_client):  # noqa: F811
    support.seeded()
    biller = support.biller(support.TAX)
    bill = Bill.objects.filter(biller=biller).first()
    for client in (superuser_client, staff_client):
        assert client.post(f"/admin/payeasy/biller/{biller.pk}/delete/", {"post": "yes"}).status_code == 403
        assert client.post(f"/admin/payeasy/bill/{bill.pk}/delete/", {"post": "yes"}).status_code == 403
        listing = client.get("/admin/payeasy/biller/").content.decode()
        assert "delete_selected" not in listing
        response = client.post("/admin/payeasy/biller/", {"action": "delete_selected",
                                                          "_selected_action": [biller.pk], "post": "yes"})
        assert response.status_code in (200, 302)
    assert Biller.objects.filter(pk=biller.pk).exists() and Bill.objects.filter(pk=bill.pk).exists()


def test_a_biller_number_typed_in_full_width_digits_is_taken(staff_client):  # noqa: F811
    support.seeded()
    response = staff_client.post("/admin/payeasy/biller/add/", {
        "number": "９１２３４", "name": "テスト収納機関", "kind": "private", "amount_type": "fixed",
        "simulation": "normal", "is_active": "on"})
    assert response.status_code == 302
    assert Biller.objects.filter(number="91234").exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("number", "1234", "収納機関番号は5桁の数字で入力してください。"),
    ("number", "12a45", "収納機関番号は5桁の数字で入力してください。"),
    ("number", "1\x0045", NUL),
    ("name", "名\x00前", NUL),
    ("name", "あ" * 49, "48 文字以下"),
    ("number", "9" * 5000, "5 文字以下"),
    # walk26 F7: BEL reached the mail body, an emoji became 「?」 in the Shift_JIS CSV
    ("name", "<b>テスト</b>\x07", "収納機関名に使用できない文字（制御文字 U+0007）が含まれています。"),
    ("name", "テスト\u202e料金", "収納機関名に使用できない文字（制御文字 U+202E）が含まれています。"),
    ("name", "料金\u2028お知らせ", "収納機関名に使用できない文字（制御文字 U+2028）が含まれています。"),
    ("name", "<b>テスト</b>🙂", "収納機関名に使用できない文字「🙂」が含まれています。"),
    ("name", "𠮷野家", "収納機関名に使用できない文字「𠮷」が含まれています。"),
])
def test_odd_biller_input_gets_a_japanese_message(staff_client, field, value, message):  # noqa: F811
    support.seeded()
    biller = support.biller(support.MOBILE)
    before = Biller.objects.get(pk=biller.pk)
    page = _errors(staff_client.post(f"/admin/payeasy/biller/{biller.pk}/change/",
                                     _biller_data(biller, **{field: value})), message)
    assert message in page
    assert Biller.objects.get(pk=biller.pk).__dict__ | {"_state": None} == before.__dict__ | {"_state": None}


def _bill_data(biller: Biller, **changes) -> dict:
    data = {"biller": biller.pk, "number": "12345", "confirmation": "", "category": "", "description": "テスト請求",
            "payer_name": "テスト", "amount": "1000", "due_date": "2027-03-31", "status": "open"}
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


@pytest.mark.parametrize(("changes", "message"), [
    ({"amount": "9" * 30}, "金額は1,000,000,000,000円以下で入力してください。"),
    ({"amount": "9" * 5000}, "金額は半角数字（円）で入力してください。"),
    ({"amount": "12a"}, "金額は半角数字（円）で入力してください。"),
    ({"amount": "0"}, "金額は1円以上"),
    ({"number": "12\x0034"}, NUL),
    ({"description": "\x00"}, NUL),
    ({"number": "1" * 21}, "20 文字以下"),
    ({"due_date": "99999-01-01"}, "日付を正しく入力してください"),
    ({"description": "水道料金\x1b[31m"}, "請求内容に使用できない文字（制御文字 U+001B）が含まれています。"),
    ({"description": "水道料金💧"}, "請求内容に使用できない文字「💧」が含まれています。"),
    ({"payer_name": "山田\u200d太郎"}, "お名前に使用できない文字（制御文字 U+200D）が含まれています。"),
    ({"payer_name": "髙橋𠮷子"}, "お名前に使用できない文字「𠮷」が含まれています。"),
])
def test_odd_bill_input_gets_a_japanese_message(staff_client, changes, message):  # noqa: F811
    support.seeded()
    biller = support.biller(support.MOBILE)
    count = Bill.objects.count()
    assert message in _errors(staff_client.post("/admin/payeasy/bill/add/", _bill_data(biller, **changes)), message)
    assert Bill.objects.count() == count


def test_a_bill_typed_in_full_width_digits_is_taken(staff_client):  # noqa: F811
    support.seeded()
    biller = support.biller(support.MOBILE)
    response = staff_client.post("/admin/payeasy/bill/add/", _bill_data(biller, number="５５５６６", amount="２０００"))
    assert response.status_code == 302
    bill = Bill.objects.get(biller=biller, number="55566")
    assert bill.amount == 2000 and bill.due_date == dt.date(2027, 3, 31)


def test_what_customers_read_is_taken_in_cp932s_own_forms(staff_client):  # noqa: F811
    """PAY-2, STAFF-1 (walk26 F7): names and bill text staff type go to customers' pages,
    mail and the Shift_JIS CSV. Text cp932 holds is taken — 髙 and ① are in it, and 〜 −
    (what a Mac or a JIS-minded input method gives) are stored as cp932's ～ －, so the
    CSV shows them, not 「?」; HTML-like text is only text (the pages escape it)."""
    support.seeded()
    biller = support.biller(support.MOBILE)
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    assert staff_client.post(url, _biller_data(biller, name="<b>テスト</b>料金〜①")).status_code == 302
    assert Biller.objects.get(pk=biller.pk).name == "<b>テスト</b>料金～①"
    response = staff_client.post("/admin/payeasy/bill/add/", _bill_data(
        biller, description="12月分−基本料金", payer_name="髙橋 花子"))
    assert response.status_code == 302
    bill = Bill.objects.get(biller=biller, number="12345")
    assert (bill.description, bill.payer_name) == ("12月分－基本料金", "髙橋 花子")
    for text in (bill.description, bill.payer_name, Biller.objects.get(pk=biller.pk).name):
        assert text.encode("cp932").decode("cp932") == text
