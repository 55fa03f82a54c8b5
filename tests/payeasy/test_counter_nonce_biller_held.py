"""PAY-2, PAY-3, PAY-4, STAFF-1, LEDGER-7 (outside review dbprobe31 F9; payeasy 0012, CI245–CI247),
as the app's own role: the wrong-entry counter moves only by one with its audited wrong entry
and is never reset, a used 情報リンク nonce is kept, and a biller is added or changed only with
the admin's (or the demo seed's) audit row and never deleted. The checks run at commit
(``refused_at_commit``); the services' own paths still commit: a wrong entry, a link payment, a
staff member's change in admin, the demo seed."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from payeasy import services
from payeasy.models import Biller, EntryFailureCounter, LinkNonce, Payment
from security.audit import audit_record
from tests.conftest import demo_database_sql, owner_commits
from tests.payeasy import support
from tests.payeasy.test_link import signed_link, link_url
from tests.payeasy.test_views import answer_card
from tests.security.test_staff_admin import staff, staff_client, staff_signed_in  # noqa: F401
from tests.transfers.test_interbank_guards import refused_at_commit

# transactional: each step commits on its own, as the services' do — in one test
# transaction the audit rows of an earlier step would stand for a later one
pytestmark = pytest.mark.django_db(transaction=True)
COUNTER, NONCE, BILLER = "CI245", "CI246", "CI247"
WRONG = (support.CITY, "27100000000001", "999999", "")  # a wrong 確認番号


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _wrong_entry(customer) -> None:
    with pytest.raises(services.PayeasyRefused):
        support.lookup(customer, WRONG)


def test_the_wrong_entry_count_is_not_reset_nor_moved_but_by_a_wrong_entry():
    support.seeded()
    customer, _ = support.payer()
    for _ in range(3):
        _wrong_entry(customer)  # the service's path commits
    counter = EntryFailureCounter.objects.get(customer=customer)
    assert counter.failures == 3
    # the review's reset, and its variants
    assert refused_at_commit(lambda: _sql("DELETE FROM payeasy_entryfailurecounter")) == COUNTER
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_entryfailurecounter SET failures = 0")) == COUNTER
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_entryfailurecounter SET day = day - 1")) == COUNTER
    # a customer blocked by one statement, or a wrong entry counted with no audited entry
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_entryfailurecounter SET failures = 10")) == COUNTER
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_entryfailurecounter SET failures = failures + 1")) \
        == COUNTER
    assert refused_at_commit(lambda: _sql(
        "INSERT INTO payeasy_entryfailurecounter (customer_id, day, failures) VALUES (%s, current_date + 10, 10)",
        [customer.pk])) == COUNTER

    def counted_with_another_count():  # the row must count to the new figure
        audit_record(action="payeasy_lookup", outcome="failure", customer=customer,
                     summary="27100 大阪市 番号誤り（本日3回目）")
        _sql("UPDATE payeasy_entryfailurecounter SET failures = failures + 1")
    assert refused_at_commit(counted_with_another_count) == COUNTER
    counter.refresh_from_db()
    assert counter.failures == 3
    for _ in range(7):
        _wrong_entry(customer)
    counter.refresh_from_db()
    assert counter.failures == 10
    assert services.payeasy_blocked_until(customer=customer) is not None


def test_a_used_link_is_kept_and_the_link_payment_still_commits():
    support.seeded()
    customer, account = support.payer()
    client = support.logged_in(customer)
    link = signed_link()
    assert client.get(link_url(link)).url == "/payeasy/link/bill/"  # the nonce, used, with its customer
    assert client.post("/payeasy/link/bill/", {"account": account.pk}).url == "/payeasy/confirm/"
    assert answer_card(client, customer).url == "/payeasy/done/"
    assert Payment.objects.get().via_link
    nonce = LinkNonce.objects.get()
    assert nonce.customer == customer
    assert refused_at_commit(lambda: _sql("DELETE FROM payeasy_linknonce")) == NONCE
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_linknonce SET nonce = 'another-nonce-0123'")) == NONCE
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_linknonce SET customer_id = NULL")) == NONCE
    other, _ = support.payer(email="other@example.jp")
    assert refused_at_commit(lambda: _sql("UPDATE payeasy_linknonce SET customer_id = %s", [other.pk])) == NONCE
    # the replay is still refused (the nonce is there)
    assert "既に使用されています" in client.get(link_url(link)).content.decode()


def test_a_link_opened_before_the_login_takes_its_customer_after_it():
    support.seeded()
    customer, _ = support.payer()
    client = Client()
    assert client.get(link_url(signed_link())).url == "/login/"
    assert LinkNonce.objects.get().customer is None
    response = client.post("/login/", {"contract_id": customer.contract_id, "password": "Pass1234"})
    assert response.url == "/payeasy/link/bill/"
    assert client.get(response.url).status_code == 200  # link_bill_lookup sets the customer
    assert LinkNonce.objects.get().customer == customer


def test_a_biller_is_not_renamed_rekeyed_nor_deleted_by_the_app_role(staff):  # noqa: F811
    support.seeded()  # the demo seed adds its billers with its rows (seed_demo)
    biller = support.biller(support.TAX)
    assert refused_at_commit(lambda: _sql(
        "UPDATE payeasy_biller SET name = '国税（偽）', link_secret = 'attacker' WHERE id = %s", [biller.pk])) == BILLER
    assert refused_at_commit(lambda: _sql("DELETE FROM payeasy_biller WHERE id = %s", [biller.pk])) == BILLER
    assert refused_at_commit(lambda: _sql(
        "INSERT INTO payeasy_biller (number, name, kind, uses_confirmation, uses_category, amount_type,"
        " link_secret, simulation, is_active) VALUES ('00101', '国税', 'national', true, false, 'fixed',"
        " 'attacker-secret-0123', 'normal', true)")) == BILLER

    def with_a_row_of_no_staff():
        audit_record(action="staff_biller_change", outcome="success", actor="seed_demo",
                     summary=f"変更 収納機関 {biller.number} 国税（偽）")
        _sql("UPDATE payeasy_biller SET link_secret = 'attacker' WHERE id = %s", [biller.pk])
    assert refused_at_commit(with_a_row_of_no_staff) == BILLER

    def with_another_billers_row():
        audit_record(action="staff_biller_change", outcome="success", actor="staff-t",
                     summary="変更 収納機関 27100 大阪市")
        _sql("UPDATE payeasy_biller SET link_secret = 'attacker' WHERE id = %s", [biller.pk])
    assert refused_at_commit(with_another_billers_row) == BILLER
    biller.refresh_from_db()
    assert biller.name == "国税（大阪北税務署）" and biller.link_secret == "demo-link-secret-00100-kokuzei"
    _sql("UPDATE payeasy_biller SET name = name WHERE id = %s", [biller.pk])  # nothing changed: nothing said


def test_staff_add_and_change_billers_in_admin(staff_client):  # noqa: F811
    from tests.payeasy.test_admin_staff import _biller_data

    support.seeded()
    biller = support.biller(support.MOBILE)
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    assert staff_client.post(url, _biller_data(biller, name="コウセイモバイル（新）",
                                               link_secret="new-secret-9876543210")).status_code == 302
    biller.refresh_from_db()
    assert biller.name == "コウセイモバイル（新）" and biller.link_secret == "new-secret-9876543210"
    response = staff_client.post("/admin/payeasy/biller/add/", {
        "number": "58003", "name": "厚生ガス株式会社", "kind": "private", "is_active": "on",
        "amount_type": "fixed", "simulation": "normal"})
    assert response.status_code == 302, response.content.decode()
    assert Biller.objects.filter(number="58003", name="厚生ガス株式会社").exists()
    assert support.seeded() is None  # the seed again: nothing added, nothing refused


# --- payeasy 0013 (dbprobe32 F4): the demo seed's exception, a biller's new number ---------

NEW_BILLER = ("INSERT INTO payeasy_biller (number, name, kind, uses_confirmation, uses_category, amount_type,"
              " link_secret, simulation, is_active) VALUES ('77777', '偽の収納機関', 'private', false, false,"
              " 'fixed', 'attacker-secret-0123', 'normal', true)")


def _added_as_the_demo_seed():
    audit_record(action="staff_biller_change", outcome="success", actor="seed_demo",
                 summary="追加 収納機関 77777 偽の収納機関 デモデータ")
    _sql(NEW_BILLER)


def test_the_demo_seed_adds_billers_only_on_a_demo_database(demo_database_off):
    """B7: a new biller with the attacker's 情報リンク key, covered by a row of actor
    ``seed_demo``, was accepted on any database; now only where the owner has set
    ``cosei_demo_database()`` (dev.py run, the test database), never on a bank's."""
    assert refused_at_commit(_added_as_the_demo_seed) == BILLER
    with pytest.raises(DatabaseError) as caught:
        support.seeded()  # the seed itself, run on a bank's database by mistake
    assert caught.value.__cause__.sqlstate == BILLER
    assert not Biller.objects.exists()
    owner_commits(demo_database_sql(True))  # the owner marks the database a demo's
    with transaction.atomic():
        _added_as_the_demo_seed()
    assert Biller.objects.get(number="77777").name == "偽の収納機関"
    support.seeded()
    assert Biller.objects.filter(number=support.TAX).exists()


@pytest.mark.parametrize("statement", [
    demo_database_sql(True),
    "DROP FUNCTION public.cosei_demo_database()",
    "ALTER FUNCTION public.cosei_demo_database() RENAME TO cosei_demo_database_was",
    # the trigger names public.cosei_demo_database(): another one in pg_temp is not read
    "CREATE FUNCTION public.cosei_demo_database(flag integer) RETURNS boolean LANGUAGE sql AS 'SELECT true'",
])
def test_the_app_role_cannot_make_its_database_a_demos(statement, demo_database_off):
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        _sql(statement)
    assert caught.value.__cause__.sqlstate == "42501"
    assert refused_at_commit(_added_as_the_demo_seed) == BILLER


def _renumbered(summary: str):
    def write():
        audit_record(action="staff_biller_change", outcome="success", actor="staff-t", summary=summary)
        _sql("UPDATE payeasy_biller SET number = '99999' WHERE number = %s", [support.MOBILE])
    return write


def test_a_new_biller_number_needs_the_row_naming_the_old_and_the_new(staff):  # noqa: F811
    """B6: a number change audited under the new number only was accepted, so searching the
    操作ログ for the old number found nothing; the row names both, old first."""
    support.seeded()
    for summary in ("変更 収納機関 99999 コウセイモバイル株式会社",   # the new number only (B6)
                    "変更 収納機関 58002 コウセイモバイル株式会社",   # the old only
                    "変更 収納機関 99999→58002 コウセイモバイル株式会社",  # the wrong way round
                    "変更 収納機関 58002→99998 コウセイモバイル株式会社"):  # another new number
        assert refused_at_commit(_renumbered(summary)) == BILLER, summary
    assert support.biller(support.MOBILE)
    with transaction.atomic():
        _renumbered("変更 収納機関 58002→99999 コウセイモバイル株式会社")()
    assert Biller.objects.get(number="99999").name == "コウセイモバイル株式会社"


def test_staff_renumber_a_biller_in_admin_and_the_log_names_both_numbers(staff_client):  # noqa: F811
    from security.models import AuditEvent
    from tests.payeasy.test_admin_staff import _biller_data

    support.seeded()
    biller = support.biller(support.MOBILE)
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    # its own number typed in full-width digits is no new number (the save commits)
    assert staff_client.post(url, _biller_data(biller, number="５８００２")).status_code == 302
    assert AuditEvent.objects.filter(actor="staff-t").latest("id").summary.startswith("変更 収納機関 58002 ")
    assert staff_client.post(url, _biller_data(biller, number="99999")).status_code == 302
    biller.refresh_from_db()
    assert biller.number == "99999"
    renumbering = AuditEvent.objects.filter(actor="staff-t").latest("id")
    assert renumbering.summary == "変更 収納機関 58002→99999 コウセイモバイル株式会社"
    # searching the 操作ログ for the old number finds the change
    assert AuditEvent.objects.filter(action="staff_biller_change", summary__contains=support.MOBILE
                                     ).latest("id") == renumbering
    # and back, with another change: the number once, at the head
    assert staff_client.post(url, _biller_data(biller, number="５８００２", name="コウセイモバイル")).status_code == 302
    assert AuditEvent.objects.filter(actor="staff-t").latest("id").summary == \
        "変更 収納機関 99999→58002 コウセイモバイル 収納機関名=コウセイモバイル"


def test_staff_change_a_paid_biller_whose_number_is_read_only(staff_client):  # noqa: F811
    """review33 F1: a biller with payments shows its number read-only, so the form has no
    number — the audit text read ``form.initial['number']`` and every save of a paid biller
    (every biller in a bank's use) was a 500."""
    from security.models import AuditEvent
    from tests.payeasy.test_admin_staff import _biller_data

    support.seeded()
    customer, account = support.payer()
    support.pay(customer, account, support.CITY_BILL, support.lookup(customer, support.CITY_BILL))
    biller = support.biller(support.CITY)
    url = f"/admin/payeasy/biller/{biller.pk}/change/"
    data = _biller_data(biller, name="大阪市（市税）")
    data.pop("number")  # not on the page
    assert staff_client.post(url, data).status_code == 302
    biller.refresh_from_db()
    assert (biller.number, biller.name) == (support.CITY, "大阪市（市税）")
    assert AuditEvent.objects.filter(actor="staff-t").latest("id").summary == \
        f"変更 収納機関 {support.CITY} 大阪市（市税） 収納機関名=大阪市（市税）"
