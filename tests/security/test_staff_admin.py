"""STAFF-1: branch staff in Django admin — password + OTP, exact permissions, audited
actions with reasons, ledger read-only."""

from __future__ import annotations

import re

import pyotp
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, Customer, Entry, Journal
from accounts.roles import BRANCH_STAFF_GROUP, BRANCH_STAFF_PERMISSIONS, branch_staff_group_ensure
from notifications.models import OutboxMessage
from security.models import AuditEvent, Credential, CredentialLockChange
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    user = get_user_model().objects.create_user(username="staff-t", password="Staff-pass-1", is_staff=True)
    user.groups.add(branch_staff_group_ensure())
    device = TOTPDevice.objects.create(user=user, name="t", confirmed=True)
    return user, device


@pytest.fixture
def staff_client(staff):
    return staff_signed_in(*staff)


def staff_signed_in(user, device) -> Client:
    """A client signed in to admin as ``user`` (password and OTP done) at the clock's now."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def test_admin_needs_password_and_otp(staff):
    user, device = staff
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "staff-t", "password": "Staff-pass-1"})
    assert response.status_code == 200  # no OTP: still on the login page
    assert client.get("/admin/").status_code == 302
    code = pyotp.TOTP(device.config_url.split("secret=")[1].split("&")[0]).now()
    response = client.post("/admin/login/?next=/admin/", {"username": "staff-t", "password": "Staff-pass-1",
                                                            "otp_token": "000000" if code != "000000" else "111111"})
    assert "ワンタイムパスワードが正しくありません" in response.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp slows guessing down
    device.throttle_reset()  # as if the back-off had passed
    # one registered device: no device list to pick from, the code alone is enough
    response = client.post("/admin/login/?next=/admin/", {
        "username": "staff-t", "password": "Staff-pass-1", "otp_token": code})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_admin_pages_carry_the_bank_icon_and_title(staff_client):
    """Every admin page (the login page too) names the bank's icon: without it the browser
    asked for /favicon.ico on each page and got a 404 (found walking the demo)."""
    for client, path in ((Client(), "/admin/login/"), (staff_client, "/admin/"),
                         (staff_client, "/admin/accounts/account/")):
        html = client.get(path).content.decode()
        assert 'rel="icon" href="/static/img/favicon' in html, path
        assert "<title>" in html and "</title>" in html


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/admin/", "/", "", "/admin/security/"])
def test_admin_login_with_an_unsafe_next_lands_in_admin(staff, next_url):
    """Issue 7: an unsafe ``next`` ended on /accounts/profile/ (404); off-admin ones on a
    customer page. Staff land on the admin index, or the admin page they asked for."""
    user, device = staff
    code = pyotp.TOTP(device.config_url.split("secret=")[1].split("&")[0]).now()
    response = Client().post(f"/admin/login/?next={next_url}", {
        "username": "staff-t", "password": "Staff-pass-1", "otp_token": code})
    assert response.status_code == 302
    assert response.url == (next_url if next_url == "/admin/security/" else "/admin/")


def test_branch_staff_group_has_exactly_its_permissions():
    group = branch_staff_group_ensure()
    assert group.name == BRANCH_STAFF_GROUP
    actual = {(p.content_type.app_label, p.codename) for p in group.permissions.all()}
    assert actual == set(BRANCH_STAFF_PERMISSIONS)
    # STAFF-1: never a ledger row: Django's add/change/delete only on what staff manage — billers
    # and bills (PAY-2, never deleted) and the bank's closing days (LEDGER-6, a future one deleted)
    generic = {(app, code) for app, code in actual if code.startswith(("change_", "delete_", "add_"))}
    assert {(app, code.split("_", 1)[1]) for app, code in generic} <= {
        ("payeasy", "biller"), ("payeasy", "bill"), ("accounts", "bankclosingday")}
    assert {code for _, code in generic if code.startswith("delete_")} == {"delete_bankclosingday"}


def test_staff_finds_and_unlocks_with_a_reason(staff_client):
    customer = factories.customer(name_kanji="検索 太郎", email="k@example.jp")
    factories.credential_locked(customer, "image_card", locked_at="2026-01-01T00:00:00+09:00")
    found = staff_client.get("/admin/accounts/customer/?q=検索").content.decode()
    assert customer.contract_id in found
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    response = staff_client.post(url, {"kind": "image_card", "reason": ""})
    assert "理由を入力してください。" in response.content.decode()
    assert Credential.objects.get(customer=customer).is_locked
    response = staff_client.post(url, {"kind": "image_card", "reason": "運転免許証で本人確認",
                                       "nonce": _nonce(staff_client, url)})
    assert response.status_code == 302
    credential = Credential.objects.get(customer=customer)
    assert not credential.is_locked and credential.failures == 0
    event = AuditEvent.objects.get(customer=customer, action="unlock")
    assert event.actor == "staff-t" and "運転免許証" in event.summary
    assert OutboxMessage.objects.filter(customer=customer, event="unlock").exists()


@pytest.mark.parametrize("reason", ["\x07", " \x07 ", "\u200b", "本人確認\x1b[2J"])
@pytest.mark.parametrize("action", ["unlock", "suspend", "resume", "initial-password", "card/issue"])
def test_a_reason_of_control_characters_is_refused(staff_client, action, reason):
    """STAFF-1 (walk27 F6): a lone BEL passed as the required reason — the lock was lifted,
    a password issued, and the 操作ログ read 「\\x07」. Every staff reason is checked as the
    other staff text (cosei_ib/textinput.py): refused with the character named, nothing done."""
    customer = suspended_customer() if action == "resume" else factories.customer()
    if action == "unlock":
        factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/{action}/"
    page = staff_client.get(url).content.decode()
    nonce = re.search(r'name="nonce" value="([^"]+)"', page)
    written = AuditEvent.objects.filter(customer=customer).count()
    response = staff_client.post(url, {"kind": "password", "reason": reason,
                                       **({"nonce": nonce[1]} if nonce else {})})
    assert response.status_code == 200
    assert "理由に使用できない文字（制御文字 U+" in response.content.decode()
    assert AuditEvent.objects.filter(customer=customer).count() == written  # nothing done
    customer.refresh_from_db()
    assert customer.status == ("suspended" if action == "resume" else "active")


def suspended_customer(**kwargs) -> Customer:
    customer = factories.suspended(factories.customer(**kwargs))
    customer.refresh_from_db()
    return customer


def test_staff_resumes_suspended_ib(staff_client):
    customer = suspended_customer()
    url = f"/admin/accounts/customer/{customer.pk}/resume/"
    response = staff_client.post(url, {"reason": "本人来店", "nonce": _nonce(staff_client, url)})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.status == "active"
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume", actor="staff-t").exists()
    assert customer.user.check_password("Init1234")  # nobody guessed: the password stays


def test_resume_page_shows_no_label_for_its_hidden_count(staff_client):
    """STAFF-1, UI-1: the IB取引再開 page is all Japanese — the hidden count of wrong
    passwords the page showed carried Django's English label 「Guesses seen:」 as a row of
    its own (walk of session 20)."""
    customer = suspended_customer()
    page = staff_client.get(f"/admin/accounts/customer/{customer.pk}/resume/").content.decode()
    assert 'name="guesses_seen"' in page
    assert "Guesses" not in page and 'for="id_guesses_seen"' not in page
    assert "理由（本人確認の方法など）" in page


def test_resume_after_guesses_during_the_suspension_issues_a_new_password(staff_client):
    """SEC-8/SEC-10: wrong passwords typed while suspended are counted, staff see the count
    before resuming, and the resume then issues a new initial password on a slip."""
    from security.services import login_authenticate

    customer = suspended_customer(password="Pass1234")
    for guess in ("Guess001", "Guess002", "Pass1234"):  # the right one is not a failure
        assert login_authenticate(contract_id=customer.contract_id, password=guess, ip=None).error
    url = f"/admin/accounts/customer/{customer.pk}/resume/"
    page = staff_client.get(url).content.decode()
    assert "ログインパスワードの誤入力が2回ありました" in page
    assert "IB取引中止中の失敗 2 回" in staff_client.get(
        f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    # a guess after the page was shown: the resume is refused, the page shows the new count
    login_authenticate(contract_id=customer.contract_id, password="Guess003", ip=None)
    nonce = _nonce(staff_client, url)
    response = staff_client.post(url, {"reason": "本人来店", "guesses_seen": "2", "nonce": nonce})
    assert "回数を確認して" in response.content.decode() and 'value="3"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.status == "suspended"

    # the refusal used up nothing (probe35 F2): the form's nonce still resumes
    response = staff_client.post(url, {"reason": "本人来店", "guesses_seen": "3", "nonce": nonce})
    html = response.content.decode()
    password = html.split('class="initial-password">')[1].split("<")[0]
    assert "no-store" in response["Cache-Control"]
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.status == "active" and customer.password_is_initial
    assert customer.user.check_password(password) and not customer.user.check_password("Pass1234")
    credential = Credential.objects.get(customer=customer, kind="password")
    assert credential.failures == 0 and credential.failures_while_suspended == 0
    resume = AuditEvent.objects.get(customer=customer, action="ib_resume")
    assert "中止中のパスワード誤り3回" in resume.summary and resume.actor == "staff-t"
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1
    assert set(OutboxMessage.objects.filter(customer=customer).values_list("event", flat=True)) >= {
        "ib_resume", "initial_password_issue"}
    # the slip posted again (reload) resumes and issues nothing more, and says so
    again = staff_client.post(url, {"reason": "本人来店", "guesses_seen": "3", "nonce": nonce})
    assert again.status_code == 302 and "このIB取引再開は処理済みです" in staff_client.get(again.url).content.decode()
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume").count() == 1


def test_new_initial_password_is_shown_once_and_forces_change(staff_client):
    customer = factories.customer(password="Old12345", password_is_initial=False)
    url = f"/admin/accounts/customer/{customer.pk}/initial-password/"
    response = staff_client.post(url, {"reason": "パスワード失念", "nonce": _nonce(staff_client, url)})
    html = response.content.decode()
    password = html.split('class="initial-password">')[1].split("<")[0]
    assert len(password) == 10 and "no-store" in response["Cache-Control"]
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.password_is_initial and customer.user.check_password(password)
    assert password not in str(list(AuditEvent.objects.values_list("summary", flat=True)))


def counter_deposit_confirm_fields(html: str) -> dict:
    """The hidden fields of the 窓口入金 confirm page's form (walk27 F2)."""
    return dict(re.findall(r'<input type="hidden" name="(amount|reference|token)" value="([^"]*)"', html))


def counter_deposit_in_admin(client, account, amount: str, reference: str):
    """窓口入金 as staff do it (walk27 F2): the amount and slip, then the confirm page's submit."""
    url = f"/admin/accounts/account/{account.pk}/deposit/"
    shown = client.post(url, {"amount": amount, "reference": reference}).content.decode()
    fields = counter_deposit_confirm_fields(shown)
    assert "token" in fields and "窓口入金の確認" in shown, shown
    return client.post(url, fields)


def test_counter_deposit_posts_once_per_slip(staff_client):
    account = factories.account(balance=1_000)
    url = f"/admin/accounts/account/{account.pk}/deposit/"
    assert "1円以上" in staff_client.post(url, {"amount": "0", "reference": "A1"}).content.decode()
    assert "数字で" in staff_client.post(url, {"amount": "abc", "reference": "A1"}).content.decode()
    assert counter_deposit_in_admin(staff_client, account, "５０，０００", "A1").status_code == 302
    again = staff_client.post(url, {"amount": "50000", "reference": "A1"})  # the same slip again
    assert "この伝票番号の入金は記帳済みです" in again.content.decode() and 'name="token"' not in again.content.decode()
    account.refresh_from_db()
    assert account.balance == 51_000
    assert AuditEvent.objects.filter(action="counter_deposit", actor="staff-t").count() == 1


def test_ledger_is_read_only_even_for_superusers(staff_client):
    factories.account(balance=500)
    admin = get_user_model().objects.create_superuser("root-t", password="x")
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin, name="r").persistent_id
    session.save()
    journal = Journal.objects.first()
    entry = Entry.objects.first()
    for url in (f"/admin/accounts/journal/{journal.pk}/delete/", f"/admin/accounts/entry/{entry.pk}/delete/",
                "/admin/accounts/journal/add/"):
        assert client.get(url).status_code == 403
    page = client.get(f"/admin/accounts/entry/{entry.pk}/change/")
    assert page.status_code == 200 and 'name="amount"' not in page.content.decode()


def test_staff_cannot_see_otp_keys(staff_client):
    assert staff_client.get("/admin/otp_totp/totpdevice/").status_code == 403


def test_the_card_issue_keeps_the_reason_staff_typed(staff_client):
    """STAFF-1, SEC-13 (review, session 19): 画像認証カード発行 asks for a reason (本人確認の
    方法) like every other staff operation, but the service was never given it: the audit
    row said only 「発行」/「再発行」 and the reason was lost. It is in the row now."""
    customer = factories.customer()
    url = f"/admin/accounts/customer/{customer.pk}/card/issue/"
    for reason in ("初回発行（来店・運転免許証）", "紛失による再発行（マイナンバーカード）"):
        assert staff_client.post(url, {"reason": reason, "nonce": _nonce(staff_client, url)}).status_code == 302
    assert list(AuditEvent.objects.filter(customer=customer, action="card_issue").order_by("id")
                .values_list("summary", "actor")) == [
        ("発行：初回発行（来店・運転免許証）", "staff-t"),
        ("再発行：紛失による再発行（マイナンバーカード）", "staff-t"),
    ]


def test_staff_issues_and_prints_the_image_card_once(staff_client):
    from security.models import ImageCard

    customer = factories.customer()
    base = f"/admin/accounts/customer/{customer.pk}/card"
    response = staff_client.post(f"{base}/issue/", {"reason": "紛失による再発行",
                                                    "nonce": _nonce(staff_client, f"{base}/issue/")})
    assert response.url == f"{base}/print/"
    card = ImageCard.objects.get(customer=customer, is_active=True)
    page = staff_client.get(f"{base}/print/")
    assert page.status_code == 200 and "data:image/png;base64," in page.content.decode()
    pdf = staff_client.get(f"{base}/print.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    staff_client.post(f"{base}/print/")  # 印刷完了
    change_url = f"/admin/accounts/customer/{customer.pk}/change/"
    for again in (f"{base}/print/", f"{base}/print.pdf"):  # never shown again
        response = staff_client.get(again)
        assert response.status_code == 302 and response.url == change_url
    # back on the customer's admin page with an admin message, not the customer-facing 403
    page = staff_client.get(f"{base}/print/", follow=True).content.decode()
    assert "カード画像は発行直後に一度だけ表示されます。必要な場合は再発行してください。" in page
    assert 'id="user-tools"' in page and "data:image/png" not in page
    # reissue: the old card stops working
    staff_client.post(f"{base}/issue/", {"reason": "再発行", "nonce": _nonce(staff_client, f"{base}/issue/")})
    card.refresh_from_db()
    assert not card.is_active
    assert ImageCard.objects.filter(customer=customer, is_active=True).count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="card_issue", actor="staff-t").count() == 2
    assert AuditEvent.objects.filter(customer=customer, action="card_print").count() == 2


def _nonce(client, url) -> str:
    """The one-time nonce of the issue form at ``url`` (a GET puts a fresh one in the session)."""
    html = client.get(url).content.decode()
    return html.split('name="nonce" value="')[1].split('"')[0]


def test_staff_without_the_card_permission_cannot_issue(staff, staff_client):
    user, _ = staff
    user.groups.clear()
    customer = factories.customer()
    assert staff_client.post(f"/admin/accounts/customer/{customer.pk}/card/issue/",
                             {"reason": "x"}).status_code == 403


def test_counter_deposit_slip_numbers_are_normalised_and_odd_digits_refused(staff_client):
    account = factories.account(balance=1_000)
    url = f"/admin/accounts/account/{account.pk}/deposit/"
    assert "数字で" in staff_client.post(url, {"amount": "፩", "reference": "B-1"}).content.decode()
    counter_deposit_in_admin(staff_client, account, "1000", "B-1")
    for reference in ("Ｂ－１", " b-1 "):  # the same slip: said at once, no confirm page
        page = staff_client.post(url, {"amount": "1000", "reference": reference}).content.decode()
        assert "この伝票番号の入金は記帳済みです" in page
    account.refresh_from_db()
    assert account.balance == 2_000  # one slip, one deposit
    # a slip number needs a letter or a digit: 「-」 alone is no slip (review, session 19)
    for reference in ("-", "--", "ー"):
        page = staff_client.post(url, {"amount": "1000", "reference": reference}).content.decode()
        assert "伝票番号は英数字とハイフンで入力してください。" in page
    account.refresh_from_db()
    assert account.balance == 2_000


# what the account's change page showed: 有効, no hold (walk31 F6: a save without it is refused)
SHOWN_OPEN = {"status_seen": "open", "hold_amount_seen": "0"}


def test_superuser_account_changes_are_audited():
    from accounts.models import Account as AccountModel

    account = factories.account(balance=1_000)
    admin = get_user_model().objects.create_superuser("root-a", password="x")
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin, name="r").persistent_id
    session.save()
    response = client.post(f"/admin/accounts/account/{account.pk}/change/",
                           {"status": "frozen", "hold_amount": "300", **SHOWN_OPEN})
    assert "状態・拘束額を変更する理由を入力してください。" in response.content.decode()  # walk31 F1
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 0)
    response = client.post(f"/admin/accounts/account/{account.pk}/change/",
                           {"status": "frozen", "hold_amount": "300", "reason": "裁判所の差押命令", **SHOWN_OPEN})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.status, account.hold_amount, account.balance) == ("frozen", 300, 1_000)
    event = AuditEvent.objects.get(action="account_change", actor="root-a")
    assert "支払停止" in event.summary and "300円" in event.summary
    assert "変更前：状態=有効、拘束額=0円" in event.summary and event.summary.endswith(" 理由：裁判所の差押命令")
    # staff's reason stays in the 操作ログ: the customer's mail does not name it
    assert "差押" not in OutboxMessage.objects.get(customer=account.customer, event="account_change").body
    assert AccountModel.objects.get(pk=account.pk).balance == 1_000


@pytest.fixture
def superuser_client():
    return superuser_signed_in("root-c")


def superuser_signed_in(username: str) -> Client:
    """A client signed in to admin as a new superuser (password and OTP done)."""
    admin = get_user_model().objects.create_superuser(username, password="x")
    client = Client()
    client.force_login(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin, name="r").persistent_id
    session.save()
    return client


def test_an_account_with_money_cannot_be_closed(superuser_client):
    account = factories.account(balance=1_000)
    url = f"/admin/accounts/account/{account.pk}/change/"
    response = superuser_client.post(url, {"status": "closed", "hold_amount": "0", "reason": "解約のお申し出",
                                           **SHOWN_OPEN})
    assert "残高または拘束額が残っている口座は解約できません" in response.content.decode()
    response = superuser_client.post(url, {"status": "open", "hold_amount": "-5", "reason": "x", **SHOWN_OPEN})
    assert "拘束額は0円以上" in response.content.decode()
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 0)
    assert not AuditEvent.objects.filter(action="account_change").exists()


def test_an_empty_account_can_be_closed_and_the_customer_is_told(superuser_client):
    account = factories.account()
    response = superuser_client.post(f"/admin/accounts/account/{account.pk}/change/",
                                     {"status": "closed", "hold_amount": "0", "reason": "解約のお申し出",
                                      **SHOWN_OPEN})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == "closed"
    assert OutboxMessage.objects.filter(customer=account.customer, event="account_change").exists()


# --- Staff login: one message, lockout, audit (SEC-8, SEC-13, STAFF-1) -------------------

STAFF_LOGIN_FAILED = "ユーザー名、パスワードまたはワンタイムパスワードが正しくありません。"


def _code(device) -> str:
    import base64

    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()


def _wrong_code(device) -> str:
    return "000000" if _code(device) != "000000" else "111111"


def _staff_login(client, username, password, code=None):
    data = {"username": username, "password": password}
    if code is not None:
        data["otp_token"] = code
    return client.post("/admin/login/?next=/admin/", data, REMOTE_ADDR="192.0.2.7")


def _error_note(response) -> str:
    html = response.content.decode()
    return html.split('<p class="errornote">')[1].split("</p>")[0]


def test_every_staff_login_failure_looks_the_same(staff):
    user, device = staff
    get_user_model().objects.create_user(username="staff-gone", password="Staff-pass-1",
                                         is_staff=True, is_active=False)
    client = Client()
    attempts = [
        ("staff-t", "Wrong-pass-1", _code(device)),  # wrong password, right code
        ("staff-t", "Staff-pass-1", _wrong_code(device)),  # right password, wrong code
        ("staff-t", "Staff-pass-1", None),  # right password, no code
        ("nobody", "Staff-pass-1", "123456"),  # unknown user
        ("staff-gone", "Staff-pass-1", "123456"),  # inactive user
    ]
    notes = set()
    for username, password, code in attempts:
        device.throttle_reset()
        response = _staff_login(client, username, password, code)
        assert response.status_code == 200
        html = response.content.decode()
        notes.add(_error_note(response))
        assert "Staff-pass-1" not in html  # the password is never echoed back
        assert 'name="otp_device"' not in html  # no device list after a right password
        assert '<ul class="errorlist' not in html  # no field-level hint either
    assert notes == {STAFF_LOGIN_FAILED}
    assert client.get("/admin/").status_code == 302


def test_five_failures_lock_the_staff_user_even_against_the_right_code(staff):
    from security.models import StaffLoginCounter

    user, device = staff
    client = Client()
    for _ in range(3):
        _staff_login(client, "staff-t", "Wrong-pass-1", _code(device))
    for _ in range(2):
        device.throttle_reset()
        _staff_login(client, "staff-t", "Staff-pass-1", _wrong_code(device))
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.failures == 5 and counter.locked_at is not None
    device.throttle_reset()
    throttle_before = device.throttling_failure_count
    response = _staff_login(client, "staff-t", "Staff-pass-1", _code(device))
    assert response.status_code == 200 and _error_note(response) == STAFF_LOGIN_FAILED
    assert client.get("/admin/").status_code == 302
    device.refresh_from_db()
    assert device.throttling_failure_count == throttle_before  # a locked user's code is not even tried
    counter.refresh_from_db()
    assert counter.failures == 5 and counter.locked_at is not None
    events = AuditEvent.objects.filter(action="staff_login", actor="staff-t").order_by("id")
    assert [e.outcome for e in events] == ["failure"] * 5 + ["refused"]
    assert {e.client_ip for e in events} == {"192.0.2.7"}
    assert "ロック" in events[4].summary


def test_a_successful_staff_login_resets_the_count_and_is_audited(staff):
    from security.models import StaffLoginCounter

    user, device = staff
    client = Client()
    for _ in range(4):
        _staff_login(client, "staff-t", "Wrong-pass-1")
    assert StaffLoginCounter.objects.get(user=user).failures == 4
    code = _code(device)
    response = _staff_login(client, "staff-t", "Staff-pass-1", code)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    counter = StaffLoginCounter.objects.get(user=user)
    assert (counter.failures, counter.locked_at) == (0, None)
    success = AuditEvent.objects.get(action="staff_login", outcome="success")
    assert (success.actor, success.client_ip, success.customer) == ("staff-t", "192.0.2.7", None)
    # nothing secret in any row: not the password, not the code
    rows = str(list(AuditEvent.objects.values_list("summary", "actor", "contract_id")))
    assert "Staff-pass-1" not in rows and "Wrong-pass-1" not in rows and code not in rows


def test_an_unknown_staff_name_is_audited_without_keeping_what_was_typed(staff):
    client = Client()
    _staff_login(client, "Staff-pass-1", "Staff-pass-1")  # a password typed into the name field
    event = AuditEvent.objects.get(action="staff_login")
    assert (event.outcome, event.actor, event.client_ip) == ("failure", "", "192.0.2.7")
    assert "Staff-pass-1" not in event.summary


def test_staff_login_label():
    from security.audit import ACTION_LABELS

    assert ACTION_LABELS["staff_login"] and ACTION_LABELS["staff_login_unlock"]


def test_a_superuser_unlocks_a_staff_user_and_it_is_audited(staff, superuser_client, staff_client):
    from security.models import StaffLoginCounter

    user, device = staff
    for _ in range(5):  # locked as the login locks (security 0016: a counter moves only so)
        _staff_login(Client(), "staff-t", "wrong-pass-1", _code(device))
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.locked_at is not None
    changelist = "/admin/security/stafflogincounter/"
    # branch staff cannot see or lift it (they could unlock each other)
    assert staff_client.get(changelist).status_code == 403
    page = superuser_client.get(changelist).content.decode()
    assert "staff-t" in page and "ロック解除" in page
    assert superuser_client.get(f"{changelist}{counter.pk}/change/").status_code == 200
    assert superuser_client.post(f"{changelist}{counter.pk}/change/", {"failures": "0"}).status_code == 403
    response = superuser_client.post(changelist, {"action": "staff_login_unlock",
                                                  "_selected_action": [counter.pk]})
    assert response.status_code == 302
    counter.refresh_from_db()
    assert (counter.failures, counter.locked_at) == (0, None)
    event = AuditEvent.objects.get(action="staff_login_unlock")
    assert event.actor == "root-c" and "staff-t" in event.summary
    device.throttle_reset()
    assert _staff_login(Client(), "staff-t", "Staff-pass-1", _code(device)).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_pass_the_staff_limit(staff):
    import threading

    from django.db import connection

    from security.models import StaffLoginCounter

    user, _ = staff
    barrier = threading.Barrier(8)

    def guess():
        try:
            barrier.wait()
            _staff_login(Client(), "staff-t", "Wrong-pass-1")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counter = StaffLoginCounter.objects.get(user=user)
    assert counter.failures == 5 and counter.locked_at is not None
    outcomes = list(AuditEvent.objects.filter(action="staff_login").values_list("outcome", flat=True))
    assert sorted(outcomes) == ["failure"] * 5 + ["refused"] * 3


# --- Unlocking the login password issues a new one; slips and cards are issued once -------

ALREADY_ISSUED = "この発行は処理済みです（二重発行はしていません）。パスワードを紛失した場合は、あらためて再発行してください。"


def _slip_password(response) -> str:
    return response.content.decode().split('class="initial-password">')[1].split("<")[0]


def test_unlocking_the_login_password_issues_a_new_initial_password(staff_client):
    """SEC-8: during a lock the login page still tells the right password apart (guide Q3),
    so a password guessed then must not work once the branch unlocks."""
    from security.services import login_authenticate

    customer = factories.customer(password="Guessed1", email="u@example.jp")
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    form = staff_client.get(url).content.decode()
    assert "新しい初回ログインパスワードを発行し" in form  # the form says what will happen
    response = staff_client.post(url, {"kind": "password", "reason": "運転免許証で本人確認",
                                       "nonce": _nonce(staff_client, url)})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    password = _slip_password(response)
    credential = Credential.objects.get(customer=customer, kind="password")
    assert not credential.is_locked and credential.failures == 0
    assert not login_authenticate(contract_id=customer.contract_id, password="Guessed1", ip=None).ok
    assert login_authenticate(contract_id=customer.contract_id, password=password, ip=None).ok
    customer.refresh_from_db()
    assert customer.password_is_initial
    unlock = AuditEvent.objects.get(customer=customer, action="unlock")
    assert unlock.actor == "staff-t" and "ログインパスワード" in unlock.summary and "運転免許証" in unlock.summary
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue", actor="staff-t").count() == 1
    assert password not in str(list(AuditEvent.objects.values_list("summary", flat=True)))
    assert OutboxMessage.objects.filter(customer=customer, event="initial_password_issue").exists()


def test_unlocking_a_password_that_is_not_locked_issues_nothing(staff_client):
    customer = factories.customer(password="Keep1234")
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    response = staff_client.post(url, {"kind": "password", "reason": "確認", "nonce": _nonce(staff_client, url)})
    assert "ログインパスワードはロックされていません。" in response.content.decode()
    customer.user.refresh_from_db()
    assert customer.user.check_password("Keep1234")
    assert not AuditEvent.objects.filter(customer=customer, action__in=["unlock", "initial_password_issue"]).exists()


@pytest.mark.parametrize("path", ["initial-password", "unlock"])
def test_reloading_the_slip_issues_nothing(staff_client, path):
    """The slip is the POST response; a browser reload posts the same form again. The
    nonce was consumed by the first issue, so the second gets an admin message instead."""
    customer = factories.customer()
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/{path}/"
    data = {"kind": "password", "reason": "失念", "nonce": _nonce(staff_client, url)}
    password = _slip_password(staff_client.post(url, data))
    reload = staff_client.post(url, data)
    assert reload.status_code == 302 and reload.url == f"/admin/accounts/customer/{customer.pk}/change/"
    assert ALREADY_ISSUED in staff_client.get(reload.url).content.decode()
    for missing in ({**data, "nonce": ""}, {"kind": "password", "reason": "失念"}, {**data, "nonce": "forged"}):
        assert staff_client.post(url, missing).status_code == 302
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)  # the first slip still holds
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1


def test_a_form_error_keeps_the_nonce_usable(staff_client):
    customer = factories.customer()
    url = f"/admin/accounts/customer/{customer.pk}/initial-password/"
    nonce = _nonce(staff_client, url)
    assert "理由を入力してください。" in staff_client.post(url, {"reason": "", "nonce": nonce}).content.decode()
    assert staff_client.post(url, {"reason": "失念", "nonce": nonce}).status_code == 200
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1


def test_the_slip_is_printable(staff_client, settings):
    customer = factories.customer(name_kanji="印刷 花子")
    url = f"/admin/accounts/customer/{customer.pk}/initial-password/"
    html = staff_client.post(url, {"reason": "失念", "nonce": _nonce(staff_client, url)}).content.decode()
    slip = html.split('class="print-slip"')[1].split('class="no-print"')[0]
    for shown in (settings.BANK_NAME, customer.contract_id, "印刷 花子", "発行日時", "発行者：staff-t"):
        assert shown in slip
    assert "data-admin-print" in html and ">印刷</button>" in html
    assert "js/admin_print.js" in html and "css/admin_print.css" in html
    assert "<script>" not in html  # CSP: no inline script (SEC-11)


def test_card_issue_is_not_repeated_by_a_second_post(staff_client):
    from security.models import ImageCard

    customer = factories.customer()
    url = f"/admin/accounts/customer/{customer.pk}/card/issue/"
    data = {"reason": "紛失", "nonce": _nonce(staff_client, url)}
    assert staff_client.post(url, data).url.endswith("/card/print/")
    card = ImageCard.objects.get(customer=customer, is_active=True)
    again = staff_client.post(url, data)
    assert again.url == f"/admin/accounts/customer/{customer.pk}/change/"
    page = staff_client.get(again.url).content.decode()
    # of the card, not a password (walk25 F18)
    assert "この発行は処理済みです（二重発行はしていません）。カードを紛失した場合は、あらためて再発行してください。" in page
    assert "パスワードを紛失" not in page
    assert list(ImageCard.objects.filter(customer=customer)) == [card]


# --- Japanese admin, yen amounts, kana search, applicable actions (STAFF-1) --------------

def test_login_audit_summaries_are_japanese():
    from security.services import login_authenticate

    customer = factories.customer(password="Right123")
    login_authenticate(contract_id="9999999999", password="x", ip=None)
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    login_authenticate(contract_id=customer.contract_id, password="Right123", ip=None)
    summaries = list(AuditEvent.objects.filter(action="login").order_by("id").values_list("summary", flat=True))
    # the factory's wrong passwords (2nd to 5th) are written as the login writes them (CI315)
    assert summaries == ["契約者ID不明", *(f"パスワード誤り（連続{n}回目）" for n in range(1, 6)), "ロック中"]
    login_authenticate(contract_id=customer.contract_id, password="Wrong123", ip=None)
    # locked at the limit (5; security 0013: the only way a lock comes), this is the 6th
    assert AuditEvent.objects.filter(action="login").latest("id").summary == "ロック中・パスワード誤り（連続6回目）"


def test_admin_pages_speak_japanese(staff_client, superuser_client):
    from security.audit import audit_record

    account = factories.account(balance=1_234_567, hold_amount=1_000)
    customer = account.customer
    audit_record(action="login", outcome="success", customer=customer, ip="10.0.0.1")
    pages = {
        "/admin/accounts/account/": ["区分", "状態", "残高", "1,234,567円", "1,000円"],
        f"/admin/accounts/account/{account.pk}/change/": ["支店", "契約者", "最終入出金日時", "開設日時",
                                                          "1,234,567円"],
        f"/admin/accounts/customer/{customer.pk}/change/": ["登録日時", "1,234,567円", "1,000円"],
        "/admin/accounts/entry/": ["金額", "取引後残高", "+1,234,567円"],
        "/admin/security/auditevent/": ["日時", "契約者ID", "結果", "IPアドレス"],
    }
    for url, expected in pages.items():
        html = staff_client.get(url).content.decode()
        for text in expected:
            assert text in html, (url, text)
        for english in (">Purpose<", ">Branch<", ">Customer<", ">Created at<", ">Amount<", ">Balance after<",
                        ">Contract id<", ">Outcome<", ">Client ip<", ">Opened at<", ">Last entry at<"):
            assert english not in html, (url, english)
    # the superuser's change form keeps the hold editable, the staff's shows yen
    assert 'name="hold_amount"' in superuser_client.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()


def test_audit_list_filters_by_japanese_action_label(staff_client):
    from security.audit import audit_record

    customer = factories.customer()
    audit_record(action="counter_deposit", outcome="success", customer=customer, summary="A1")
    audit_record(action="login", outcome="success", customer=customer)
    html = staff_client.get("/admin/security/auditevent/").content.decode()
    assert "?action=counter_deposit" in html and ">窓口入金<" in html
    filtered = staff_client.get("/admin/security/auditevent/?action=counter_deposit").content.decode()
    assert ">窓口入金</td>" in filtered and ">ログイン</td>" not in filtered


def test_audit_pages_show_tokyo_time_and_japanese_labels(staff_client):
    """Issue 7: staff read local time and labels, never ``login``, ``timeout`` or ``idle``."""
    import datetime as dt
    import re

    import time_machine

    from security.audit import ACTION_LABELS, audit_record

    customer = factories.customer()
    with time_machine.travel(dt.datetime(2026, 11, 26, 1, 2, 3, tzinfo=dt.timezone.utc), tick=False):
        event = audit_record(action="timeout", outcome="success", customer=customer, summary="idle")
    listing = staff_client.get("/admin/security/auditevent/").content.decode()
    detail = staff_client.get(f"/admin/security/auditevent/{event.pk}/change/").content.decode()
    for html in (listing, detail):
        assert "2026/11/26 10:02:03" in html and "自動ログアウト" in html
        assert "15分間操作がなかったため" in html
        assert ">timeout<" not in html and ">idle<" not in html
    # walk27 F7: the detail page's title too, not 「2026-11-26 01:02 … timeout success」 (UTC, codes)
    title = f"2026/11/26 10:02:03 {customer.contract_id} 自動ログアウト 正常"
    assert str(event) == title and f"<h2>{title}</h2>" in detail
    assert "timeout success" not in detail and "01:02" not in detail
    # every action code written anywhere in the code has its Japanese label
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    written = set()
    for app in ("accounts", "security", "notifications", "transfers", "payeasy", "cosei_ib"):
        for source in (root / app).rglob("*.py"):
            written |= set(re.findall(r'\baction="([a-z_]+)"', source.read_text()))
    written -= {"store_true"}  # argparse
    assert written and written <= set(ACTION_LABELS), written - set(ACTION_LABELS)


def test_customer_search_finds_half_width_kana_and_full_width_digits(staff_client):
    sato = factories.customer(name_kanji="佐藤 一郎", name_kana="ｻﾄｳ ｲﾁﾛｳ")
    other = factories.customer(name_kanji="鈴木 次郎", name_kana="ｽｽﾞｷ ｼﾞﾛｳ")
    for term in ("サトウ", "ｻﾄｳ", " サトウ "):
        html = staff_client.get("/admin/accounts/customer/", {"q": term}).content.decode()
        assert sato.contract_id in html and other.contract_id not in html, term
    full_width_id = sato.contract_id.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert sato.contract_id in staff_client.get("/admin/accounts/customer/", {"q": full_width_id}).content.decode()
    assert other.contract_id in staff_client.get("/admin/accounts/customer/", {"q": "スズキ"}).content.decode()
    # issue 7: hiragana finds the katakana reading, half- or full-width
    suzuki_full = factories.customer(name_kanji="鈴木 花子", name_kana="スズキ ハナコ")
    for term in ("すずき", "すずき　じろう", "ｽｽﾞｷ"):
        html = staff_client.get("/admin/accounts/customer/", {"q": term}).content.decode()
        assert other.contract_id in html and sato.contract_id not in html, term
    html = staff_client.get("/admin/accounts/customer/", {"q": "すずき"}).content.decode()
    assert suzuki_full.contract_id in html
    assert other.contract_id in staff_client.get("/admin/accounts/customer/", {"q": "鈴木"}).content.decode()


def test_customer_page_offers_only_applicable_actions(staff_client):
    account = factories.account()
    customer = account.customer
    url = f"/admin/accounts/customer/{customer.pk}/change/"
    html = staff_client.get(url).content.decode()
    assert f"/{customer.pk}/unlock/" not in html and f"/{customer.pk}/resume/" not in html
    assert f"/admin/accounts/account/{account.pk}/deposit/" in html and ">窓口入金<" in html
    factories.credential_locked(customer, "otp", locked_at="2026-01-01T00:00:00+09:00")
    factories.suspended(customer)
    html = staff_client.get(url).content.decode()
    assert f"/{customer.pk}/unlock/" in html and f"/{customer.pk}/resume/" in html


@pytest.mark.parametrize("url", [
    "/admin/accounts/customer/?status=%00",
    "/admin/accounts/customer/?q=%00",
    "/admin/accounts/account/?status=%00",
    "/admin/accounts/account/?branch__id__exact=%00",
    "/admin/security/auditevent/?outcome__exact=%00",
    "/admin/security/auditevent/?action=%00",
    "/admin/security/auditevent/?q=a%00b",
    "/admin/security/auditevent/?%00=1",
])
def test_nul_byte_in_admin_filters_is_a_400_not_a_500(superuser_client, url, caplog):
    """Issue 7: PostgreSQL refuses NUL in a text parameter; the changelists raised 500.
    walk27 F10: one WARNING line each, no traceback (a SuspiciousOperation logged a whole
    stack per request: a scanner could fill the error log)."""
    import logging

    superuser_client.raise_request_exception = True
    with caplog.at_level(logging.INFO):
        response = superuser_client.get(url)
    assert response.status_code == 400
    assert "リクエストを処理できませんでした" in response.content.decode()
    assert "管理画面へ" in response.content.decode()
    logged = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING
    assert logged[0].exc_info is None and "NUL byte in an admin request" in logged[0].getMessage()
    assert "\x00" not in logged[0].getMessage()
    # the same pages without the NUL work
    assert superuser_client.get(url.replace("%00", "")).status_code in (200, 302)


def test_nul_byte_in_an_admin_form_is_a_400(staff_client):
    customer = suspended_customer()
    response = staff_client.post(f"/admin/accounts/customer/{customer.pk}/resume/", {"reason": "本人\x00来店"})
    assert response.status_code == 400 and "管理画面へ" in response.content.decode()
    customer.refresh_from_db()
    assert customer.status == "suspended"


def test_staff_refused_in_admin_are_led_back_to_admin_not_to_the_customer_login(staff, staff_client):
    """STAFF-1, UI-1 (review5): the 400 page (a NUL in a search) and the 403 page (a page
    of the exchange without its permission) told branch staff 「お手数ですが、ログイン画面
    からやり直してください」 with a button to the customers' login page, where their staff
    user cannot sign in; they now lead back to 管理画面."""
    user, _device = staff
    user.groups.clear()  # no 為替 permission: the exchange page is a 403
    for url, status in (("/admin/accounts/customer/?q=%00", 400),
                        ("/admin/transfers/interbankoutgoingfile/exchange/", 403)):
        response = staff_client.get(url)
        page = response.content.decode()
        assert response.status_code == status, url
        assert 'href="/admin/"' in page and "管理画面へ" in page, url
        assert 'href="/login/"' not in page and "ログイン画面" not in page, url
    # anyone else is still sent to the customers' login page
    page = Client().get("/no-such-page/").content.decode()
    assert 'href="/login/"' in page and 'href="/admin/"' not in page


@pytest.mark.parametrize("path", ["initial-password", "unlock", "card/issue"])
def test_a_double_click_on_an_issue_form_issues_once(staff_client, path):
    """SEC-3, SEC-5: two POSTs of one issue form at once both loaded the staff session while
    it still held the form's nonce, so both issued — and the slip the browser showed could
    carry the password (or card) the other request had already replaced. The second now
    finds, under the credential's row lock, that something was issued after its form was
    shown: nothing more is issued, and staff are told it was issued elsewhere. Simulated in order: the second
    request's session is the one from before the first consumed the nonce."""
    from security.models import ImageCard

    customer = factories.customer()
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/{path}/"
    data = {"kind": "password", "reason": "失念", "nonce": _nonce(staff_client, url)}
    session = staff_client.session
    nonces_before = dict(session["staff_issue_nonces"])
    first = staff_client.post(url, data)
    assert first.status_code in (200, 302)
    session = staff_client.session
    session["staff_issue_nonces"] = nonces_before  # what the parallel request had loaded
    session.save()
    second = staff_client.post(url, data)
    assert second.status_code == 302 and second.url == f"/admin/accounts/customer/{customer.pk}/change/"
    told = staff_client.get(second.url).content.decode()
    # walk29 F6: what another tab or staff member did is said as such — not 「処理済み…あらためて
    # 再発行してください」, whose advice would void the slip (card) the other one handed over
    assert "別の画面（または別の職員）で" in told and "ここでは発行していません" in told and "あらためて再発行" not in told
    if path == "card/issue":
        assert ImageCard.objects.filter(customer=customer).count() == 1
    else:
        customer.user.refresh_from_db()
        assert customer.user.check_password(_slip_password(first))  # the slip shown first still holds
        assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1


def _double_click(first_client, url, data, monkeypatch, services: list[str]):
    """Two POSTs of one form from one browser (one staff session), with real threads: the
    second loads the session while the first is inside one of ``services`` (of
    security.customer_admin), then both finish. The responses by name, and the second client."""
    import threading

    from django.db import connection

    from security import customer_admin

    second_client = Client()
    second_client.cookies = first_client.cookies  # the same browser: one staff session
    acting, second_arrived = threading.Event(), threading.Event()
    calls = []
    real_customer = customer_admin.CustomerAdmin._customer

    def arriving(self, request, pk, permission):  # each view's first step, the session loaded
        calls.append(pk)
        if len(calls) == 2:
            second_arrived.set()
        return real_customer(self, request, pk, permission)

    def slow(real):
        def service(**kwargs):
            acting.set()
            assert second_arrived.wait(10)  # the double click's other POST has started
            return real(**kwargs)
        return service

    monkeypatch.setattr(customer_admin.CustomerAdmin, "_customer", arriving)
    for name in services:
        monkeypatch.setattr(customer_admin, name, slow(getattr(customer_admin, name)))
    responses = {}

    def post(name, client):
        try:
            responses[name] = client.post(url, data)
        finally:
            connection.close()

    first = threading.Thread(target=post, args=("first", first_client))
    second = threading.Thread(target=post, args=("second", second_client))
    first.start()
    assert acting.wait(10)
    second.start()
    first.join(20)
    second.join(20)
    return responses, second_client


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["initial-password", "unlock", "card/issue"])
def test_the_other_submit_of_a_double_click_shows_what_the_first_issued(staff, path, monkeypatch):
    """walk28 F2: a double click sent two POSTs of one issue form; the browser shows only the
    last response. One request issued and rendered the slip nobody saw, the other said
    「処理済み」 (and, read before the first had committed, still showed ロック中): the
    password was lost and staff had to issue another. With real threads: the second
    request loads the staff session while the first is issuing; it then waits its turn and
    shows the same slip (the card's print page), and nothing is issued twice."""
    from security.models import ImageCard

    customer = factories.customer()
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/{path}/"
    first_client = staff_signed_in(*staff)
    data = {"kind": "password", "reason": "失念", "nonce": _nonce(first_client, url)}
    responses, second_client = _double_click(first_client, url, data, monkeypatch,
                                             ["initial_password_issue", "image_card_issue"])
    # staff32: both responses set the one messages cookie (and the session); whichever
    # landed last won, and the note was lost when the first's 「発行しました」 came after —
    # so the shared jar is left as if the first response's cookies had landed last
    first_client.cookies.update(responses["first"].cookies)
    if path == "card/issue":
        card = ImageCard.objects.get(customer=customer)  # one card
        print_url = f"/admin/accounts/customer/{customer.pk}/card/print/"
        assert responses["first"].status_code == 302 and responses["first"].url == print_url
        assert responses["second"].status_code == 302 and responses["second"].url == f"{print_url}?again={card.pk}"
        page = second_client.get(responses["second"].url).content.decode()  # the response the browser follows
        assert "画像認証カード印刷" in page and "先に発行したカードを表示しています（二重発行はしていません）" in page
        assert "先に発行したカード" not in second_client.get(print_url).content.decode()  # the first's own page
        return
    assert responses["first"].status_code == 200 and responses["second"].status_code == 200
    password = _slip_password(responses["first"])
    assert _slip_password(responses["second"]) == password
    assert "先に発行した初回ログインパスワードの通知書をもう一度表示しています" in responses["second"].content.decode()
    assert "no-store" in responses["second"]["Cache-Control"]
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1
    assert not Credential.objects.get(customer=customer, kind="password").is_locked
    # the session keeps no password in clear; a later reload of the slip shows nothing
    from django.contrib.sessions.models import Session

    assert all(password not in str(row.get_decoded()) for row in Session.objects.all())
    reload = first_client.post(url, data)
    assert reload.status_code == 302 and reload.url == f"/admin/accounts/customer/{customer.pk}/change/"


def test_staff_read_the_lock_history_read_only(staff_client):
    """SEC-8, STAFF-1 (dbprobe29 F7): ロック履歴 is read by someone — branch staff, read-only."""
    customer = factories.customer(name_kanji="施錠 太郎")
    factories.credential_locked(customer, "password")
    assert "ロック履歴" in staff_client.get("/admin/").content.decode()
    listing = staff_client.get(f"/admin/security/credentiallockchange/?q={customer.contract_id}")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "施錠 太郎" in page and "ログインパスワード" in page and "DBユーザー" in page
    unlocked = staff_client.get(f"/admin/security/credentiallockchange/?q={customer.contract_id}&locked=0")
    assert "施錠 太郎" not in unlocked.content.decode()  # 変更: ロック解除 only
    row = CredentialLockChange.objects.get(customer=customer)
    detail = staff_client.get(f"/admin/security/credentiallockchange/{row.pk}/change/")
    assert detail.status_code == 200 and "DBユーザー" in detail.content.decode()
    assert staff_client.get("/admin/security/credentiallockchange/add/").status_code == 403
    assert staff_client.post(f"/admin/security/credentiallockchange/{row.pk}/delete/").status_code == 403


@pytest.mark.parametrize("hold", ["١٢", "1_000", "+100", "12a", "12,000", "１２，０００円"])
def test_a_hold_is_digits_and_a_save_names_what_its_page_showed(superuser_client, hold):
    """walk31 F6: 「١٢」, 「1_000」 and 「+100」 passed Python's int() and were saved, a letter
    got the range message; and a forged save without the page's hidden 「as shown」 values
    skipped the stale-page check (it froze an account by accident). Neither changes
    anything; 「１２０００」 typed in full width is 12,000円."""
    from accounts.admin import ACCOUNT_PAGE_NOT_SHOWN, HOLD_FORMAT

    account = factories.account(balance=50_000)
    url = f"/admin/accounts/account/{account.pk}/change/"
    page = superuser_client.post(url, {"status": "open", "hold_amount": hold, "reason": "差押", **SHOWN_OPEN})
    assert HOLD_FORMAT in page.content.decode()
    page = superuser_client.post(url, {"status": "frozen", "hold_amount": "0", "reason": "不正利用の届出"})
    assert ACCOUNT_PAGE_NOT_SHOWN in page.content.decode()
    account.refresh_from_db()
    assert (account.status, account.hold_amount) == ("open", 0)
    assert not AuditEvent.objects.filter(action="account_change").exists()
    assert superuser_client.post(url, {"status": "open", "hold_amount": "１２０００", "reason": "差押",
                                       **SHOWN_OPEN}).status_code == 302
    account.refresh_from_db()
    assert account.hold_amount == 12_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["image_card", "otp"])
def test_the_other_submit_of_a_double_click_on_unlock_says_the_lock_was_lifted(staff, kind, monkeypatch):
    """SEC-8, STAFF-1 (probe34 F3): six POSTs of one ロック解除 form at once (a double click):
    one lifted the lock, the others showed the form again with 「画像認証はロックされていません。」
    — the last response, the one the browser shows, so staff could not tell whether it took.
    With real threads: the second request loads the staff session while the first is
    unlocking; it then waits its turn, lifts nothing and says the lock is lifted, once."""
    customer = factories.customer(email="u@example.jp")
    factories.credential_locked(customer, kind, locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    first_client = staff_signed_in(*staff)
    data = {"kind": kind, "reason": "本人確認済（窓口）", "nonce": _nonce(first_client, url)}
    responses, second_client = _double_click(first_client, url, data, monkeypatch, ["credential_unlock"])
    change = f"/admin/accounts/customer/{customer.pk}/change/"
    assert responses["first"].status_code == 302 and responses["second"].status_code == 302
    assert responses["second"].url == change
    second_client.cookies.update(responses["second"].cookies)  # the response the browser shows
    told = second_client.get(change).content.decode()
    assert "ボタンが二度押されました。ロックは解除されています" in told and "ロックされていません" not in told
    assert not Credential.objects.get(customer=customer, kind=kind).is_locked
    assert AuditEvent.objects.filter(customer=customer, action="unlock").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="unlock").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("guesses", [2, 0])
def test_the_other_submit_of_a_double_click_on_resume_shows_the_slip_again(staff, guesses, monkeypatch):
    """SEC-3, SEC-10, STAFF-1 (probe35 F2): two POSTs of one IB取引再開 form at once (a double
    click): one resumed and, after wrong passwords during the suspension, rendered the new
    initial password's slip; the other showed 「この契約者はIB取引中止の状態ではありません。」
    — the response the browser shows: the slip was lost and the customer's old password
    dead. With real threads: the second request loads the staff session while the first
    is resuming; it then waits its turn, resumes and issues nothing, and shows the same slip
    (without guesses: says the resume was done)."""
    from security.services import login_authenticate

    customer = suspended_customer(email="s@example.jp", password="Pass1234")
    for number in range(guesses):
        login_authenticate(contract_id=customer.contract_id, password=f"Guess00{number}", ip=None)
    url = f"/admin/accounts/customer/{customer.pk}/resume/"
    first_client = staff_signed_in(*staff)
    data = {"reason": "本人確認済（電話）", "guesses_seen": str(guesses), "nonce": _nonce(first_client, url)}
    responses, second_client = _double_click(first_client, url, data, monkeypatch, ["customer_ib_resume"])
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.status == "active"
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="ib_resume").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == (
        1 if guesses else 0)
    for response in responses.values():
        assert "IB取引中止の状態ではありません" not in response.content.decode()
    if guesses:
        assert responses["first"].status_code == 200 and responses["second"].status_code == 200
        password = _slip_password(responses["first"])
        assert _slip_password(responses["second"]) == password
        assert "先に発行した初回ログインパスワードの通知書をもう一度表示しています" in responses["second"].content.decode()
        assert "no-store" in responses["second"]["Cache-Control"]
        assert customer.user.check_password(password) and customer.password_is_initial
    else:
        change = f"/admin/accounts/customer/{customer.pk}/change/"
        assert responses["first"].status_code == 302 and responses["second"].status_code == 302
        assert responses["second"].url == change
        second_client.cookies.update(responses["second"].cookies)  # the response the browser shows
        told = second_client.get(change).content.decode()
        assert "ボタンが二度押されました。IB取引は再開されています" in told
        assert customer.user.check_password("Pass1234")
    # a later reload of the form's POST resumes nothing and says it was done
    reload = first_client.post(url, data)
    assert reload.status_code == 302
    assert "このIB取引再開は処理済みです" in first_client.get(reload.url).content.decode()
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume").count() == 1


def test_a_reload_of_an_unlock_lifts_nothing_more_and_says_it_was_done(staff_client):
    """probe34 F3: the browser's reload of the ロック解除 POST (its nonce used) is told the
    unlock was done — and lifts nothing, even if the card was locked again meanwhile."""
    customer = factories.customer(email="r@example.jp")
    factories.credential_locked(customer, "image_card", locked_at="2026-01-01T00:00:00+09:00")
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    data = {"kind": "image_card", "reason": "本人確認済（窓口）", "nonce": _nonce(staff_client, url)}
    assert staff_client.post(url, data).status_code == 302
    factories.credential_locked(customer, "image_card")  # locked again meanwhile
    again = staff_client.post(url, data)
    assert again.status_code == 302
    told = staff_client.get(again.url).content.decode()
    assert "このロック解除は処理済みです。" in told
    assert Credential.objects.get(customer=customer, kind="image_card").is_locked
    assert AuditEvent.objects.filter(customer=customer, action="unlock").count() == 1
