"""Pay-easy test helpers: the demo billers and bills, a customer with a card and money."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from django.test import Client

from payeasy.demo import payeasy_demo_seed
from payeasy.gateway import BillInfo
from payeasy.models import Biller
from tests import factories
from tests.security.secondfactor import customer_with_card

TAX = "00100"
CITY = "27100"
POWER = "58001"
MOBILE = "58002"

# (biller, number, confirmation, category) of the demo bills
TAX_BILL = (TAX, "1234567890123456", "123456", "101")             # 48,000 fixed
TAX_OPEN = (TAX, "1234567890123457", "234567", "102")             # open 1 … 1,000,000
TAX_EXPIRED = (TAX, "1234567890123458", "345678", "101")
CITY_BILL = (CITY, "27100000000001", "111111", "")                # 23,500
CITY_PAID_ELSEWHERE = (CITY, "27100000000002", "222222", "")
POWER_BILL = (POWER, "0012345678", "", "")                        # 8,432 then 9,120
POWER_EXPIRED = (POWER, "0012345679", "", "")
MOBILE_BILL = (MOBILE, "09012345678", "", "")                     # 6,980


def seeded():
    payeasy_demo_seed()


def payer(balance: int = 200_000, email: str = "payer@example.jp"):
    customer = customer_with_card(email=email)
    account = factories.account(owner=customer, balance=balance)
    return customer, account


def biller(number: str) -> Biller:
    return Biller.objects.get(number=number)


def biller_changed_by_staff(number: str, **fields) -> None:
    """Change a biller as staff do in admin, with the ``staff_biller_change`` row of a staff
    user holding ``payeasy.change_biller`` (payeasy 0012, 0014, CI247: the app's role changes a
    biller with nothing else)."""
    from django.contrib.auth import get_user_model

    from security.audit import audit_record

    from django.contrib.auth.models import Permission

    staff, _ = get_user_model().objects.get_or_create(username="staff-biller", defaults={"is_staff": True})
    # payeasy 0014: a staff user who may change billers
    staff.user_permissions.add(Permission.objects.get(content_type__app_label="payeasy", codename="change_biller"))
    Biller.objects.filter(number=number).update(**fields)
    audit_record(action="staff_biller_change", outcome="success", actor=staff.username,
                 summary=f"変更 {Biller._meta.verbose_name} {biller(number)} {fields}")


def lookup(customer, key) -> BillInfo:
    from payeasy.services import bill_lookup_for_customer

    number, bill_number, confirmation, category = key
    return bill_lookup_for_customer(customer=customer, biller=biller(number), number=bill_number,
                                    confirmation=confirmation, category=category, ip="127.0.0.1")


def pay(customer, account, key, bill: BillInfo, *, amount=None, acknowledged=False, via_link=False):
    from payeasy.services import payeasy_pay

    number, bill_number, confirmation, category = key
    amount = amount if amount is not None else bill.amount
    content = {"operation": "payeasy", "account": account.pk, "biller": number, "number": bill_number,
               "category": category, "confirmation": None if via_link else confirmation,
               "bill_id": bill.bill_id, "amount": amount, "via_link": via_link}
    # confirmed by a step-up of the customer, used with the payment (payeasy 0005)
    return factories.confirmed(customer, "payeasy", content, lambda _stepup_id: payeasy_pay(
        customer=customer, account_id=account.pk, biller_number=number, number=bill_number,
        confirmation=None if via_link else confirmation, category=category, bill_id=bill.bill_id,
        amount=amount, via_link=via_link, duplicate_acknowledged=acknowledged, ip="127.0.0.1",
        shown=bill.as_session()))  # the bill as the confirm page showed it


def logged_in(customer) -> Client:
    client = Client()
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.status_code == 302
    return client


def run_concurrently(jobs):
    """Each job on its own thread and connection, released together; (kind, value) each."""
    barrier = threading.Barrier(len(jobs))

    def call(job):
        try:
            barrier.wait()
            return ("ok", job())
        except Exception as exc:  # noqa: BLE001 - the test sorts refusals from bugs
            return ("refused" if hasattr(exc, "message") else "error", exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(call, jobs))
    assert not [o for o in outcomes if o[0] == "error"], outcomes
    return outcomes
