"""PAY-2: billers and the simulator's bills are staff-editable in admin, payments are
read-only; the demo billers and bills are seeded idempotently."""

from __future__ import annotations

import pytest
from django.core.management import call_command

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


def test_seed_demo_command_loads_the_billers(capsys):
    call_command("seed_demo")
    assert Biller.objects.filter(number="00100").exists()


def test_admin_edits_billers_and_shows_payments_read_only(superuser_client):  # noqa: F811
    support.seeded()
    customer, account = support.payer()
    payment = support.pay(customer, account, support.CITY_BILL, support.lookup(customer, support.CITY_BILL))
    biller = Biller.objects.get(number="58002")
    assert superuser_client.get("/admin/payeasy/biller/").status_code == 200
    page = superuser_client.get(f"/admin/payeasy/biller/{biller.pk}/change/").content.decode()
    assert "情報リンク署名鍵" in page and "確認番号を使う" in page
    assert superuser_client.get("/admin/payeasy/bill/").status_code == 200
    assert superuser_client.get("/admin/payeasy/payment/").status_code == 200
    assert payment.reference in superuser_client.get("/admin/payeasy/payment/").content.decode()
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
