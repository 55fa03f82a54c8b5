"""SEC-16: passkeys for login and step-up, verified with real signatures of a software
authenticator (tests/security/webauthn_authenticator.py)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.models import OutboxMessage
from security import passkeys, stepup
from security.errors import AuthFactorError
from security.models import AuditEvent, Credential, Passkey, StepUp, WebAuthnChallenge
from tests import factories
from tests.security import secondfactor
from tests.security.webauthn_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

ORIGIN = "http://localhost"
ORIGINS = [ORIGIN]


def registered(customer, name: str = "私のスマートフォン") -> SoftAuthenticator:
    authenticator = SoftAuthenticator(rp_id=settings.WEBAUTHN_RP_ID, origin=ORIGIN)
    registration = passkeys.passkey_registration_authorise(customer=customer, name=name)
    options = passkeys.passkey_registration_options(customer=customer, registration=registration)
    passkeys.passkey_register(customer=customer, response_json=authenticator.register(options),
                              origins=ORIGINS, ip="127.0.0.1")
    return authenticator


def login_options(customer) -> str:
    return passkeys.passkey_authentication_options(customer=customer)


def test_registration_stores_the_public_key_audits_and_mails():
    customer = secondfactor.customer_with_card()
    registered(customer)
    passkey = Passkey.objects.get(customer=customer)
    assert passkey.name == "私のスマートフォン" and passkey.transports == ["internal"]
    assert len(bytes(passkey.public_key)) > 60
    assert AuditEvent.objects.filter(customer=customer, action="passkey_register", outcome="success").exists()
    assert OutboxMessage.objects.filter(customer=customer, event="passkey_add").exists()


@pytest.mark.parametrize("tamper", ["origin", "replay"])
def test_a_registration_from_another_origin_or_replayed_is_refused(tamper):
    customer = secondfactor.customer_with_card()
    authenticator = SoftAuthenticator(rp_id=settings.WEBAUTHN_RP_ID, origin=ORIGIN)
    registration = passkeys.passkey_registration_authorise(customer=customer, name="PC")
    options = passkeys.passkey_registration_options(customer=customer, registration=registration)
    response = authenticator.register(options, origin="https://phish.example" if tamper == "origin" else None)
    if tamper == "replay":
        passkeys.passkey_register(customer=customer, response_json=response, origins=ORIGINS, ip=None)
    with pytest.raises(passkeys.PasskeyError):
        passkeys.passkey_register(customer=customer, response_json=response, origins=ORIGINS, ip=None)
    assert Passkey.objects.filter(customer=customer).count() == (1 if tamper == "replay" else 0)


def test_at_most_five_passkeys():
    customer = secondfactor.customer_with_card()
    for number in range(settings.PASSKEYS_PER_CUSTOMER):
        registered(customer, name=f"端末{number}")
    with pytest.raises(passkeys.PasskeyError) as refused:
        passkeys.passkey_registration_authorise(customer=customer, name="6台目")
    assert "5件まで" in refused.value.message


def test_login_assertion_is_verified_and_counts_up():
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    passkeys.passkey_verify_login(customer=customer, response_json=authenticator.assertion(login_options(customer)),
                                  origins=ORIGINS, ip=None)
    passkey = Passkey.objects.get(customer=customer)
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert AuditEvent.objects.filter(customer=customer, action="login_passkey", outcome="success").exists()


@pytest.mark.parametrize("attack", ["wrong_origin", "wrong_rp_id", "replayed_challenge",
                                    "sign_count_regression", "wrong_user", "deleted_passkey",
                                    "garbage"])
def test_bad_assertions_are_refused_and_counted(attack):
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    options = login_options(customer)
    if attack == "wrong_origin":
        response = authenticator.assertion(options, origin="https://phish.example")
    elif attack == "wrong_rp_id":
        response = authenticator.assertion(options, rp_id="phish.example")
    elif attack == "replayed_challenge":
        response = authenticator.assertion(options)
        passkeys.passkey_verify_login(customer=customer, response_json=response, origins=ORIGINS, ip=None)
    elif attack == "sign_count_regression":
        authenticator.sign_count = 10
        passkeys.passkey_verify_login(customer=customer, ip=None, origins=ORIGINS,
                                      response_json=authenticator.assertion(options))
        response = authenticator.assertion(login_options(customer), sign_count=3)  # a cloned key
    elif attack == "wrong_user":
        # another customer's passkey answering this customer's challenge
        other = secondfactor.customer_with_card()
        response = registered(other).assertion(options)
    elif attack == "deleted_passkey":
        # deleted after the options named it (another tab, or a lost phone removed): its
        # still valid signature on a still unused challenge is refused (review2)
        response = authenticator.assertion(options)
        passkeys.passkey_delete(customer=customer, passkey_id=Passkey.objects.get(customer=customer).pk, ip=None)
    else:
        response = json.dumps({"id": "x", "rawId": "x", "response": {"clientDataJSON": "%%%"}}) + "\x00"
    with pytest.raises(passkeys.PasskeyError):
        passkeys.passkey_verify_login(customer=customer, response_json=response, origins=ORIGINS, ip=None)
    credential = Credential.objects.get(customer=customer, kind="passkey")
    assert credential.failures == 1
    assert AuditEvent.objects.filter(customer=customer, action="login_passkey", outcome="failure").exists()


def test_five_failures_lock_the_passkey():
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    for _ in range(5):
        with pytest.raises(passkeys.PasskeyError):
            passkeys.passkey_verify_login(customer=customer, origins=ORIGINS, ip=None,
                                          response_json=authenticator.assertion(login_options(customer),
                                                                                origin="https://x.example"))
    with pytest.raises(passkeys.PasskeyError) as refused:
        passkeys.passkey_verify_login(customer=customer, origins=ORIGINS, ip=None,
                                      response_json=authenticator.assertion(login_options(customer)))
    assert refused.value.message == passkeys.PASSKEY_LOCKED
    assert OutboxMessage.objects.filter(customer=customer, event="lockout").exists()


CONTENT = {"operation": "transfer", "amount": 10_000, "payee": "ﾔﾏﾀﾞ ﾀﾛｳ"}


def _verify(customer, pending, content=CONTENT, *, execute, **answer):
    return stepup.stepup_verify_execute(customer=customer, stepup_id=pending.pk, content=content,
                                        ip=None, execute=execute, **answer)


def test_stepup_with_a_passkey_is_bound_to_the_confirmed_content():
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    pending = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    assert pending.method == StepUp.Method.PASSKEY
    options = passkeys.passkey_authentication_options(customer=customer, stepup=pending)
    response = authenticator.assertion(options)
    # the same signature offered for other content: refused before the signature counts
    with pytest.raises(AuthFactorError):
        _verify(customer, pending, {**CONTENT, "amount": 99_999}, execute=pytest.fail,
                passkey_response=response, origins=ORIGINS)
    assert _verify(customer, pending, execute=lambda: "done",
                   passkey_response=response, origins=ORIGINS) == "done"
    pending.refresh_from_db()
    assert pending.verified_at is not None and pending.used_at is not None


def test_an_assertion_for_another_operation_is_refused():
    customer = secondfactor.customer_with_card()
    authenticator = registered(customer)
    first = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    second = stepup.stepup_begin(customer=customer, kind="transfer", content={**CONTENT, "amount": 1})
    response_for_second = authenticator.assertion(
        passkeys.passkey_authentication_options(customer=customer, stepup=second))
    with pytest.raises(AuthFactorError) as refused:
        _verify(customer, first, execute=pytest.fail, passkey_response=response_for_second,
                origins=ORIGINS)
    assert refused.value.message == passkeys.PASSKEY_WRONG
    first.refresh_from_db()
    assert first.verified_at is None


def test_passkey_only_refuses_a_correct_otp():
    """A relayed OTP (or card answer) gets nothing once the passkey is the only factor."""
    customer = secondfactor.customer_with_card()
    token = secondfactor.activate_otp(customer)
    registered(customer)
    relayed = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    stepup.stepup_use_guide_factor(customer=customer, stepup=relayed)  # the phisher's choice
    assert relayed.method == StepUp.Method.OTP
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    with pytest.raises(stepup.StepUpError) as refused:
        _verify(customer, relayed, execute=pytest.fail, otp=secondfactor.totp_for(token).now())
    assert refused.value.message == stepup.STEPUP_METHOD_CHANGED
    fresh = stepup.stepup_begin(customer=customer, kind="transfer", content=CONTENT)
    stepup.stepup_use_guide_factor(customer=customer, stepup=fresh)
    assert fresh.method == StepUp.Method.PASSKEY  # no switching back


def test_deleting_the_last_passkey_ends_passkey_only():
    customer = secondfactor.customer_with_card()
    registered(customer)
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    passkeys.passkey_delete(customer=customer, passkey_id=Passkey.objects.get(customer=customer).pk, ip=None)
    customer.refresh_from_db()
    assert not customer.passkey_only
    assert OutboxMessage.objects.filter(customer=customer, event="passkey_remove").exists()


def test_deleting_the_last_passkey_ends_passkey_only_set_in_another_tab():
    """SEC-16: the delete read 「パスキーでのみログイン」 from the customer as the request had
    loaded it. Set in another tab after that (its step-up committed first), the delete of
    the last passkey kept it on: no passkey and passkey-only — locked out until branch
    staff reset it. The delete reads the setting under the customer's row lock."""
    customer = secondfactor.customer_with_card()
    registered(customer)
    stale = type(customer).objects.get(pk=customer.pk)  # the delete's request, loaded first
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)  # the other tab
    passkeys.passkey_delete(customer=stale, passkey_id=Passkey.objects.get(customer=customer).pk, ip=None)
    customer.refresh_from_db()
    assert not customer.passkey_only
    assert "パスキーでのみログインを解除" in AuditEvent.objects.get(customer=customer, action="passkey_delete").summary


def test_passkey_only_to_the_value_in_force_is_said_before_any_step_up(client):
    """SEC-16: the page's button always offers the other value, but a page left open in
    another tab offers the value set since: it asked for a step-up, then said and mailed
    「設定を変更しました」 though nothing changed. The page says it is the current setting."""
    customer = secondfactor.customer_with_card()
    registered(customer)
    passkeys.passkey_only_set(customer=customer, enabled=False, ip=None)
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}, HTTP_HOST="localhost")
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    response = client.post("/settings/passkeys/", {"passkey_only": "0"}, HTTP_HOST="localhost", follow=True)
    assert "現在の設定と同じです。" in response.content.decode()
    assert not StepUp.objects.filter(customer=customer, kind="passkey_only").exists()


def test_passkey_only_without_a_passkey_is_refused_before_any_step_up(client):
    """SEC-16, SEC-7 (probe35 F9): the page offers no 「パスキーでのみログイン」 without a
    passkey, but a crafted POST went to the confirm page and spent the OTP (or card
    answer) before the refusal. It is now refused before any step-up begins."""
    customer = secondfactor.customer_with_card()
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"}, HTTP_HOST="localhost")
    response = client.post("/settings/passkeys/", {"passkey_only": "1"}, HTTP_HOST="localhost")
    assert response.status_code == 302 and response.url == "/settings/passkeys/"
    assert passkeys.PASSKEY_NONE_FOR_ONLY in client.get(response.url, HTTP_HOST="localhost").content.decode()
    assert not StepUp.objects.filter(customer=customer).exists()
    customer.refresh_from_db()
    assert not customer.passkey_only


def test_passkey_only_needs_a_passkey():
    customer = secondfactor.customer_with_card()
    with pytest.raises(passkeys.PasskeyError):
        passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)


def test_staff_reset_removes_every_passkey_and_the_setting():
    customer = secondfactor.customer_with_card()
    registered(customer)
    registered(customer, name="PC")
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    factories.staff_user("madoguchi")  # the actor: a staff user who may (security 0023)
    assert passkeys.passkeys_staff_reset(customer=customer, reason="紛失（運転免許証で確認）", actor="madoguchi") == 2
    customer.refresh_from_db()
    assert not customer.passkey_only and not Passkey.objects.filter(customer=customer).exists()
    event = AuditEvent.objects.get(customer=customer, action="passkey_reset")
    assert event.actor == "madoguchi" and "紛失" in event.summary


CONTACT = "お心当たりのない場合は"


def _body(customer, event: str) -> str:
    return OutboxMessage.objects.filter(customer=customer, event=event).latest("pk").body


def test_passkey_mails_say_whom_to_contact_once():
    """SEC-16, NOTE-1 (walk33 F6): each passkey mail said 「お心当たり…ご連絡ください」 twice
    (its own line and the common closing), once 「がない」, once 「のない」."""
    customer = secondfactor.customer_with_card()
    registered(customer)
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    passkeys.passkey_delete(customer=customer, passkey_id=Passkey.objects.get(customer=customer).pk, ip=None)
    for event in ("passkey_add", "passkey_only", "passkey_remove"):
        body = _body(customer, event)
        assert body.count("心当たり") == 1, body
        assert ("お心当たりのない場合は、各種設定の「パスキー」で登録内容をご確認のうえ、"
                "至急お取引店またはお問い合わせ窓口までご連絡ください。") in body
        assert "受付日時：" in body and "フリーダイヤル" in body


@pytest.mark.parametrize("otp_state", ["none", "step_up", "login"])
def test_the_staff_reset_mail_says_how_to_log_in_now(otp_state):
    """SEC-16, SEC-8 (walk33 F6): after branch staff deleted every passkey, the mail sent the
    customer to check the (now empty) passkey list and did not say how to log in: it names
    the factors the customer has now, and whom to contact once."""
    customer = secondfactor.customer_with_card()
    if otp_state != "none":
        secondfactor.activate_otp(customer, required_at_login=otp_state == "login")
    registered(customer)
    factories.staff_user("madoguchi")  # the actor: a staff user who may (security 0023)
    passkeys.passkeys_staff_reset(customer=customer, reason="紛失（運転免許証で確認）", actor="madoguchi")
    body = _body(customer, "passkey_remove")
    assert "お申し出により、登録されていたパスキーをすべて削除しました。" in body
    assert "登録内容をご確認" not in body and body.count("心当たり") == 1
    assert "お心当たりのない場合は、至急お取引店またはお問い合わせ窓口までご連絡ください。" in body
    assert {
        "none": "今後は、ログインパスワードでログインし、お取引の認証には画像認証カードをご利用ください。",
        "step_up": "今後は、ログインパスワードでログインし、お取引の認証にはワンタイムパスワードをご利用ください。",
        "login": "今後は、ログインパスワードとワンタイムパスワードでログインし、お取引の認証にもワンタイムパスワードをご利用ください。",
    }[otp_state] in body
    assert "パスキーは、ログイン後に各種設定の「パスキー」から改めて登録できます。" in body


# --- through the views (the login step and 「パスキーでのみログイン」) -----------------------

def _password_login(client, customer):
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"},
                           HTTP_HOST="localhost")
    assert response.status_code == 302
    return client.get("/", HTTP_HOST="localhost")


def test_login_asks_for_the_passkey_and_passkey_only_refuses_the_otp(client):
    customer = secondfactor.customer_with_card()
    token = secondfactor.activate_otp(customer, required_at_login=True)
    authenticator = registered(customer)
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    response = _password_login(client, customer)
    assert response.url == "/login/passkey/"
    # the relayed OTP: the OTP page is not this session's step, and no way around the passkey
    client.post("/login/otp/", {"otp": secondfactor.totp_for(token).now()}, HTTP_HOST="localhost")
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    assert client.get("/", HTTP_HOST="localhost").url == "/login/passkey/"
    options = client.post("/login/passkey/options/", HTTP_HOST="localhost").content.decode()
    response = client.post("/login/passkey/", {"passkey_response": authenticator.assertion(options)},
                           HTTP_HOST="localhost")
    assert response.url == "/"
    assert client.get("/", HTTP_HOST="localhost").status_code == 200


def test_without_passkey_only_the_customer_may_log_in_another_way(client):
    customer = secondfactor.customer_with_card()
    registered(customer)
    _password_login(client, customer)
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    assert client.get("/", HTTP_HOST="localhost").status_code == 200


def test_passkeys_need_the_rp_host(client):
    customer = secondfactor.customer_with_card()
    registered(customer)
    client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"},
                HTTP_HOST="127.0.0.1")
    response = client.post("/login/passkey/options/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 400 and "localhost" in response.json()["error"]


def test_branch_staff_reset_a_customers_passkeys_in_admin_with_a_reason():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure

    customer = secondfactor.customer_with_card()
    registered(customer)
    passkeys.passkey_only_set(customer=customer, enabled=True, ip=None)
    user = get_user_model().objects.create_user(username="madoguchi", password="Staff-pass-1", is_staff=True)
    user.groups.add(branch_staff_group_ensure())
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=user, name="t", confirmed=True).persistent_id
    session.save()
    chosen = {"action": "passkeys_reset", "_selected_action": [str(p.pk) for p in Passkey.objects.all()]}
    page = client.post("/admin/security/passkey/", chosen)
    assert "パスキーの一括削除" in page.content.decode() and customer.contract_id in page.content.decode()
    refused = client.post("/admin/security/passkey/", {**chosen, "apply": "1", "reason": "\x07" + "あ" * 120})
    assert "理由は100文字以内で入力してください。" in refused.content.decode()
    refused = client.post("/admin/security/passkey/", {**chosen, "apply": "1", "reason": "\x07"})
    assert "理由に使用できない文字（制御文字 U+0007）が含まれています。" in refused.content.decode()
    assert Passkey.objects.filter(customer=customer).exists()
    done = client.post("/admin/security/passkey/", {**chosen, "apply": "1", "reason": "紛失 運転免許証で確認"})
    assert done.status_code == 302
    customer.refresh_from_db()
    assert not customer.passkey_only and not Passkey.objects.filter(customer=customer).exists()
    assert AuditEvent.objects.get(customer=customer, action="passkey_reset").actor == "madoguchi"


# --- a double submit of the confirm page (SEC-14) ---------------------------------------

def _double_submit(client, customer, *, forget=()):
    """Two submits of one confirm page at once (a double click): both requests loaded the
    session with the pending operation; the first runs it, the second finds the step-up
    used. ``forget``: session keys the winner set that the loser's session lacked (it was
    loaded before, and may be saved after). Returns both responses."""
    from security import cards

    pending = client.session["cosei_pending_passkey"]
    challenge = cards.image_card_challenge_current(customer=customer)
    answer = secondfactor.card_post(challenge, secondfactor.right_answers(challenge))
    winner = client.post("/settings/passkeys/confirm/", answer, HTTP_HOST="localhost")
    session = client.session
    session["cosei_pending_passkey"] = pending
    for key in forget:
        session.pop(key, None)
    session.save()
    loser = client.post("/settings/passkeys/confirm/", answer, HTTP_HOST="localhost")
    assert "cosei_pending_passkey" not in client.session
    return winner, loser


def test_the_loser_of_a_double_click_on_register_goes_on_to_the_registration(client):
    """It showed 「このお取引は既に処理されています」; it goes on to the registration the
    first one authorised, even when its session was saved last without it."""
    customer = secondfactor.customer_with_card()
    _password_login(client, customer)
    response = client.post("/settings/passkeys/", {"register": "1", "name": "私のiPhone"}, HTTP_HOST="localhost")
    assert response.url == "/settings/passkeys/confirm/"
    winner, loser = _double_submit(client, customer, forget=["cosei_passkey_registration"])
    assert winner.url == loser.url == "/settings/passkeys/register/"
    page = client.get("/settings/passkeys/register/", HTTP_HOST="localhost").content.decode()
    assert "私のiPhone" in page and "有効時間が過ぎました" not in page
    registration = WebAuthnChallenge.objects.get(customer=customer, purpose="register")
    assert client.session["cosei_passkey_registration"] == str(registration.pk)


def test_the_loser_of_a_double_click_on_delete_is_told_it_was_deleted(client):
    customer = secondfactor.customer_with_card()
    registered(customer)
    _password_login(client, customer)
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    passkey = Passkey.objects.get(customer=customer)
    assert client.post("/settings/passkeys/", {"delete": str(passkey.pk)},
                       HTTP_HOST="localhost").url == "/settings/passkeys/confirm/"
    client.post("/settings/passkeys/confirm/", {"stepup_other_factor": "1", "stepup": str(
        client.session["cosei_pending_passkey"]["stepup"])}, HTTP_HOST="localhost")  # no passkey here: the card
    winner, loser = _double_submit(client, customer)
    assert winner.url == loser.url == "/settings/passkeys/"
    page = client.get("/settings/passkeys/", HTTP_HOST="localhost").content.decode()
    assert "パスキーを削除しました。" in page and "既に処理されています" not in page
    assert not Passkey.objects.filter(customer=customer).exists()
    assert AuditEvent.objects.filter(customer=customer, action="passkey_delete").count() == 1


def _shown_answer(client, customer) -> dict:
    """The confirm page's post: the step-up it shows and the image card's right answer."""
    import re

    from security import cards

    page = client.get("/settings/passkeys/confirm/", HTTP_HOST="localhost").content.decode()
    challenge = cards.image_card_challenge_current(customer=customer)
    return {"stepup": re.search(r'name="stepup" value="([^"]+)"', page)[1],
            **secondfactor.card_post(challenge, secondfactor.right_answers(challenge))}


@pytest.mark.parametrize("operation", ["passkey_only", "passkey_delete"])
def test_a_confirm_posted_again_after_it_went_through_is_told_what_was_done(client, operation):
    """SEC-14, SEC-16: the confirm page in a second tab (or its POST replayed) after the
    first submit went through landed on the passkey page with 「既に完了したか別の画面で
    中止された」. The page posts the step-up it showed: a used one of the customer's is told
    what the first did; nothing is done twice."""
    customer = secondfactor.customer_with_card()
    registered(customer)
    _password_login(client, customer)
    client.post("/login/passkey/", {"login_other_factor": "1"}, HTTP_HOST="localhost")
    passkey = Passkey.objects.get(customer=customer)
    form = {"delete": str(passkey.pk)} if operation == "passkey_delete" else {"passkey_only": "1"}
    assert client.post("/settings/passkeys/", form, HTTP_HOST="localhost").url == "/settings/passkeys/confirm/"
    client.post("/settings/passkeys/confirm/", {"stepup_other_factor": "1", "stepup": str(
        client.session["cosei_pending_passkey"]["stepup"])}, HTTP_HOST="localhost")  # no passkey here: the card
    answer = _shown_answer(client, customer)
    assert client.post("/settings/passkeys/confirm/", answer, HTTP_HOST="localhost").url == "/settings/passkeys/"
    client.get("/settings/passkeys/", HTTP_HOST="localhost")  # the first one's message, read
    replay = client.post("/settings/passkeys/confirm/", answer, HTTP_HOST="localhost", follow=True)
    assert replay.redirect_chain == [("/settings/passkeys/", 302)]
    page = replay.content.decode()
    assert ("パスキーを削除しました。" if operation == "passkey_delete"
            else "「パスキーでのみログイン」の設定を変更しました。") in page and "既に完了した" not in page
    assert AuditEvent.objects.filter(customer=customer, action=operation, outcome="success").count() == 1


def test_a_register_confirm_posted_again_goes_on_to_the_registration_or_says_it_is_registered(client):
    """SEC-14, SEC-16: posted again after the first submit authorised the ceremony, the
    confirm goes on to that ceremony; posted again after the passkey was registered, it
    says so — not 「既に完了したか…」, nor that the registration expired."""
    customer = secondfactor.customer_with_card()
    _password_login(client, customer)
    client.post("/settings/passkeys/", {"register": "1", "name": "私のiPhone"}, HTTP_HOST="localhost")
    answer = _shown_answer(client, customer)
    url = "/settings/passkeys/confirm/"
    assert client.post(url, answer, HTTP_HOST="localhost").url == "/settings/passkeys/register/"
    registration = client.session["cosei_passkey_registration"]
    session = client.session
    del session["cosei_passkey_registration"]  # the other tab's session never had it
    session.save()
    assert client.post(url, answer, HTTP_HOST="localhost").url == "/settings/passkeys/register/"
    assert client.session["cosei_passkey_registration"] == registration
    assert WebAuthnChallenge.objects.filter(customer=customer, purpose="register").count() == 1
    # the ceremony ends with the passkey registered; the same post once more
    registered(customer, name="私のiPhone")
    WebAuthnChallenge.objects.filter(pk=registration).update(used_at=timezone.now())
    replay = client.post(url, answer, HTTP_HOST="localhost", follow=True)
    assert replay.redirect_chain == [("/settings/passkeys/", 302)]
    page = replay.content.decode()
    assert "パスキー「私のiPhone」を登録しました。" in page and "有効時間が過ぎました" not in page
    assert AuditEvent.objects.filter(customer=customer, action="passkey_register", outcome="success").count() == 1


def test_a_passkey_name_is_counted_as_the_customer_sees_it(client):
    """SEC-16, UI-1 (probe34 F6, as for a payee's 登録名): 「ｶﾞ」 is two code points and one
    character seen. 32 of them are a name of 32 characters, kept as 「ガ」 (display_name:
    what is counted is what is stored, and fits the column); 33 are refused."""
    customer = secondfactor.customer_with_card()
    _password_login(client, customer)
    refused = client.post("/settings/passkeys/", {"register": "1", "name": "ｶﾞ" * 33}, HTTP_HOST="localhost")
    assert refused.status_code == 200
    assert "パスキーの名前は32文字以内で入力してください。" in refused.content.decode()
    response = client.post("/settings/passkeys/", {"register": "1", "name": "ｶﾞ" * 32}, HTTP_HOST="localhost")
    assert response.url == "/settings/passkeys/confirm/"
    assert client.session["cosei_pending_passkey"]["content"]["name"] == "ガ" * 32
