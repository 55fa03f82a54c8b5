"""XFER-12, STAFF-1 in a real browser: branch staff sign in with password + OTP, create
and download the day's 仕向 file, then upload a 被仕向 file that credits a customer and
lists one 入金不能."""

from __future__ import annotations

import base64

import pyotp
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _staff_login(page) -> None:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.roles import branch_staff_group_ensure

    staff = get_user_model().objects.create_user(username="kawase", password="Staff-pass-1", is_staff=True)
    staff.groups.add(branch_staff_group_ensure())
    device = TOTPDevice.objects.create(user=staff, name="端末", confirmed=True)
    page.goto("/admin/")
    page.get_by_label("ユーザー名").fill("kawase")
    page.get_by_label("パスワード:", exact=True).fill("Staff-pass-1")
    page.get_by_label("ワンタイムパスワード").fill(pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now())
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url("**/admin/")


def test_staff_download_the_days_file_and_upload_an_incoming_file(page, device, tmp_path):
    from accounts.models import Account
    from tests import factories
    from tests.transfers.support import content_for, execute, other_bank_payee, payer
    from tests.transfers.test_interbank_services import incoming_file
    from transfers.banks import zengin_load
    from transfers.demo import interbank_accounts_ensure, reference_ensure
    from transfers.models import InterbankOutgoingFile

    zengin_load(codes={"1633", "0161"})
    reference_ensure()
    interbank_accounts_ensure()
    customer, debit = payer()
    transfer = execute(customer, content_for(customer, debit, other_bank_payee(), 43_210))
    day = transfer.outgoing.settlement_date
    receiver = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))

    _staff_login(page)
    page.goto("/admin/transfers/interbankoutgoingfile/")
    page.get_by_role("link", name="仕向ファイルを作成").click()
    # the page opens on the day the transfers of today settle (on a holiday, the next
    # business day — docs/interbank.md; walk22)
    assert page.get_by_label("決済日（営業日）").input_value() == day.isoformat()
    page.get_by_label("決済日（営業日）").fill(day.isoformat())
    page.get_by_role("button", name="表示").click()
    check = page.locator("#interbank-check").inner_text()
    assert "件数 1件" in check and "43,210円" in check and "一致" in check
    page.get_by_role("button", name="仕向ファイルを作成する").click()
    assert "を作成しました" in page.locator("ul.messagelist").inner_text()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="ダウンロード").click()
    saved = tmp_path / "out.txt"
    download_info.value.save_as(saved)
    assert saved.read_bytes() == bytes(InterbankOutgoingFile.objects.get().content)
    assert b"43210" in saved.read_bytes()

    incoming = tmp_path / "nyukin.txt"
    incoming.write_bytes(incoming_file([(receiver, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000), (None, "ﾀﾞﾚｶ", 1_000)]))
    page.goto("/admin/transfers/interbankincomingfile/")
    page.get_by_role("link", name="被仕向ファイルを取り込む").click()
    page.get_by_label("振込入金明細ファイル").set_input_files(str(incoming))
    page.get_by_role("button", name="取り込む").click()
    assert "入金 1件、入金不能 1件" in page.locator("ul.messagelist").inner_text()
    assert "口座なし" in page.locator("#result_list").inner_text()
    page.screenshot(path=f"test-artifacts/admin-interbank-{device}.png", full_page=True)
    assert Account.objects.get(pk=receiver.pk).balance == 30_000


def test_the_incoming_record_list_keeps_every_column_whole_with_several_files(page, device, tmp_path):
    """XFER-12, STAFF-1, UI-1 (walk31 F5): with six uploaded files the file filter beside
    振込入金明細 listed labels such as 「被仕向 第5号 interbank-demo-incoming.txt 3件 142,000円」,
    widened, and cut the last column — 入金口座 read 「001 普通 ﾔﾏ…」 at 1280 pixels beside the
    sidebar (walk25 F23 again). Every column reads whole at 1280; a phone never scrolls sideways."""
    from accounts.models import Account
    from tests import factories
    from tests.browser.layout import no_horizontal_overflow
    from tests.transfers.test_interbank_services import incoming_file

    yamada = factories.account(owner=factories.customer(name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))
    suzuki = factories.account(owner=factories.customer(name_kana="ｽｽﾞｷ ｲﾁﾛｳ"))
    frozen = factories.account(owner=factories.customer(name_kana="ｻﾄｳ ﾊﾅｺ"))
    Account.objects.filter(pk=frozen.pk).update(status=Account.Status.FROZEN)
    _staff_login(page)
    for number in range(6):
        # a name with nowhere to break, too: it wraps in the filter, which keeps its width
        name = "interbank-demo-incoming.txt" if number % 2 else "zengin_sogofurikomi_nyukin_meisai_20261208_0900.txt"
        upload = tmp_path / f"{number}" / name
        upload.parent.mkdir()
        upload.write_bytes(incoming_file([(yamada, "ﾔﾏﾀﾞ ﾀﾛｳ", 30_000 + number), (suzuki, "ﾀﾅｶ ｼﾞﾛｳ", 5_000 + number),
                                          (frozen, "ｻﾄｳ ﾊﾅｺ", 4_321 + number),
                                          (yamada, "ﾔﾏﾀﾞ ﾀﾛｳ", 11_111_111 + number)]))
        page.goto("/admin/transfers/interbankincomingfile/upload/")
        page.get_by_label("振込入金明細ファイル").set_input_files(str(upload))
        page.get_by_role("button", name="取り込む").click()
        assert "入金 1件、入金不能 2件、入金保留 1件" in page.locator("ul.messagelist").inner_text()
    page.goto("/admin/transfers/interbankincomingrecord/")
    page.screenshot(path=f"test-artifacts/admin-incomingrecord-files-{device}.png", full_page=True)
    assert no_horizontal_overflow(page)
    credited = page.locator("#result_list td.field-credited_account").filter(has_text="ﾔﾏﾀﾞ")
    assert credited.count() == 6
    if device == "desktop":
        assert page.locator("#nav-sidebar").is_visible()
        assert page.evaluate("""() => {
          const results = document.querySelector('#changelist .results');
          return results.scrollWidth <= results.clientWidth + 1;
        }"""), "振込入金明細 scrolls sideways: a column is cut"
        box = page.locator("#changelist .results").bounding_box()
        for cell in credited.all() + [page.locator("#result_list th.column-credited_account")]:
            cut = cell.evaluate("cell => cell.scrollWidth > cell.clientWidth + 1")
            edge = cell.bounding_box()
            assert not cut and edge["x"] + edge["width"] <= box["x"] + box["width"] + 1
        # the filter still names each file by its number (a file's number is its id: on a test
        # worker earlier files have taken the first ones)
        from transfers.models import InterbankIncomingFile
        newest = InterbankIncomingFile.objects.latest("pk").pk
        assert page.locator("#changelist-filter").get_by_role("link", name=f"第{newest}号 ", exact=False).count() == 1
