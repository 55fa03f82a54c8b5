"""STAFF-1 in a real browser (desktop and iPhone): staff sign in with password + OTP, find a
locked customer and unlock with a reason."""

import base64
import threading

import pyotp
import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _staff_login(page, code):
    page.goto("/admin/")
    page.get_by_label("ユーザー名").fill("madoguchi")
    page.get_by_label("パスワード:", exact=True).fill("Staff-pass-1")
    page.get_by_label("ワンタイムパスワード").fill(code)
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/admin/")


def test_staff_signs_in_with_otp_and_unlocks(page, device):
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure
    from security.models import AuditEvent, Credential
    from tests import factories

    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    totp_device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    code = pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now()
    # a customer past the first login: the unlock's new initial password forces the change again
    customer = factories.customer(name_kanji="施錠 花子", password_is_initial=False)
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")

    _staff_login(page, code)
    assert page.get_by_role("link", name="契約者").first.is_visible()
    page.goto("/admin/accounts/customer/?q=施錠")
    page.get_by_role("link", name=customer.contract_id).click()
    page.get_by_role("link", name="ロック解除").click()
    page.get_by_label("理由（本人確認の方法など）").fill("運転免許証で本人確認")
    page.get_by_role("button", name="ロックを解除する").click()
    # SEC-8: unlocking the login password issues a new initial password on a printable slip
    slip = page.locator(".print-slip")
    slip.wait_for()
    assert "初回ログインパスワード通知書" in slip.inner_text()
    password = slip.locator(".initial-password").inner_text()
    # admin_print.js reveals the button after load: wait for it (a bare is_visible() raced)
    expect(page.get_by_role("button", name="印刷")).to_be_visible()
    page.screenshot(path=f"test-artifacts/admin-unlock-{device}.png", full_page=True)
    credential = Credential.objects.get(customer=customer, kind="password")
    assert not credential.is_locked
    customer.refresh_from_db()
    assert customer.password_is_initial and customer.user.check_password(password)  # SEC-3, CI314's way
    assert AuditEvent.objects.filter(customer=customer, action="unlock", actor="madoguchi").exists()
    page.reload()  # the browser posts the form again: nothing is issued twice
    page.wait_for_url(f"**/admin/accounts/customer/{customer.pk}/change/")
    assert "この発行は処理済みです" in page.locator("ul.messagelist").inner_text()
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)


def test_a_double_click_on_unlock_sends_one_request_and_shows_the_slip(page, device, monkeypatch):
    """walk28 F2: a double tap on ロックを解除する sent two POSTs; the browser showed the
    second's 「処理済み」 and the one-time 初回ログインパスワード通知書 was lost. The button
    now sends the form once (admin_submit_once.js): disabled after the first click, and a
    second submit of the form is cancelled while the first request is under way."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure
    from security import customer_admin
    from security.models import AuditEvent, Credential
    from tests import factories

    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    totp_device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    customer = factories.customer(name_kanji="二度 押子")
    factories.credential_locked(customer, "password", locked_at="2026-01-01T00:00:00+09:00")
    _staff_login(page, pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now())
    url = f"/admin/accounts/customer/{customer.pk}/unlock/"
    page.goto(url)
    page.get_by_label("理由（本人確認の方法など）").fill("運転免許証で本人確認")
    # the live server answers in a thread of this process: the issue waits there until the
    # second click is done, as a slow server would
    second_click_done = threading.Event()
    real_issue = customer_admin.initial_password_issue

    def slow_issue(**kwargs):
        second_click_done.wait(10)
        return real_issue(**kwargs)

    monkeypatch.setattr(customer_admin, "initial_password_issue", slow_issue)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    # what the page looks like just after the first submit, kept across the navigation (Playwright's
    # locators wait for a pending navigation): the button, and whether another submit is cancelled
    page.evaluate("""() => {
        const form = document.querySelector("form[data-submit-once]");
        let seen = false;
        form.addEventListener("submit", () => {
            if (seen) { return; }
            seen = true;
            setTimeout(() => {
                const again = new Event("submit", {cancelable: true});
                form.dispatchEvent(again);
                sessionStorage.setItem("after-first-submit", JSON.stringify({
                    disabled: form.querySelector("[type=submit]").disabled, cancelled: again.defaultPrevented}));
            }, 0);
        });
    }""")
    box = page.get_by_role("button", name="ロックを解除する").bounding_box()
    try:
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the double click
    finally:
        second_click_done.set()
    slip = page.locator(".print-slip")
    slip.wait_for()
    password = slip.locator(".initial-password").inner_text()
    assert [posted for posted in posts if posted.endswith(url)] == [page.url]
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('after-first-submit'))") == {
        "disabled": True, "cancelled": True}
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1
    assert not Credential.objects.get(customer=customer, kind="password").is_locked


def test_two_posts_of_one_resume_form_show_the_slip_of_the_one_resume(page, device, monkeypatch):
    """SEC-3, SEC-10, STAFF-1 (probe35 F2): IB取引再開 after wrong passwords during the
    suspension issues a new initial password. Two POSTs of the form (a double click the
    browser's script did not stop — here the form is replaced by a copy without it): the
    browser shows the second response, which said 「この契約者はIB取引中止の状態ではありま
    せん。」 while the first had replaced the password on a slip nobody saw. It now shows that
    same slip again; a reload of it resumes and issues nothing."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Customer
    from accounts.roles import branch_staff_group_ensure
    from security import customer_admin
    from security.models import AuditEvent
    from security.services import login_authenticate
    from tests import factories

    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    totp_device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    customer = factories.suspended(factories.customer(name_kanji="再開 待子", password="Pass1234"))
    for guess in ("Guess001", "Guess002"):
        login_authenticate(contract_id=customer.contract_id, password=guess, ip=None)
    _staff_login(page, pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now())
    page.goto(f"/admin/accounts/customer/?q={customer.contract_id}")
    page.get_by_role("link", name=customer.contract_id).click()
    page.get_by_role("link", name="IB取引再開").click()
    expect(page.get_by_text("ログインパスワードの誤入力が2回ありました")).to_be_visible()
    page.get_by_label("理由（本人確認の方法など）").fill("本人確認済（電話）")
    # the live server answers in threads of this process: the first resume waits there until
    # the second POST has arrived (its session and the form's nonce loaded), as on a slow
    # server; the second goes on once the first has resumed, so the browser shows the loser's
    arrived, second_arrived, first_resumed = [], threading.Event(), threading.Event()
    real_customer, real_resume = customer_admin.CustomerAdmin._customer, customer_admin.customer_ib_resume

    def arriving(self, request, pk, permission):
        loaded = real_customer(self, request, pk, permission)
        if request.method == "POST":
            arrived.append(pk)
            if len(arrived) == 2:
                second_arrived.set()
                first_resumed.wait(10)
        return loaded

    def slow_resume(**kwargs):
        second_arrived.wait(10)
        try:
            return real_resume(**kwargs)
        finally:
            first_resumed.set()

    monkeypatch.setattr(customer_admin.CustomerAdmin, "_customer", arriving)
    monkeypatch.setattr(customer_admin, "customer_ib_resume", slow_resume)
    # the first POST of the double click, sent as the browser sends the form (its cookies, its
    # fields and its button) but by the page's script, so that it surely leaves (two real taps
    # on a phone were sometimes one: CI); the tap on the button is the second, whose answer
    # the browser shows
    page.evaluate("""() => {
        const form = document.querySelector("form[data-submit-once]");
        fetch(form.action || location.href, {method: "POST", credentials: "same-origin",
                                             body: new FormData(form, form.querySelector("[type=submit]"))});
    }""")
    for _ in range(200):  # the first has reached the server
        if arrived:
            break
        page.wait_for_timeout(50)
    page.get_by_role("button", name="再開する").click()
    slip = page.locator(".print-slip")
    slip.wait_for()
    assert len(arrived) == 2  # both POSTs reached the server
    expect(page.locator("body")).to_contain_text("先に発行した初回ログインパスワードの通知書をもう一度表示しています")
    expect(page.locator("body")).not_to_contain_text("IB取引中止の状態ではありません")
    password = slip.locator(".initial-password").inner_text()
    page.screenshot(path=f"test-artifacts/admin-resume-twice-{device}.png", full_page=True)
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.status == Customer.Status.ACTIVE and customer.password_is_initial
    assert customer.user.check_password(password)  # the slip shown is the password that works
    assert AuditEvent.objects.filter(customer=customer, action="initial_password_issue").count() == 1
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume").count() == 1
    page.reload()  # the browser posts the form again: nothing more is done, and staff are told
    page.wait_for_url(f"**/admin/accounts/customer/{customer.pk}/change/")
    expect(page.locator("ul.messagelist")).to_contain_text("このIB取引再開は処理済みです")
    customer.user.refresh_from_db()
    assert customer.user.check_password(password)
    assert AuditEvent.objects.filter(customer=customer, action="ib_resume").count() == 1


def test_staff_suspend_ib_and_cancel_a_scheduled_transfer(page, device):
    """SEC-10, XFER-6: the customer phoned the branch (their password leaked); staff find the
    customer, stop IB for them, open 予約中の振込（取消）, cancel the transfer with a reason;
    the customer is mailed."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Customer
    from accounts.roles import branch_staff_group_ensure
    from notifications.models import OutboxMessage
    from tests.transfers.scheduled_support import schedule
    from tests.transfers.support import payer
    from transfers.banks import zengin_load
    from transfers.demo import reference_ensure
    from transfers.models import Transfer

    zengin_load(codes={"1633", "0161"})
    reference_ensure()  # the fee table (a transactional test starts without the migrations' data)
    staff = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    totp_device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    customer, account = payer(balance=100_000)
    day = dt.date.today() + dt.timedelta(days=30)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    transfer = schedule(customer, account, 12_345, day=day)

    _staff_login(page, pyotp.TOTP(base64.b32encode(totp_device.bin_key).decode()).now())
    page.goto(f"/admin/accounts/customer/?q={customer.contract_id}")
    page.get_by_role("link", name=customer.contract_id).click()
    page.get_by_role("link", name="IB取引中止（お申し出）").click()
    page.get_by_label("理由（本人確認の方法など）").fill("本人から電話、生年月日で確認")
    page.get_by_role("button", name="IB取引を中止する").click()
    expect(page.locator("ul.messagelist")).to_contain_text("IB取引を中止しました")
    customer.refresh_from_db()
    assert customer.status == Customer.Status.SUSPENDED
    page.get_by_role("link", name="予約中の振込（取消）").click()
    page.get_by_role("link", name="取消", exact=True).click()
    expect(page.get_by_text("振込金額 12,345円")).to_be_visible()
    page.get_by_label("理由（本人確認の方法など）").fill("IB取引中止の後、電話で本人確認")
    page.screenshot(path=f"test-artifacts/admin-scheduled-cancel-{device}.png", full_page=True)
    page.get_by_role("button", name="予約振込を取り消す").click()
    expect(page.locator("ul.messagelist")).to_contain_text("を取り消しました")
    page.screenshot(path=f"test-artifacts/admin-scheduled-cancel-done-{device}.png", full_page=True)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED
    assert OutboxMessage.objects.filter(customer=customer, event="transfer_cancelled_staff").exists()


def test_a_supervisor_freezes_an_account_and_branch_staff_cannot(page, device):
    """STAFF-1, LEDGER-7 (walk30 note): the demo had nobody who could freeze an account. The
    branch's 役席 (group 営業店役席者, demo ``yakuseki01``) sets 支払停止 and a 拘束額 on the
    account's page, audited; a member of 営業店担当者 reads the same page without the fields."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Account
    from accounts.roles import SUPERVISOR_GROUP, branch_staff_group_ensure
    from security.models import AuditEvent
    from tests import factories

    users = get_user_model().objects
    branch_staff_group_ensure()
    supervisor = users.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISOR_GROUP))
    code = pyotp.TOTP(base64.b32encode(
        TOTPDevice.objects.create(user=supervisor, name="端末", confirmed=True).bin_key).decode()).now()
    account = factories.account(owner=factories.customer(name_kanji="凍結 一郎"), balance=50_000)

    _staff_login(page, code)
    page.goto(f"/admin/accounts/account/{account.pk}/change/")
    page.get_by_label("状態").select_option(label="支払停止")
    page.get_by_label("拘束額").fill("12000")
    page.get_by_label("理由（裁判所の命令・不正利用の届出・お客さまのお申し出など）").fill("警察からの凍結依頼")
    page.get_by_role("button", name="保存", exact=True).click()
    page.locator("ul.messagelist").wait_for()
    page.screenshot(path=f"test-artifacts/admin-freeze-{device}.png", full_page=True)
    account.refresh_from_db()
    assert (account.status, account.hold_amount, account.balance) == ("frozen", 12_000, 50_000)
    assert AuditEvent.objects.get(action="account_change", actor="madoguchi").summary.endswith(
        "理由：警察からの凍結依頼")

    # a branch member (営業店担当者) sees the state but cannot change it
    supervisor.groups.set([branch_staff_group_ensure()])
    page.goto(f"/admin/accounts/account/{account.pk}/change/")
    page.get_by_text("支払停止").first.wait_for()
    assert page.locator('select[name="status"]').count() == 0
    assert page.locator('input[name="hold_amount"]').count() == 0
