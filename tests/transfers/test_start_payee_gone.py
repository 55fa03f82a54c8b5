"""XFER-1 (walk33 F7): a registered payee chosen on the 振込 start page and deleted in another
tab since. 「登録済みの振込先に振り込む」 came back to the same page with no message (the error
was rendered only inside the list, and the list was now empty), or, with payees left, said
「振込先を選択してください。」 as if none had been chosen."""

import re

import pytest
from django.urls import reverse

from tests.transfers.support import registered_payee
from tests.transfers.test_views import signed_in  # noqa: F401 - the fixture
from transfers import services

pytestmark = pytest.mark.django_db

GONE = "選択した振込先は既に削除されています。"


def _errors(page: str) -> list[str]:
    return re.findall(r'<p class="field-error" role="alert">([^<]*)</p>', page)


def test_the_last_payee_deleted_in_another_tab_is_said(signed_in):
    client, customer, debit = signed_in
    payee = registered_payee(customer, debit=debit, nickname="タナカさん")
    services.payee_delete(customer=customer, payee=payee)  # the other tab
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "payee": payee.pk, "mode": "registered"})
    assert response.status_code == 200
    page = response.content.decode()
    assert _errors(page) == [GONE]
    assert "登録済みの振込先はありません。" in page
    # 「新しい振込先に振り込む」 with the stale choice still checked is refused the same way
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "payee": payee.pk, "mode": "new"})
    assert response.status_code == 200 and _errors(response.content.decode()) == [GONE]


def test_a_payee_deleted_while_others_remain_is_not_called_no_choice(signed_in):
    client, customer, debit = signed_in
    kept = registered_payee(customer, debit=debit, nickname="タナカさん")
    gone = registered_payee(customer, debit=debit, nickname="ナニワさん", bank_code="0005", bank_name="三菱ＵＦＪ銀行",
                            branch_code="001", branch_name="本店", account_number="2222222", holder_kana="ﾅﾆﾜ ｼﾞﾛｳ")
    services.payee_delete(customer=customer, payee=gone)
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "payee": gone.pk, "mode": "registered"})
    page = response.content.decode()
    assert response.status_code == 200 and _errors(page) == [GONE]
    assert 'class="choice-list field-invalid"' in page and f'value="{kept.pk}"' in page
    # nothing chosen is still 「振込先を選択してください。」
    response = client.post(reverse("transfers:start"), {"debit_account": debit.pk, "mode": "registered"})
    assert _errors(response.content.decode()) == ["振込先を選択してください。"]
    # the payee left goes on to the details page
    response = client.post(reverse("transfers:start"),
                           {"debit_account": debit.pk, "payee": kept.pk, "mode": "registered"})
    assert response.status_code == 302 and response.url == reverse("transfers:details")
