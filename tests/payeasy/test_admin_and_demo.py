"""PAY-2: billers and the simulator's bills are staff-editable in admin, payments are
read-only; the demo billers and bills are seeded idempotently."""

from __future__ import annotations

import pytest

from payeasy.models import Bill, Biller, Payment
from tests.payeasy import support
from tests.security.test_staff_admin import superuser_client  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_demo_billers_and_bills_are_seeded_once():
    support.seeded()
    counts = (Biller.objects.count(), Bill.objects.count())
    assert support.seeded() is None and (Biller.objects.count(), Bill.objects.count()) == counts
    kinds = set(Biller.objects.values_list("kind", flat=True))
    assert kinds == {"national", "local", "private"}
    assert Bill.objects.filter(status=Bill.Status.PAID_ELSEWHERE).exists()
    assert Bill.objects.filter(amount__isnull=True).exists()  # an open-amount bill
    assert any(bill.due_date < bill.issued_at.date() for bill in Bill.objects.all())  # an expired one


# seed_demo loads the billers: tests/accounts/test_ledger_check_and_demo.py


def test_admin_edits_billers_and_shows_payments_read_only(superuser_client):  # noqa: F811
    support.seeded()
    customer, account = support.payer()
    payment = support.pay(customer, account, support.CITY_BILL, support.lookup(customer, support.CITY_BILL))
    biller = Biller.objects.get(number="58002")
    assert superuser_client.get("/admin/payeasy/biller/").status_code == 200
    page = superuser_client.get(f"/admin/payeasy/biller/{biller.pk}/change/").content.decode()
    assert "情報リンク署名鍵" in page and "確認番号を使う" in page
    bills = superuser_client.get("/admin/payeasy/bill/").content.decode()
    # walk29 F7: amounts as staff read them, 「48,000円」, not 48000
    bill = Bill.objects.filter(amount__gte=1000).first()
    assert f"{bill.amount:,}円" in bills and f">{bill.amount}<" not in bills
    listed = superuser_client.get("/admin/payeasy/payment/").content.decode()
    assert payment.reference in listed and f"{payment.amount:,}円" in listed and f">{payment.amount}<" not in listed
    detail = superuser_client.get(f"/admin/payeasy/payment/{payment.pk}/change/").content.decode()
    assert f"{payment.amount:,}円" in detail and payment.reference in detail and f">{payment.amount}<" not in detail
    assert superuser_client.get("/admin/payeasy/payment/add/").status_code == 403
    response = superuser_client.post(f"/admin/payeasy/payment/{payment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_an_open_amount_bill_needs_a_biller_that_takes_open_amounts():
    import datetime as dt

    from django.core.exceptions import ValidationError

    support.seeded()
    bill = Bill(biller=Biller.objects.get(number="58001"), number="1", description="x", payer_name="x",
                min_amount=1, max_amount=10, due_date=dt.date(2027, 1, 1))
    with pytest.raises(ValidationError, match="金額入力"):
        bill.full_clean()
    bill.biller = Biller.objects.get(number="00100")
    bill.full_clean()


@pytest.mark.parametrize(("min_amount", "max_amount"), [(None, None), (500, None), (None, 500)])
def test_the_database_refuses_an_open_bill_without_both_bounds(min_amount, max_amount):
    """PAY-2 (review5): the CHECK bill_fixed_or_bounded_amount was NULL, so passed, for a
    bill with no amount and a missing bound (``min_amount > 0`` on NULL is NULL, not false).
    Staff saved one in admin by leaving 請求金額 and a bound blank, and the payer who typed
    an amount for it got a 500 (``None <= int`` in amount_check)."""
    import datetime as dt

    from django.db import IntegrityError, transaction

    support.seeded()
    with pytest.raises(IntegrityError), transaction.atomic():
        Bill.objects.create(biller=support.biller(support.TAX), number="555", confirmation="555555",
                            category="101", description="x", payer_name="x", amount=None,
                            min_amount=min_amount, max_amount=max_amount, due_date=dt.date(2099, 1, 1))
    assert not Bill.objects.filter(number="555").exists()


@pytest.mark.parametrize(("fields", "message"), [
    ({"amount": "", "min_amount": "", "max_amount": ""},
     "請求金額（固定の請求）か、下限金額と上限金額の両方（金額入力の請求）のどちらか一方を入力してください。"),
    ({"amount": "", "min_amount": "500", "max_amount": ""}, "下限金額と上限金額の両方"),
    ({"amount": "-5", "min_amount": "", "max_amount": ""}, "金額は1円以上"),
    ({"amount": "", "min_amount": "10", "max_amount": "5"}, "上限金額は下限金額以上です。"),
    ({"amount": "100", "number": "12a"}, "お客様番号・納付番号は20桁以内の数字で入力してください。"),
    ({"amount": "100", "confirmation": "abc"}, "確認番号は6桁以内の数字で入力してください。"),
    ({"amount": "100", "category": "1x"}, "納付区分は3桁以内の数字で入力してください。"),
])
def test_admin_says_what_is_wrong_with_a_bill(superuser_client, fields, message):  # noqa: F811
    """PAY-2, STAFF-1 (review5): the bill form named the database constraint
    (「制約 “bill_fixed_or_bounded_amount” に違反しています。」), or saved a bill without
    bounds (above)."""
    support.seeded()
    before = Bill.objects.count()
    response = superuser_client.post("/admin/payeasy/bill/add/", {
        "biller": support.biller(support.TAX).pk, "number": "555", "confirmation": "", "category": "",
        "description": "テスト", "payer_name": "テスト", "due_date": "2099-01-01", "status": "open", **fields})
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert "に違反しています" not in page and "_digits" not in page and "bill_fixed_or_bounded_amount" not in page
    assert Bill.objects.count() == before


@pytest.mark.parametrize("number", ["abc", "１２３４", "1234"])  # full-width 5 digits are taken (test_admin_staff)
def test_admin_says_a_biller_number_is_five_digits(superuser_client, number):  # noqa: F811
    response = superuser_client.post("/admin/payeasy/biller/add/", {
        "number": number, "name": "テスト", "kind": "private", "is_active": "on", "amount_type": "fixed",
        "simulation": "normal", "link_secret": ""})
    page = response.content.decode()
    assert response.status_code == 200 and "収納機関番号は5桁の数字で入力してください。" in page
    assert "に違反しています" not in page and "biller_number_5_digits" not in page
    assert not Biller.objects.filter(name="テスト").exists()
