"""Views of SEC-5/6/7: the step-up settings page end to end, challenge images, CSRF on
every POST added, and no secret in the log (SEC-13)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from notifications.models import OutboxMessage
from security import cards, otp, pictograms
from security.models import AuditEvent, ImageCardChallenge, OtpToken, StepUp
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


def logged_in(customer, password="Pass1234", **kwargs) -> Client:
    client = Client(**kwargs)
    client.post("/login/", {"contract_id": customer.contract_id, "password": password})
    return client


def test_choosing_the_otp_at_login_setting_already_in_force_is_said_before_any_step_up():
    """SEC-6, SEC-7: 「次へ」 with the setting as it is asked for the OTP and then said
    「設定を変更しました」 and mailed a change — nothing had changed. The page says so first."""
    customer = customer_with_card(email="me@example.jp")
    activate_otp(customer, required_at_login=False)
    client = logged_in(customer)
    response = client.post("/settings/otp-login/", {"required_at_login": "0"})
    assert response.status_code == 200
    assert "現在の設定と同じです。" in response.content.decode()
    assert not StepUp.objects.filter(customer=customer, kind="otp_login_setting").exists()


def test_settings_page_changes_otp_at_login_with_step_up():
    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=False)
    client = logged_in(customer)
    assert "ワンタイムパスワードのログイン時認証設定" in client.get("/settings/").content.decode()
    page = client.get("/settings/otp-login/").content.decode()
    assert "認証しない（ログイン時は不要）" in page
    response = client.post("/settings/otp-login/", {"required_at_login": "1"})
    assert response.url == "/settings/otp-login/confirm/"
    pending = StepUp.objects.get(customer=customer)
    assert (pending.kind, pending.content, pending.method) == (
        "otp_login_setting", {"required_at_login": True}, "otp")
    page = client.get("/settings/otp-login/confirm/").content.decode()
    assert 'autocomplete="one-time-code"' in page and "認証する（ログイン時も利用）" in page
    response = client.post("/settings/otp-login/confirm/", {"otp": "000000" if totp_for(token).now() != "000000" else "111111"})
    assert "ワンタイムパスワードが正しくありません" in response.content.decode()
    token.refresh_from_db()
    assert not token.required_at_login
    code = code_at_next_step(token)
    response = client.post("/settings/otp-login/confirm/", {"otp": code})
    assert response.status_code == 302 and response.url == "/settings/"
    token.refresh_from_db()
    pending.refresh_from_db()
    assert token.required_at_login and pending.used_at is not None
    assert AuditEvent.objects.filter(customer=customer, action="otp_login_setting",
                                     summary="ログイン時認証する").count() == 1
    # every security setting change is mailed (issue 7: OTP at login on/off sent nothing)
    mail = OutboxMessage.objects.get(customer=customer, event="otp_login_setting")
    assert "ログイン時認証設定変更のお知らせ" in mail.subject and "認証する" in mail.body
    # Replaying the confirmation posts nothing (the pending change is gone, and the step-up is used).
    response = client.post("/settings/otp-login/confirm/", {"otp": code})
    assert response.url == "/settings/otp-login/"
    assert AuditEvent.objects.filter(customer=customer, action="otp_login_setting").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="otp_login_setting").count() == 1


def test_settings_page_without_otp_explains_and_offers_nothing():
    customer = customer_with_card()
    client = logged_in(customer)
    page = client.get("/settings/otp-login/").content.decode()
    assert "利用開始のお手続きがお済みではありません" in page
    client.post("/settings/otp-login/", {"required_at_login": "1"})
    assert not StepUp.objects.filter(customer=customer).exists()


def test_image_card_step_up_form_renders_cells_and_refuses_wrong_answers():
    """The include with the card: a customer without OTP confirming a pending operation."""
    from django.template.loader import render_to_string

    from security.forms import StepUpForm
    from security.stepup import stepup_begin

    customer = customer_with_card()
    pending = stepup_begin(customer=customer, kind="transfer", content={"amount": 1000})
    form = StepUpForm.for_stepup(pending)
    html = render_to_string("security/includes/stepup_challenge.html", {"stepup_form": form})
    challenge = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    assert html.count('type="radio"') == 16
    # the challenge id goes back with the answer (Jinja2 once printed the model instead)
    assert f'<input type="hidden" name="challenge" value="{challenge.pk}" id="id_challenge">' in html
    for cell in challenge.cells:
        assert cards.cell_label(cell) in html
    for code in challenge.candidates[0]:
        assert code not in html  # codes never appear; names only as alt text
        assert f'alt="{pictograms.pictogram_name(code)}"' in html
    bound = StepUpForm.for_stepup(pending, card_post(challenge, wrong_answers(challenge)))
    assert bound.is_valid()
    assert bound.answer() == {"challenge_id": challenge.pk, "card_answers": wrong_answers(challenge)}
    assert not StepUpForm.for_stepup(pending, {"challenge": challenge.pk, "card_1": "0"}).is_valid()


def test_challenge_images_only_for_the_owner_and_open_challenge():
    owner, other = customer_with_card(), customer_with_card()
    challenge = cards.image_card_challenge_current(customer=owner)
    url = f"/image-auth/{challenge.pk}/1/7.png"
    owner_client = logged_in(owner)
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response.content == pictograms.pictogram_png(challenge.candidates[1][7])
    assert logged_in(other).get(url).status_code == 404
    assert Client().get(url).status_code == 404
    assert owner_client.get(f"/image-auth/{challenge.pk}/2/0.png").status_code == 404
    assert owner_client.get(f"/image-auth/{challenge.pk}/0/8.png").status_code == 404
    cards.image_card_verify(customer=owner, challenge_id=challenge.pk,
                            answers=right_answers(challenge), ip=None)
    assert owner_client.get(url).status_code == 404  # closed challenge: nothing served


def test_challenge_is_the_same_for_a_new_session():
    customer = customer_with_card()
    from security.stepup import stepup_begin

    stepup_begin(customer=customer, kind="transfer", content={"amount": 1})
    first = ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True)
    activation = Client()
    activation.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    page = activation.get("/otp/activate/register/").content.decode()
    again = activation.get("/otp/activate/register/").content.decode()
    for cell in first.cells:
        assert f'>{cards.cell_label(cell)}</strong>' in page
    assert page.count("/image-auth/") == again.count("/image-auth/") == 16
    # A brand-new client (new session, new login) gets the very same cells.
    second = Client()
    second.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    second.get("/otp/activate/register/")
    assert ImageCardChallenge.objects.get(customer=customer, closed_at__isnull=True).pk == first.pk
    assert f"/image-auth/{first.pk}/0/0.png" in second.get("/otp/activate/register/").content.decode()


@pytest.mark.parametrize("path", [
    "/login/otp/", "/otp/activate/", "/otp/activate/register/", "/settings/otp-login/",
    "/settings/otp-login/confirm/",
])
def test_csrf_is_enforced_on_every_post_added(path):
    customer = customer_with_card()
    client = logged_in(customer, enforce_csrf_checks=True)
    response = client.post(path, {"otp": "123456", "required_at_login": "1",
                                  "contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 403
    assert not StepUp.objects.filter(customer=customer).exists()
    assert not OtpToken.objects.filter(customer=customer).exists()


def test_csrf_token_passes_on_the_real_forms():
    customer = customer_with_card()
    client = Client(enforce_csrf_checks=True)
    client.get("/otp/activate/")
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else \
        client.cookies[next(name for name in client.cookies if "csrftoken" in name)].value
    response = client.post("/otp/activate/", {"contract_id": customer.contract_id,
                                              "password": "Pass1234", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_no_secret_reaches_the_log(caplog):
    caplog.set_level(logging.DEBUG)
    customer = customer_with_card()
    client = Client()
    client.post("/otp/activate/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    client.get("/otp/activate/token/")
    token = OtpToken.objects.get(customer=customer)
    secret = otp.otp_secret_base32(token)
    challenge = cards.image_card_challenge_current(customer=customer)
    canaries = [secret, token.device.key]
    canaries += [challenge.card.layout[cell] for cell in challenge.cells]
    canaries += [pictograms.pictogram_name(challenge.card.layout[cell]) for cell in challenge.cells]
    wrong_code = f"{(int(totp_for(token).now()) + 7) % 1_000_000:06d}"
    client.post("/otp/activate/register/", {"serial": token.serial, "otp": wrong_code,
                                           "required_at_login": "1",
                                           **card_post(challenge, wrong_answers(challenge))})
    code = totp_for(token).now()
    client.post("/otp/activate/register/", {"serial": token.serial, "otp": code, "required_at_login": "1",
                                           **card_post(challenge, right_answers(challenge))})
    assert OtpToken.objects.get(customer=customer).is_active
    login = Client()
    login.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    second = code_at_next_step(token)
    login.post("/login/otp/", {"otp": second})
    canaries += [wrong_code, code, second]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "audit action=otp_activate" in logged and "audit action=login_otp" in logged
    for canary in canaries:
        assert canary not in logged, canary
    summaries = " ".join(AuditEvent.objects.values_list("summary", flat=True))
    for canary in canaries:
        assert canary not in summaries


# --- issue 7: typos are not guesses; a refused answer is not sent again ---------------------

@pytest.mark.parametrize("typed", ["abc", "12345", "1234567", "12 34 56x", "١٢٣٤٥٦"])
def test_otp_that_is_not_six_digits_gets_a_format_message_and_is_not_counted(typed):
    from security.models import Credential

    customer = customer_with_card()
    activate_otp(customer, required_at_login=True)
    client = logged_in(customer)
    assert client.get("/").url == "/login/otp/"
    response = client.post("/login/otp/", {"otp": typed})
    assert "ワンタイムパスワードは6桁の数字で入力してください。" in response.content.decode()
    assert not Credential.objects.filter(customer=customer, kind="otp", failures__gt=0).exists()
    assert not AuditEvent.objects.filter(customer=customer, action="login_otp").exists()
    # the service refuses a malformed code on its own too, without counting it
    from security.otp import OTP_FORMAT, otp_verify
    from security.errors import AuthFactorError

    with pytest.raises(AuthFactorError) as refused:
        otp_verify(customer=customer, code=typed, ip=None, action="login_otp")
    assert refused.value.message == OTP_FORMAT
    assert not Credential.objects.filter(customer=customer, kind="otp", failures__gt=0).exists()


def test_full_width_six_digits_are_a_code():
    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=True)
    client = logged_in(customer)
    wide = code_at_next_step(token).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert client.post("/login/otp/", {"otp": wide}).url == "/"


def test_a_wrong_card_answer_clears_the_selections_and_the_otp_field():
    import re

    customer = customer_with_card()
    client = logged_in(customer)
    client.post("/settings/suspend/")
    challenge = cards.image_card_challenge_current(customer=customer)
    response = client.post("/settings/suspend/confirm/", card_post(challenge, wrong_answers(challenge)))
    page = response.content.decode()
    assert "画像認証" in page and "checked" not in page  # pick again; the old pick is not resent

    # 利用開始: card and OTP on one page — after a wrong card both are empty, the serial stays
    other = customer_with_card()
    activation = Client()
    activation.post("/otp/activate/", {"contract_id": other.contract_id, "password": "Pass1234"})
    token = OtpToken.objects.get(customer=other)
    challenge = cards.image_card_challenge_current(customer=other)
    code = totp_for(token).now()
    response = activation.post("/otp/activate/register/", {
        "serial": token.serial, "otp": code, "required_at_login": "1",
        **card_post(challenge, wrong_answers(challenge))})
    page = response.content.decode()
    assert response.status_code == 200 and "checked" not in page.split("画像認証")[-1]
    assert not re.search(r'name="otp"[^>]*value=', page) and f'value="{token.serial}"' in page


def test_the_loser_of_a_double_click_on_the_otp_login_setting_is_told_it_changed():
    """SEC-14: two submits of the confirm page at once (a double click): both requests
    loaded the session with the pending change; the second found the step-up used and
    showed 「このお取引は既に処理されています」. It is told the setting changed, like the
    first; nothing more is written or mailed."""
    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=False)
    client = logged_in(customer)
    client.post("/settings/otp-login/", {"required_at_login": "1"})
    held = client.session["cosei_pending_otp_login_setting"]
    code = code_at_next_step(token)
    assert client.post("/settings/otp-login/confirm/", {"otp": code}).url == "/settings/"
    session = client.session
    session["cosei_pending_otp_login_setting"] = held  # as the loser's request still saw it
    session.save()
    loser = client.post("/settings/otp-login/confirm/", {"otp": code})
    assert loser.status_code == 302 and loser.url == "/settings/"
    page = client.get("/settings/").content.decode()
    assert "ログイン時のワンタイムパスワード認証の設定を変更しました。" in page and "既に処理されています" not in page
    assert "cosei_pending_otp_login_setting" not in client.session
    assert AuditEvent.objects.filter(customer=customer, action="otp_login_setting").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="otp_login_setting").count() == 1


def test_the_otp_login_setting_confirm_posted_again_after_it_went_through_says_it_changed():
    """SEC-14: the confirm page in a second tab (or its POST replayed) after the first
    submit changed the setting landed on the input page with 「既に完了したか別の画面で
    中止された」. The page posts the step-up it showed: a used one of the customer's is told
    the setting changed, like the first; nothing more is written or mailed."""
    import re

    customer = customer_with_card()
    token = activate_otp(customer, required_at_login=False)
    client = logged_in(customer)
    client.post("/settings/otp-login/", {"required_at_login": "1"})
    page = client.get("/settings/otp-login/confirm/").content.decode()
    answer = {"stepup": re.search(r'name="stepup" value="([^"]+)"', page)[1], "otp": code_at_next_step(token)}
    assert client.post("/settings/otp-login/confirm/", answer).url == "/settings/"
    client.get("/settings/")  # the first one's message, read
    replay = client.post("/settings/otp-login/confirm/", answer)
    assert replay.status_code == 302 and replay.url == "/settings/"
    page = client.get("/settings/").content.decode()
    assert "ログイン時のワンタイムパスワード認証の設定を変更しました。" in page and "既に完了した" not in page
    assert AuditEvent.objects.filter(customer=customer, action="otp_login_setting").count() == 1
    assert OutboxMessage.objects.filter(customer=customer, event="otp_login_setting").count() == 1
