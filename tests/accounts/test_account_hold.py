"""LEDGER-7: a hold never exceeds the balance — staff get a message, the database a CHECK."""

import pytest

from accounts.models import Account
from accounts.services import AccountChangeRefused, account_admin_change
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import superuser_signed_in

pytestmark = pytest.mark.django_db


def test_staff_cannot_hold_more_than_the_balance():
    account = factories.account(balance=1_000)
    account.hold_amount = 1_001
    with pytest.raises(AccountChangeRefused) as refused:
        account_admin_change(account=account, changed=["hold_amount"], actor="madoguchi")
    assert refused.value.message == "拘束額は口座の残高（1,000円）以下で入力してください。"
    account.hold_amount = 1_000
    account_admin_change(account=account, changed=["hold_amount"], actor="madoguchi")
    account.refresh_from_db()
    assert (account.balance, account.hold_amount, account.available_amount) == (1_000, 1_000, 0)
    assert AuditEvent.objects.filter(action="account_change", actor="madoguchi").count() == 1


def test_saving_a_loaded_account_leaves_the_ledger_columns_alone():
    """The app's role may not UPDATE balance (LEDGER-7): save() writes the columns it may,
    status and hold (the names neither: dbprobe28 F8)."""
    account = factories.account(balance=500)
    stale = Account.objects.get(pk=account.pk)
    factories.deposit(account, 250)
    stale.hold_amount = 100
    stale.save()
    account.refresh_from_db()
    assert (account.hold_amount, account.balance) == (100, 750)


def _form_as_shown(client, url) -> dict:
    """What the browser posts back: every input of the change form as the page filled it."""
    import re

    page = client.get(url).content.decode()
    form = {name: value for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page)}
    form.pop("csrfmiddlewaretoken", None)
    form["status"] = re.search(r'<option value="([a-z]+)" selected>', page).group(1)
    return form


def test_a_second_staff_member_cannot_undo_a_hold_they_did_not_see():
    """LEDGER-7, STAFF-1 (review, session 19): two staff open the same account; the first
    puts a 拘束 of 5,000円, the second — whose page still shows 0円 — freezes the account.
    The second save sent 拘束額=0 as 'changed' and silently lifted the first one's hold
    (audited as 拘束額=0円, but nobody meant it). A save now carries what its page showed
    and is refused when the account changed meanwhile; nothing is written."""
    account = factories.account(balance=10_000)
    url = f"/admin/accounts/account/{account.pk}/change/"
    first, second = superuser_signed_in("root-1"), superuser_signed_in("root-2")
    first_form, second_form = _form_as_shown(first, url), _form_as_shown(second, url)
    assert first_form["status"] == "open" and first_form["hold_amount"] == "0"
    assert first.post(url, {**first_form, "hold_amount": "5000", "reason": "差押命令"}).status_code == 302
    response = second.post(url, {**second_form, "status": "frozen", "reason": "不正利用の届出"})
    assert response.status_code == 200
    assert "他の担当者がこの口座を変更しました" in response.content.decode()
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 5_000)
    assert list(AuditEvent.objects.filter(action="account_change").values_list("actor", flat=True)) == ["root-1"]
    # opened again, the second staff member sees the hold and may freeze the account
    again = _form_as_shown(second, url)
    assert again["hold_amount"] == "5000"
    assert second.post(url, {**again, "status": "frozen", "reason": "不正利用の届出"}).status_code == 302
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("frozen", 5_000)


def test_the_service_refuses_a_change_made_on_a_stale_page_under_the_lock():
    account = factories.account(balance=10_000)
    Account.objects.filter(pk=account.pk).update(hold_amount=5_000)  # by someone else, meanwhile
    account.status = Account.Status.FROZEN
    with pytest.raises(AccountChangeRefused) as refused:
        account_admin_change(account=account, changed=["status"], actor="madoguchi",
                             seen=(Account.Status.OPEN, 0))
    assert "他の担当者がこの口座を変更しました" in refused.value.message
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 5_000)
    assert not AuditEvent.objects.filter(action="account_change").exists()


@pytest.mark.parametrize(("hold", "message"), [
    ("-1", "拘束額は0円以上、1兆円以下で入力してください。"),
    ("10001", "拘束額は口座の残高（10,000円）以下で入力してください。"),
])
def test_a_refused_hold_says_why_once_and_in_japanese_only(hold, message):
    """STAFF-1, UI-1 (review, session 19): a negative hold got the Japanese message and
    Django's own 「制約 "account_hold_not_negative" に違反しています」 beside it — the
    database's constraint name is no message for branch staff."""
    account = factories.account(balance=10_000)
    url = f"/admin/accounts/account/{account.pk}/change/"
    client = superuser_signed_in("root-1")
    page = client.post(url, {**_form_as_shown(client, url), "hold_amount": hold}).content.decode()
    assert page.count(message) == 1
    assert "制約" not in page
    assert "account_hold_not_negative" not in page and "account_customer_balance_covers_hold" not in page
    account.refresh_from_db()
    assert account.hold_amount == 0


def test_a_save_refused_under_the_lock_reports_only_the_refusal(monkeypatch):
    """STAFF-1 (review, session 19): when another staff member's save lands between the
    form's check and the service's (a true race), the service refuses under the row lock
    — and admin said 「変更しました」 beside the error and logged a change that never
    happened. Now the page shows the refusal alone and admin's history has no entry."""
    from django.contrib.admin.models import LogEntry

    from accounts import admin as account_admin

    account = factories.account(balance=10_000)
    url = f"/admin/accounts/account/{account.pk}/change/"
    client = superuser_signed_in("root-2")
    form = _form_as_shown(client, url)
    real_change = account_admin.account_admin_change

    def another_save_lands_first(**kwargs):  # the other staff member's save, committed first
        other = Account.objects.get(pk=account.pk)
        other.hold_amount = 3_000
        real_change(account=other, changed=["hold_amount"], actor="root-1", seen=("open", 0))
        return real_change(**kwargs)

    monkeypatch.setattr(account_admin, "account_admin_change", another_save_lands_first)
    response = client.post(url, {**form, "status": "frozen", "reason": "不正利用の届出"}, follow=True)
    page = response.content.decode()
    assert "他の担当者がこの口座を変更しました" in page
    assert "を変更しました" not in page.replace("他の担当者がこの口座を変更しました", "")
    assert not LogEntry.objects.filter(object_id=str(account.pk)).exists()
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 3_000)


def test_the_customer_is_told_the_change_in_a_sentence():
    """NOTE-1, LEDGER-7 (walk25 F21): the notice read 「口座（普通 ***4567）の状態=支払停止に
    変更しました。」, a log line. It says 「状態を「支払停止」に」 / 「拘束額を1,000円に」."""
    from notifications.models import OutboxMessage

    account = factories.account(balance=5_000)
    masked = f"***{account.number[-4:]}"
    account.status = Account.Status.FROZEN
    account_admin_change(account=account, changed=["status"], actor="madoguchi")
    account.hold_amount = 1_000
    account_admin_change(account=account, changed=["hold_amount"], actor="madoguchi")
    account.status, account.hold_amount = Account.Status.OPEN, 0
    account_admin_change(account=account, changed=["status", "hold_amount"], actor="madoguchi")
    bodies = [message.body for message in OutboxMessage.objects.filter(event="account_change").order_by("id")]
    assert f"口座（普通 {masked}）の状態を「支払停止」に変更しました。" in bodies[0]
    assert f"口座（普通 {masked}）の拘束額を1,000円に変更しました。" in bodies[1]
    assert f"口座（普通 {masked}）の状態を「有効」に、拘束額を0円に変更しました。" in bodies[2]
    assert not any("=" in body.split("変更しました")[0].rsplit("\n", 1)[-1] for body in bodies)


@pytest.mark.parametrize("purpose", ["payeasy_collection", "fee_income", "stripe"])
def test_staff_see_the_banks_own_accounts_read_only(purpose):
    """LEDGER-7, STAFF-1 (dbprobe25 F2, accounts 0025): their status and hold are the owner's
    (CI111): the page shows them without a form, a POST changes nothing (403, not a 500),
    and the service says why."""
    account = Account.objects.filter(purpose=purpose).order_by("id").first()
    url = f"/admin/accounts/account/{account.pk}/change/"
    staff = superuser_signed_in("root-internal")
    page = staff.get(url)
    assert page.status_code == 200 and 'name="status"' not in page.content.decode()
    assert staff.post(url, {"status": "closed", "hold_amount": "0"}).status_code == 403
    account.status = Account.Status.CLOSED
    with pytest.raises(AccountChangeRefused) as refused:
        account_admin_change(account=account, changed=["status"], actor="madoguchi")
    assert "管理画面では変更できません" in refused.value.message
    account.refresh_from_db()
    assert account.status == Account.Status.OPEN
