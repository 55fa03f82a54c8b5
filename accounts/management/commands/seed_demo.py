from django.core.management.base import BaseCommand

from accounts import demo
from transfers.demo import seed_transfers_demo


class Command(BaseCommand):
    help = "Load the demo customers, accounts and 18 months of history (idempotent)."

    def handle(self, *args, **options):
        result = demo.seed_demo()
        from security.cards import demo_cards_ensure  # SEC-5: every demo customer has a card

        cards_issued = demo_cards_ensure()
        from payeasy.demo import payeasy_demo_seed  # PAY-2: the biller simulator's billers and bills

        payeasy_demo_seed()
        seed_transfers_demo(stdout=self.stdout)  # XFER-2/3: Zengin banks, fees, interbank demo accounts
        if cards_issued:
            self.stdout.write(f"image cards issued for {cards_issued} demo customers "
                              "(see them with: manage.py demo_secrets)")
        if result.customers:
            self.stdout.write(f"demo data loaded for {len(result.customers)} customers")
        self.stdout.write("")
        self.stdout.write("=== デモ用ログイン情報 (demo logins) " + "=" * 40)
        for customer in demo.DEMO_CUSTOMERS:
            self.stdout.write(
                f"  契約者ID {customer.contract_id}  パスワード {customer.password}"
                f"  {customer.name_kanji}（{customer.note}）"
            )
        self.stdout.write(f"  管理画面 /admin/  {demo.STAFF_USERNAME} / {demo.STAFF_PASSWORD}（営業店担当者）")
        self.stdout.write(f"  管理画面 /admin/  {demo.SUPERVISOR_USERNAME} / {demo.SUPERVISOR_PASSWORD}"
                          "（営業店役席者：口座の支払停止・拘束額も）")
        for username, secret in result.staff_totp_secrets.items():
            self.stdout.write(f"  {username} の管理画面のワンタイムパスワード（この一度だけ表示）: 認証アプリに次の鍵を登録")
            self.stdout.write(f"    {secret}")
            self.stdout.write(f"    otpauth://totp/cosei-ib:{username}?secret={secret}&issuer=cosei-ib")
        self.stdout.write("=" * 77)
