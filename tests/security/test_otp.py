"""SEC-6 / SEC-8 / SEC-12: OTP software token — activation, single use, lockout, login."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from notifications.models import OutboxMessage
from security import cards, otp, selectors
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, ImageCardChallenge, OtpToken
from tests import factories
from tests.security.secondfactor import (
    activate_otp,
    card_post,
    code_at_next_step,
    customer_with_card,
    right_answers,
    totp_for,
    wrong_answers,
)

pytestmark = pytest.mark.django_db


def test_token_issue_serial_uri_and_reissue_before_activation_replaces_the_key():
    customer = customer_with_card()
    token = otp.otp_token_issue(customer=customer)
    assert re.fullmatch(r"CS[0-9]{10}", token.serial)
    again = otp.otp_token_issue(customer=customer)  # SEC-6: a key is never handed out twice
    assert again.serial != token.serial and again.device.bin_key != token.device.bin_key
    assert list(OtpToken.objects.filter(customer=customer)) == [again]
    assert not TOTPDevice.objects.filter(pk=token.device_id).exists()
    token = again
    uri = otp.otp_config_uri(token)
    assert uri.startswith("otpauth://totp/") and "issuer=%E5%A4%A7%E9%98%AA%E5%8E%9A%E7%94%9F%E4%BF%A1%E9%87%91" in uri
    assert f"secret={otp.otp_secret_base32(token)}" in uri
    assert otp.otp_qr_svg(token).startswith("<svg")
    assert not token.device.confirmed and not selectors.customer_otp_required_at_login(customer)


def test_activation_service_needs_serial_otp_and_card():
    customer = customer_with_card(email="o@example.jp")
    token = otp.otp_token_issue(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_activate(customer=customer, token_id=token.pk, serial="CS0000000000",
                         code=totp_for(token).now(),
                         required_at_login=True, challenge_id=challenge.pk,
                         card_answers=right_answers(challenge), ip=None)
    assert refused.value.field == "serial"
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial,
                         code=totp_for(token).now(), required_at_login=True,
                         challenge_id=challenge.pk, card_answers=wrong_answers(challenge), ip=None)
    assert refused.value.errors == {"card": cards.CARD_WRONG}
    token.device.refresh_from_db()
    assert token.device.last_t == -1  # the code was not consumed: it may be typed again
    assert cards.image_card_challenge_current(customer=customer).pk == challenge.pk  # sticky
    otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial.lower(),
                     code=totp_for(token).now(),
                     required_at_login=True, challenge_id=challenge.pk,
                     card_answers=right_answers(challenge), ip="10.1.1.1")
    token.refresh_from_db()
    assert token.is_active and token.required_at_login and token.device.confirmed
    assert selectors.customer_otp_required_at_login(customer)
    challenge.refresh_from_db()
    assert challenge.closed_reason == ImageCardChallenge.Closed.ANSWERED
    assert AuditEvent.objects.filter(customer=customer, action="otp_activate", outcome="success").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="otp_activate").count() == 1
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_token_issue(customer=customer)
    assert refused.value.message == otp.OTP_ALREADY_ACTIVE


def test_a_code_is_accepted_once():
    customer = customer_with_card()
    token = activate_otp(customer)
    code = code_at_next_step(token)
    otp.otp_verify(customer=customer, code=code, ip=None)
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_verify(customer=customer, code=code, ip=None)
    assert refused.value.message == otp.OTP_USED == (
        "このワンタイムパスワードは使用済みです。次のパスワードが表示されるまでお待ちください。")
    # An older code (the activation's step) is refused as used too.
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_verify(customer=customer, code=totp_for(token).now(), ip=None)
    assert refused.value.message == otp.OTP_USED
    assert Credential.objects.get(customer=customer, kind="otp").failures == 0  # replays aren't guesses


def test_activation_with_the_otp_locked_before_is_refused_before_anything_is_checked():
    """SEC-6, SEC-8, SEC-13 (review35b): 利用開始 with an OTP locked before (five wrong codes
    in an earlier activation, then a new identity check): refused with the lock message
    before the card or the code is checked — the card answer not used, nothing counted —
    and 取引履歴 says 拒否 「ロック中」, not 失敗."""
    customer = customer_with_card(email="k@example.jp")
    token = otp.otp_token_issue(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)
    wrong = f"{(int(totp_for(token).now()) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(AuthFactorError):
            otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial, code=wrong,
                             required_at_login=True, challenge_id=challenge.pk,
                             card_answers=right_answers(challenge), ip=None)
    assert Credential.objects.get(customer=customer, kind="otp").is_locked
    token = otp.otp_token_issue(customer=customer)
    challenge = cards.image_card_challenge_current(customer=customer)
    card_failures = Credential.objects.get(customer=customer, kind="image_card").failures
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_activate(customer=customer, token_id=token.pk, serial=token.serial, code=totp_for(token).now(),
                         required_at_login=True, challenge_id=challenge.pk,
                         card_answers=wrong_answers(challenge), ip=None)
    assert refused.value.message == otp.OTP_LOCKED and refused.value.locked and refused.value.field == "otp"
    row = AuditEvent.objects.filter(customer=customer, action="otp_activate").latest("pk")
    assert (row.outcome, row.summary) == ("refused", "ワンタイムパスワード：ロック中")
    # the wrong card answer was not checked: not counted, the challenge still open
    assert Credential.objects.get(customer=customer, kind="image_card").failures == card_failures
    assert cards.image_card_challenge_current(customer=customer).pk == challenge.pk
    token.refresh_from_db()
    assert not token.is_active and not token.device.confirmed


def test_five_wrong_codes_lock_the_otp_credential():
    customer = customer_with_card(email="l@example.jp")
    token = activate_otp(customer)
    right = code_at_next_step(token)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    messages = []
    for _ in range(5):
        with pytest.raises(AuthFactorError) as refused:
            otp.otp_verify(customer=customer, code=wrong, ip="10.2.2.2")
        messages.append(refused.value.message)
    assert messages == [otp.OTP_WRONG] * 4 + [otp.OTP_LOCKED]
    credential = Credential.objects.get(customer=customer, kind="otp")
    assert credential.failures == 5 and credential.is_locked
    assert AuditEvent.objects.filter(customer=customer, action="lockout", summary="ワンタイムパスワード").exists()
    assert OutboxMessage.objects.filter(customer=customer, event="lockout").exists()
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_verify(customer=customer, code=right, ip=None)
    assert refused.value.message == otp.OTP_LOCKED


def _login(client, customer, password="Pass1234"):
    return client.post("/login/", {"contract_id": customer.contract_id, "password": password})


def test_activation_flow_through_the_pages_then_login_asks_for_otp():
    customer = customer_with_card()
    client = Client(enforce_csrf_checks=False)
    login_page = client.get("/login/").content.decode()
    assert "ワンタイムパスワード 利用開始" in login_page and 'href="/otp/activate/"' in login_page
    # (a) contract ID + password; the wrong password counts like a login failure
    response = client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "bad999"})
    assert "契約者IDまたはログインパスワードが正しくありません。" in response.content.decode()
    assert Credential.objects.get(customer=customer, kind="password").failures == 1
    assert client.get("/otp/activate/token/").url == "/otp/activate/"  # nothing before (a)
    response = client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 302 and response.url == "/otp/activate/token/"
    assert client.get("/").url == "/login/"  # the pre-login state is not a login
    assert client.get("/settings/").status_code == 302
    # (b) the bank issues the token
    page = client.get("/otp/activate/token/").content.decode()
    token = OtpToken.objects.get(customer=customer)
    assert token.serial in page and "<svg" in page
    secret = otp.otp_secret_base32(token)
    assert "".join(re.findall(r"<span>([A-Z2-7]{1,4})</span>", page)) == secret
    # (c) serial + OTP + choice + card challenge
    page = client.get("/otp/activate/register/").content.decode()
    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    for cell in challenge.cells:
        assert f"マス目 <strong class=\"cell-label\">{cards.cell_label(cell)}</strong>" in page
    image = client.get(f"/image-auth/{challenge.pk}/0/0.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert "no-store" in image["Cache-Control"]
    data = {"serial": token.serial, "otp": totp_for(token).now(), "required_at_login": "1",
            **card_post(challenge, right_answers(challenge))}
    response = client.post("/otp/activate/register/", data)
    assert response.status_code == 302 and response.url == "/otp/activate/done/"
    done = client.get("/otp/activate/done/").content.decode()
    assert "ワンタイムパスワードの利用開始が完了しました" in done and "ログイン画面に戻る" in done
    token.refresh_from_db()
    assert token.is_active and token.required_at_login
    assert client.get(f"/image-auth/{challenge.pk}/0/0.png").status_code == 404  # state ended

    # Login now asks for the OTP; the session key changes again after it (SEC-12).
    client = Client()
    response = _login(client, customer)
    assert response.status_code == 302
    assert client.get("/").url == "/login/otp/"
    key_before = client.session.session_key
    response = client.post("/login/otp/", {"otp": totp_for(token).now()})  # used at activation
    assert "使用済み" in response.content.decode()
    response = client.post("/login/otp/", {"otp": code_at_next_step(token)})
    assert response.status_code == 302 and response.url == "/"
    assert client.session.session_key != key_before
    assert client.get("/").status_code == 200
    assert AuditEvent.objects.filter(customer=customer, action="login_otp", outcome="success").exists()


def test_otp_page_needs_the_otp_stage():
    customer = customer_with_card()
    client = Client()
    assert client.get("/login/otp/").url == "/login/"
    _login(client, customer)  # no OTP at login: stage complete
    assert client.get("/login/otp/").url == "/login/"


def test_activation_refused_for_initial_password_and_already_active():
    customer = customer_with_card()
    activate_otp(customer)
    response = Client().post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert otp.OTP_ALREADY_ACTIVE in response.content.decode()
    fresh = customer_with_card(password_is_initial=True)
    response = Client().post("/otp/activate/", {"contract_id": fresh.contract_id, "password": "Pass1234"})
    assert "初回ログインパスワードの変更がお済みではありません" in response.content.decode()


def test_activation_state_expires(monkeypatch):
    customer = customer_with_card()
    client = Client()
    client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert client.get("/otp/activate/token/").status_code == 200
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 11 * 60)
    assert client.get("/otp/activate/register/").url == "/otp/activate/"


def test_revoke_returns_the_customer_to_the_image_card():
    customer = customer_with_card()
    activate_otp(customer)
    factories.staff_user("staff01")  # the actor: a staff user who may reset a lost device's factor (security 0024)
    assert otp.otp_token_revoke(customer=customer, actor="staff01", reason="機種変更")
    assert not OtpToken.objects.filter(customer=customer).exists()
    assert not TOTPDevice.objects.filter(user=customer.user).exists()
    assert not selectors.customer_otp_required_at_login(customer)
    assert AuditEvent.objects.filter(customer=customer, action="otp_revoke", actor="staff01").exists()
    assert OutboxMessage.objects.filter(customer=customer, event="otp_revoke").count() == 1


def test_activation_identity_check_is_audited_as_such_not_as_a_login():
    from django.test import Client

    from security.models import AuditEvent
    from tests.security.secondfactor import customer_with_card

    customer = customer_with_card()
    response = Client().post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.last_login_at is None  # no login happened
    assert AuditEvent.objects.filter(customer=customer, action="otp_activate_identify",
                                     outcome="success").count() == 1
    assert not AuditEvent.objects.filter(customer=customer, action="login").exists()


# --- SEC-6: a key is shown in one activation only -----------------------------------------


def _identify(client, customer, password="Pass1234"):
    return client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": password})


def _shown_key(page: str) -> str:
    return "".join(re.findall(r"<span>([A-Z2-7]{1,4})</span>", page))


def _shown_serial(page: str) -> str:
    return re.search(r'id="otp-serial">(CS[0-9]{10})<', page).group(1)


def test_each_identity_check_issues_a_fresh_key_bound_to_its_session():
    """Whoever once passed step (a) must not learn the key the customer registers later:
    every identity check issues a new key and serial, replacing the pending one."""
    import pyotp

    customer = customer_with_card()
    first, second = Client(), Client()
    assert _identify(first, customer).url == "/otp/activate/token/"
    first_page = first.get("/otp/activate/token/").content.decode()
    first_key, first_serial = _shown_key(first_page), _shown_serial(first_page)
    reload = first.get("/otp/activate/token/").content.decode()
    assert (_shown_key(reload), _shown_serial(reload)) == (first_key, first_serial)  # same QR on reload

    assert _identify(second, customer).url == "/otp/activate/token/"
    second_page = second.get("/otp/activate/token/").content.decode()
    second_key, second_serial = _shown_key(second_page), _shown_serial(second_page)
    assert second_key != first_key and second_serial != first_serial
    token = OtpToken.objects.get(customer=customer)
    assert (otp.otp_secret_base32(token), token.serial) == (second_key, second_serial)
    assert TOTPDevice.objects.filter(user=customer.user).count() == 1  # the first key is gone

    # The first session registers with its own (replaced) key: refused, clearly, counting nothing.
    challenge = cards.image_card_challenge_current(customer=customer)
    response = first.post("/otp/activate/register/", {
        "serial": first_serial, "otp": pyotp.TOTP(first_key).now(), "required_at_login": "1",
        **card_post(challenge, right_answers(challenge))}, follow=True)
    page = response.content.decode()
    assert otp.OTP_ACTIVATION_REPLACED in page and second_key not in page
    assert "最初からやり直してください" in otp.OTP_ACTIVATION_REPLACED
    token.refresh_from_db()
    assert not token.is_active
    assert not Credential.objects.filter(customer=customer, kind="otp", failures__gt=0).exists()
    # …and the first session is never shown the second key.
    page = first.get("/otp/activate/token/", follow=True).content.decode()
    assert second_key not in page and second_serial not in page

    # The second session completes with the key it was shown.
    response = second.post("/otp/activate/register/", {
        "serial": second_serial, "otp": pyotp.TOTP(second_key).now(), "required_at_login": "0",
        **card_post(challenge, right_answers(challenge))})
    assert response.status_code == 302 and response.url == "/otp/activate/done/"
    token.refresh_from_db()
    assert token.is_active


def test_token_pages_use_only_the_token_bound_to_the_session():
    customer = customer_with_card()
    client = Client()
    _identify(client, customer)
    session = client.session
    bound = session["cosei_otp_activation"]["token"]
    assert OtpToken.objects.get(customer=customer).pk == bound
    # a token issued outside this activation (e.g. by another session) is not shown here
    otp.otp_token_issue(customer=customer)
    response = client.get("/otp/activate/token/")
    assert response.status_code == 302 and response.url == "/otp/activate/"
    assert client.get("/otp/activate/register/").url == "/otp/activate/"


def test_activation_service_refuses_a_replaced_token():
    customer = customer_with_card()
    old = otp.otp_token_issue(customer=customer)
    new = otp.otp_token_issue(customer=customer)
    assert new.pk != old.pk and not OtpToken.objects.filter(pk=old.pk).exists()
    challenge = cards.image_card_challenge_current(customer=customer)
    with pytest.raises(AuthFactorError) as refused:
        otp.otp_activate(customer=customer, token_id=old.pk, serial=old.serial,
                         code=totp_for(old).now(), required_at_login=True, challenge_id=challenge.pk,
                         card_answers=right_answers(challenge), ip=None)
    assert refused.value.message == otp.OTP_ACTIVATION_REPLACED


@pytest.mark.parametrize("shown", ["{a} {b}", "{a}　{b}", "{a}  {b}", "{a}-{b}", " {a} {b} "])
def test_a_code_typed_as_the_app_shows_it_logs_in(shown):
    """SEC-6 (probe35 F4): authenticator apps show 「123 456」; typed (or pasted) so, with
    full-width digits and blank too, the code is read — as the email code is."""
    customer = customer_with_card()
    token = activate_otp(customer)
    client = Client()
    _login(client, customer)
    code = code_at_next_step(token)
    typed = shown.format(a=code[:3], b=code[3:])
    if "　" in shown:
        typed = typed.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = client.post("/login/otp/", {"otp": typed})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("typed", ["123 45", "12 34 567", "-123456", "123456-", "123 456x", "123_456"])
def test_blanks_between_digits_are_the_only_slack_in_a_code(typed):
    from security.forms import OtpLoginForm

    form = OtpLoginForm({"otp": typed})
    assert not form.is_valid() and form.errors["otp"] == [otp.OTP_FORMAT]


def test_the_otp_field_keeps_the_numeric_keyboard_and_no_pattern_of_its_own():
    """SEC-6, UI-1: the field's ``pattern`` ([0-9０-９\\s]*) refused 「123-456」, which the
    server reads; the form is novalidate, so the server's message is the one rule. The
    phone still gets its numeric keyboard (inputmode) and the code's autofill."""
    customer = customer_with_card()
    activate_otp(customer)
    client = Client()
    _login(client, customer)
    page = client.get("/login/otp/").content.decode()
    form = next(form for form in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if 'name="otp"' in form)
    field = re.search(r'<input[^>]*name="otp"[^>]*>', form).group(0)
    assert "novalidate" in form.split(">", 1)[0]
    assert 'inputmode="numeric"' in field and 'autocomplete="one-time-code"' in field
    assert "pattern=" not in field


def test_a_locked_otp_is_said_at_the_login_step_before_any_code_is_typed():
    """SEC-6, SEC-8 (probe35 F10): with the OTP locked, the login's OTP page showed the form
    — the lock was told only after a code was sent. Now the step ends the login with the
    lock message (the branch lifts it), as a password lock ends it, and audits it 拒否."""
    customer = customer_with_card()
    activate_otp(customer)
    factories.credential_locked(customer, "otp")
    client = Client()
    _login(client, customer)
    response = client.get("/login/otp/")
    assert response.status_code == 302 and response.url == "/login/"
    page = client.get("/login/").content.decode()
    assert otp.OTP_LOCKED in page and "お取引店またはお問い合わせ窓口までご連絡ください" in page
    assert client.get("/").url == "/login/"  # the half-way session is ended
    assert AuditEvent.objects.filter(customer=customer, action="login_otp", outcome="refused",
                                     summary="ワンタイムパスワード ロック中").count() == 1


def test_the_code_that_locks_the_otp_ends_the_login_with_the_lock_message():
    customer = customer_with_card()
    token = activate_otp(customer)
    client = Client()
    _login(client, customer)
    wrong = f"{(int(code_at_next_step(token)) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert otp.OTP_WRONG in client.post("/login/otp/", {"otp": wrong}).content.decode()
    response = client.post("/login/otp/", {"otp": wrong})
    assert response.status_code == 302 and response.url == "/login/"
    assert otp.OTP_LOCKED in client.get("/login/").content.decode()
    assert Credential.objects.get(customer=customer, kind="otp").failures == 5


# --- OTP at login re-checks the password lock and the contract status -------------------------


def test_otp_login_refused_when_the_password_was_locked_meanwhile():

    from security.services import LOGIN_LOCKED

    customer = customer_with_card()
    token = activate_otp(customer)
    client = Client()
    _login(client, customer)
    assert client.get("/").url == "/login/otp/"
    key = client.session.session_key
    factories.credential_locked(customer, "password")
    response = client.post("/login/otp/", {"otp": code_at_next_step(token)})
    assert response.status_code == 302 and response.url == "/login/"
    assert LOGIN_LOCKED in client.get("/login/").content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/").url == "/login/"
    assert AuditEvent.objects.filter(customer=customer, action="login_otp", outcome="refused",
                                     summary="ロック中").exists()
    assert not AuditEvent.objects.filter(customer=customer, action="login_otp", outcome="success").exists()


def test_otp_login_refused_for_a_suspended_contract():
    from security.services import LOGIN_SUSPENDED, customer_ib_resume, login_refusal

    customer = customer_with_card()
    token = activate_otp(customer)
    client = Client()
    _login(client, customer)
    factories.suspended(customer)
    customer.refresh_from_db()
    assert login_refusal(customer=customer) == LOGIN_SUSPENDED
    response = client.post("/login/otp/", {"otp": code_at_next_step(token)})
    assert response.status_code == 302 and response.url == "/login/"
    factories.staff_user("staff01")  # the actor: a staff user who may (security 0023)
    customer_ib_resume(customer=customer, reason="本人確認済み", actor="staff01")  # staff resume
    assert client.get("/").url == "/login/"  # the half-way session did not survive


def _activation_ready(customer) -> tuple[Client, dict]:
    """A client at the register page of its activation, and the right post for it."""
    client = Client()
    client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    client.get("/otp/activate/token/")
    client.get("/otp/activate/register/")
    token = OtpToken.objects.get(customer=customer)
    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    return client, {"serial": token.serial, "otp": totp_for(token).now(), "required_at_login": "1",
                    **card_post(challenge, right_answers(challenge))}


def _registered_once(customer) -> None:
    """One activation happened: one token, one success row, one mail, nothing counted."""
    assert OtpToken.objects.get(customer=customer).is_active
    rows = AuditEvent.objects.filter(customer=customer, action="otp_activate")
    assert list(rows.values_list("outcome", flat=True)) == ["success"]
    assert OutboxMessage.objects.filter(customer=customer, event="otp_activate").count() == 1
    assert not Credential.objects.filter(customer=customer, failures__gt=0).exists()


@pytest.mark.parametrize("race", [False, True])
def test_the_loser_of_a_double_click_on_register_is_told_it_is_done(race, monkeypatch):
    """SEC-6, SEC-14: two submits of the 登録 page at once (a double click) both loaded the
    session with this activation; the first registers the token. The second registers
    nothing more and is shown the done page like the first — it was told 「既に利用開始の
    お手続きが完了しています」 on the login page, or (when it had read the token before the
    first committed) that the key was replaced by a later activation, which never happened.
    ``race``: the loser read the pending token before the winner committed."""
    customer = customer_with_card()
    client, data = _activation_ready(customer)
    state = client.session["cosei_otp_activation"]
    stale_token = OtpToken.objects.select_related("device", "customer").get(customer=customer)
    winner = client.post("/otp/activate/register/", data)
    assert winner.url == "/otp/activate/done/"
    session = client.session
    session["cosei_otp_activation"] = state  # as the loser's request still saw it
    session.save()
    if race:
        from security import views

        monkeypatch.setattr(views, "_activation_token", lambda request, customer: stale_token)
    loser = client.post("/otp/activate/register/", data)
    assert loser.status_code == 302 and loser.url == "/otp/activate/done/"
    page = client.get(loser.url).content.decode()
    assert "ワンタイムパスワードの利用開始が完了しました" in page
    assert "cosei_otp_activation" not in client.session
    _registered_once(customer)


@pytest.mark.parametrize("challenge", ["1\x00", "abc", "", "9" * 30])
def test_a_tampered_challenge_field_is_told_as_a_changed_challenge(challenge):
    """SEC-5, SEC-6, UI-1 (probe35 F6): the hidden ``challenge`` with a NUL (or not a number)
    re-showed the form with no message anywhere — its field error is on a hidden field. It
    now says 「認証用画像の指定が変わりました…」, as a stale challenge id does; nothing is
    counted or registered."""
    from security.cards import CARD_CHALLENGE_CHANGED

    customer = customer_with_card()
    client, data = _activation_ready(customer)
    response = client.post("/otp/activate/register/", {**data, "challenge": challenge})
    assert response.status_code == 200
    errors = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', response.content.decode(), re.S)
    assert errors is not None and CARD_CHALLENGE_CHANGED in errors.group(1)
    assert not OtpToken.objects.get(customer=customer).is_active
    assert not Credential.objects.filter(customer=customer, failures__gt=0).exists()
    # the page asks the open challenge again — its hidden field holds that challenge's id,
    # not the bad value posted (which was re-sent and refused on every resend): the right
    # answer sent with the id the page shows then registers
    shown = re.search(r'<input type="hidden" name="challenge" value="([^"]*)"', response.content.decode())
    assert shown is not None and shown.group(1) == data["challenge"]
    resent = client.post("/otp/activate/register/", {**data, "challenge": shown.group(1)})
    assert resent.status_code == 302 and resent.url == "/otp/activate/done/"
