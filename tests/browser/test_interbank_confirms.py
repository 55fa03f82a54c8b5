"""XFER-12, STAFF-1 in a real browser, desktop and iPhone 13 (walk26 F3, F4; walk27 F2): 振込資金返却, 窓口入金
and the release of a 入金保留 record each show what they would credit first, and credit
only from that page's own button; 返却済にする shows the records and asks for a reason (walk29 F1)."""

from __future__ import annotations

import pytest

from tests.browser.layout import no_horizontal_overflow
from tests.browser.test_interbank_admin import _staff_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_confirm_a_return_and_a_held_release_before_money_moves(page, device):
    from accounts.models import Account
    from tests import factories
    from tests.transfers.support import content_for, execute, other_bank_payee, payer
    from tests.transfers.test_interbank_services import incoming_file
    from transfers.banks import zengin_load
    from transfers.demo import interbank_accounts_ensure, reference_ensure
    from transfers.interbank import services as interbank
    from transfers.models import InterbankIncomingRecord, InterbankReturn

    zengin_load(codes={"1633", "0161"})
    reference_ensure()
    interbank_accounts_ensure()
    customer, debit = payer()
    transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 43_210))
    interbank.outgoing_file_create(day=transfer.outgoing.settlement_date, staff="madoguchi")
    balance = Account.objects.get(pk=debit.pk).balance
    receiver = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    interbank.incoming_file_upload(data=incoming_file([(receiver, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000)]), filename="a.txt",
                                   staff="madoguchi")
    interbank.incoming_file_upload(data=incoming_file([(None, "ﾀﾞﾚｶ", 1_000), (receiver, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000)]),
                                   filename="b.txt", staff="madoguchi")
    held = InterbankIncomingRecord.objects.get(status="held")

    _staff_login(page)
    second_tab = page.context.new_page()
    for tab in (page, second_tab):  # 振込資金返却: the number typed in full-width digits shows the record
        tab.goto("/admin/transfers/interbankreturn/")
        tab.get_by_role("link", name="振込資金返却を登録").click()
        typed = str(transfer.outgoing.pk).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        tab.get_by_label("データ番号（顧客コード1）").fill(typed)
        tab.get_by_label("返却理由").select_option(label="名義相違")
        tab.get_by_role("button", name="確認画面へ").click()
    shown = page.locator("#interbank-return-confirm").inner_text()
    for said in (customer.contract_id, customer.name_kanji, "ﾀﾅｶ ﾊﾅｺ", "0012345", "43,210円", "名義相違"):
        assert said in shown, said
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/admin-return-confirm-{device}.png", full_page=True)
    assert not InterbankReturn.objects.exists()
    page.get_by_role("button", name="返却する（入金する）").click()
    assert "振込資金返却を登録しました" in page.locator("ul.messagelist").inner_text()
    assert "43,210円" in page.locator("#content").inner_text()
    assert Account.objects.get(pk=debit.pk).balance == balance + 43_210
    second_tab.get_by_role("button", name="返却する（入金する）").click()  # the other tab's confirm page
    assert "既に返却済みです" in second_tab.locator("ul.messagelist").inner_text()
    second_tab.close()
    assert InterbankReturn.objects.count() == 1 and Account.objects.get(pk=debit.pk).balance == balance + 43_210

    # 入金保留: the action lists the account, amount and the record it repeats first
    page.goto("/admin/transfers/interbankincomingrecord/?status__exact=held")
    page.locator(f'input[name="_selected_action"][value="{held.pk}"]').check()
    page.locator('select[name="action"]').select_option("release_held")
    page.get_by_role("button", name="実行").click()
    listed = page.locator("#interbank-release-confirm").inner_text()
    assert str(receiver) in listed and "30,000円" in listed and "入金済" in listed
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/admin-release-confirm-{device}.png", full_page=True)
    assert Account.objects.get(pk=receiver.pk).balance == 30_000
    page.get_by_role("button", name="入金する（1件 30,000円）").click()
    assert "1件を入金しました。" in page.locator("ul.messagelist").inner_text()
    assert Account.objects.get(pk=receiver.pk).balance == 60_000

    # 入金不能 → 返却済 cannot be undone: the record and a 返却理由 first (walk29 F1)
    unapplied = InterbankIncomingRecord.objects.get(status="unapplied")
    page.goto("/admin/transfers/interbankincomingrecord/")
    page.locator(f'input[name="_selected_action"][value="{unapplied.pk}"]').check()
    page.locator('select[name="action"]').select_option("mark_returned")
    page.get_by_role("button", name="実行").click()
    listed = page.locator("#interbank-record-return-confirm").inner_text()
    assert "ﾀﾞﾚｶ" in listed and "1,000円" in listed and "まだ返却済にしていません" in page.locator("#content").inner_text()
    assert no_horizontal_overflow(page)
    assert InterbankIncomingRecord.objects.get(pk=unapplied.pk).status == "unapplied"
    page.get_by_label("返却理由（仕向金融機関への連絡内容など）").fill("口座なし。仕向金融機関に連絡済み")
    page.get_by_role("button", name="返却済にする（1件 1,000円）").click()
    assert "1件を返却済にしました。" in page.locator("ul.messagelist").inner_text()
    assert InterbankIncomingRecord.objects.get(pk=unapplied.pk).status == "returned"


def test_staff_confirm_a_counter_deposit_before_it_posts(page, device):
    """STAFF-1 (walk27 F2): 窓口入金 posted on one submit. The amount (full-width) and slip
    show 契約者, 口座, 入金額 and 伝票番号 first; 記帳する on that page posts; the same slip's
    confirm page in another tab posts nothing more."""
    from accounts.models import Account
    from tests import factories

    customer = factories.customer(name_kanji="窓口 花子")
    account = factories.account(owner=customer, balance=2_000)
    _staff_login(page)
    second_tab = page.context.new_page()
    for tab in (page, second_tab):
        tab.goto(f"/admin/accounts/customer/{customer.pk}/change/")
        tab.locator(f'a[href="/admin/accounts/account/{account.pk}/deposit/"]').first.click()
        tab.get_by_label("入金額（円）").fill("１２，３４５")
        tab.get_by_label("伝票番号").fill("s3")
        tab.get_by_role("button", name="確認画面へ").click()
    shown = page.locator("#counter-deposit-confirm").inner_text()
    for said in (customer.contract_id, "窓口 花子", account.number, account.holder_kana, "12,345円", "S3"):
        assert said in shown, said
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"test-artifacts/admin-counter-deposit-confirm-{device}.png", full_page=True)
    assert Account.objects.get(pk=account.pk).balance == 2_000
    page.get_by_role("button", name="記帳する（入金する）").click()
    assert "12,345円の窓口入金を記帳しました（伝票番号 S3）。" in page.locator("ul.messagelist").inner_text()
    assert Account.objects.get(pk=account.pk).balance == 14_345
    second_tab.get_by_role("button", name="記帳する（入金する）").click()
    assert "この伝票番号の入金は記帳済みです" in second_tab.locator("ul.messagelist").inner_text()
    second_tab.close()
    assert Account.objects.get(pk=account.pk).balance == 14_345
