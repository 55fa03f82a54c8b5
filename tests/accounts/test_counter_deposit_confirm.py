"""STAFF-1 (walk27 F2, F9): 窓口入金 in admin shows 契約者, 口座, 金額 and 伝票番号 before it
posts; only the confirm page's own submit, bound to them by a signed token, posts — once,
however often it is sent (the slip is the deposit's idempotency key)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin import DEPOSIT_CONFIRM_STALE, DEPOSIT_NEGATIVE, SLIP_POSTED, SLIP_USED_OTHERWISE
from accounts.models import Account, Journal
from accounts.roles import branch_staff_group_ensure
from notifications.models import PostingNotice
from security.models import AuditEvent
from tests import factories
from tests.security.test_staff_admin import (  # noqa: F401 - fixtures
    counter_deposit_confirm_fields,
    staff,
    staff_client,
    staff_signed_in,
)

pytestmark = pytest.mark.django_db


def _url(account) -> str:
    return f"/admin/accounts/account/{account.pk}/deposit/"


def _balance(account) -> int:
    return Account.objects.get(pk=account.pk).balance


def test_the_deposit_shows_what_it_posts_and_posts_only_from_the_confirm_page(staff_client):
    customer = factories.customer(name_kanji="山田 太郎")
    account = factories.account(owner=customer, balance=1_000)
    other = factories.account(owner=customer, balance=0)
    notices = PostingNotice.objects.filter(account=account).count()  # the factory's opening deposit
    page = staff_client.post(_url(account), {"amount": "１，０００，０００", "reference": "s-3"}).content.decode()
    assert "窓口入金の確認" in page and "まだ記帳していません" in page
    for said in (f"{customer.contract_id} 山田 太郎", account.number, account.holder_kana, "1,000,000円", "S-3"):
        assert said in page, said
    assert _balance(account) == 1_000 and not AuditEvent.objects.filter(action="counter_deposit").exists()
    fields = counter_deposit_confirm_fields(page)
    assert fields["amount"] == "1000000" and fields["reference"] == "S-3" and fields["token"]
    # the token names this account, amount and slip: anything else under it posts nothing
    for url, tampered in ((_url(account), {**fields, "amount": "10000000"}),
                          (_url(account), {**fields, "reference": "S-4"}),
                          (_url(account), {**fields, "token": fields["token"][:-2] + "xx"}),
                          (_url(other), fields)):
        refused = staff_client.post(url, tampered)
        assert refused.status_code == 200 and DEPOSIT_CONFIRM_STALE in refused.content.decode()
        assert "記帳する（入金する）" not in refused.content.decode()  # back on the input page
    assert _balance(account) == 1_000 and _balance(other) == 0
    # two tabs: the same slip confirmed twice, and a replay of the POST
    second_tab = counter_deposit_confirm_fields(
        staff_client.post(_url(account), {"amount": "1000000", "reference": "S-3"}).content.decode())
    done = staff_client.post(_url(account), fields)
    assert done.status_code == 302 and done["Location"].endswith(f"/account/{account.pk}/change/")
    assert "1,000,000円の窓口入金を記帳しました（伝票番号 S-3）。" in staff_client.get(done["Location"]).content.decode()
    for again in (second_tab, fields):
        twice = staff_client.post(_url(account), again)
        assert twice.status_code == 302 and SLIP_POSTED in staff_client.get(twice["Location"]).content.decode()
    assert _balance(account) == 1_001_000
    assert Journal.objects.filter(idempotency_key__startswith="counter-deposit:").count() == 1
    assert AuditEvent.objects.filter(action="counter_deposit", actor="staff-t").count() == 1
    assert PostingNotice.objects.filter(account=account).count() == notices + 1
    # the first step already says a used slip, before any confirm page
    said = staff_client.post(_url(account), {"amount": "1000000", "reference": "S-3"}).content.decode()
    assert SLIP_POSTED in said and 'name="token"' not in said
    said = staff_client.post(_url(other), {"amount": "1000000", "reference": "S-3"}).content.decode()
    assert SLIP_USED_OTHERWISE in said and 'name="token"' not in said


def test_one_slip_confirmed_with_two_amounts_posts_the_first_and_says_the_second(staff_client):
    account = factories.account(balance=0)
    first = counter_deposit_confirm_fields(
        staff_client.post(_url(account), {"amount": "5000", "reference": "T-1"}).content.decode())
    second = counter_deposit_confirm_fields(
        staff_client.post(_url(account), {"amount": "50000", "reference": "T-1"}).content.decode())
    assert staff_client.post(_url(account), first).status_code == 302
    page = staff_client.post(_url(account), second)
    assert page.status_code == 200 and SLIP_USED_OTHERWISE in page.content.decode()
    assert _balance(account) == 5_000


def test_a_confirm_page_of_another_staff_member_or_left_open_too_long_posts_nothing(staff):
    account = factories.account(balance=0)
    other_staff = get_user_model().objects.create_user(username="staff-u", password="Staff-pass-2", is_staff=True)
    other_staff.groups.add(branch_staff_group_ensure())
    other_device = TOTPDevice.objects.create(user=other_staff, name="u", confirmed=True)
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC), tick=False) as traveller:
        staff_client, other_client = staff_signed_in(*staff), staff_signed_in(other_staff, other_device)
        fields = counter_deposit_confirm_fields(
            staff_client.post(_url(account), {"amount": "7000", "reference": "U-1"}).content.decode())
        assert fields["token"]
        assert DEPOSIT_CONFIRM_STALE in other_client.post(_url(account), fields).content.decode()
        for minutes in (14, 14, 3):  # staff active in another tab; the confirm page left open
            traveller.shift(dt.timedelta(minutes=minutes))
            assert staff_client.get("/admin/").status_code == 200
        assert DEPOSIT_CONFIRM_STALE in staff_client.post(_url(account), fields).content.decode()
    assert _balance(account) == 0


@pytest.mark.parametrize("posted", [
    {"token": "", "amount": "1000", "reference": "A1"},
    {"token": "x:y:z", "amount": "abc", "reference": "A1"},
    {"token": "あ" * 300, "amount": "-100", "reference": "ー"},
    {"token": "\x00", "amount": "9" * 5000, "reference": ""},
    {"token": "eyJ9:1:2"},
])
def test_an_odd_confirm_submit_posts_nothing_and_says_why(staff_client, posted):
    account = factories.account(balance=0)
    response = staff_client.post(_url(account), posted)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert "窓口入金" in response.content.decode() and "記帳する（入金する）" not in response.content.decode()
    assert _balance(account) == 0 and not AuditEvent.objects.filter(action="counter_deposit").exists()


@pytest.mark.parametrize("typed", ["-100", "－１００", "−100", "▲100", "-1,000"])
def test_a_negative_amount_is_called_negative(staff_client, typed):
    """walk27 F9: 「-100」 read 「入金額は数字で入力してください。」."""
    account = factories.account(balance=0)
    page = staff_client.post(_url(account), {"amount": typed, "reference": "N-1"}).content.decode()
    assert DEPOSIT_NEGATIVE in page and "数字で入力" not in page and 'name="token"' not in page


@pytest.mark.parametrize("typed", ["1,00,00", "12,34", ",,5,,", "1,0000", "12円345", "1 000", "+100", "１２a"])
def test_an_amount_with_a_comma_out_of_place_is_refused_as_the_customer_forms_do(staff_client, typed):
    """STAFF-1 (walk33 F10): the deposit dropped every comma — 「1,00,00」 showed 10,000円 on
    the confirm page (walk25 F15 for the customer's amounts). It is refused and says why."""
    from accounts.admin import DEPOSIT_NOT_NUMBER

    account = factories.account(balance=0)
    page = staff_client.post(_url(account), {"amount": typed, "reference": "W33-1"}).content.decode()
    assert DEPOSIT_NOT_NUMBER in page and 'name="token"' not in page


@pytest.mark.parametrize("typed", ["12,345円", "12345円", "１２，３４５円", " 12,345 円 "])
def test_an_amount_as_written_on_the_slip_with_its_yen_is_read(staff_client, typed):
    """STAFF-1 (walk33 F10): 「12,345円」 copied from the slip was 「入金額は数字で入力してください。」."""
    account = factories.account(balance=0)
    page = staff_client.post(_url(account), {"amount": typed, "reference": "W33-2"}).content.decode()
    assert "窓口入金の確認" in page and "12,345円" in page
    assert counter_deposit_confirm_fields(page)["amount"] == "12345"


@pytest.mark.parametrize(("typed", "said"), [
    ("", "入金額を入力してください。"),
    ("0", "入金額は1円以上で入力してください。"),
    ("100,000,001", "窓口入金は1回100,000,000円までです。"),
    ("1" * 13, "窓口入金は1回100,000,000円までです。"),
    ("1" * 40, "窓口入金は1回100,000,000円までです。"),
])
def test_an_amount_out_of_range_says_the_range(staff_client, typed, said):
    account = factories.account(balance=0)
    page = staff_client.post(_url(account), {"amount": typed, "reference": "W33-3"}).content.decode()
    assert said in page and 'name="token"' not in page
