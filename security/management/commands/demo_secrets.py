"""Development helper: what a demo customer would read from their image card and their
software token, so a newcomer can try every flow (SEC-5, SEC-6).

Refuses to run unless DEBUG is on (``--force`` overrides, e.g. on a staging copy with
demo data only). Prints to stdout, never to a log.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from security import cards, pictograms
from security.models import ImageCardChallenge, OtpToken
from security.otp import otp_current_code, otp_secret_base32


class Command(BaseCommand):
    help = "Show a demo customer's current OTP and image card grid (development only)."

    def add_arguments(self, parser):
        parser.add_argument("contract_ids", nargs="*", help="契約者ID (default: the demo customers)")
        parser.add_argument("--force", action="store_true", help="run even when DEBUG is off")
        parser.add_argument("--staff", metavar="USERNAME", help="print a staff user's admin OTP instead")

    def handle(self, *args, contract_ids, force, staff=None, **options):
        if not settings.DEBUG and not force:
            raise CommandError("demo_secrets shows card layouts and OTPs: development only "
                               "(DEBUG is off; use --force on a demo-only database).")
        if staff:
            self._staff(staff)
            return
        if not contract_ids:
            from accounts import demo

            contract_ids = [entry.contract_id for entry in demo.DEMO_CUSTOMERS]
        for contract_id in contract_ids:
            customer = Customer.objects.filter(contract_id=contract_id).first()
            if customer is None:
                self.stderr.write(f"契約者ID {contract_id}: not found")
                continue
            self.stdout.write(f"=== 契約者ID {contract_id} {customer.name_kanji} " + "=" * 30)
            self._otp(customer)
            self._card(customer)
            self.stdout.write("")

    def _staff(self, username):
        import base64

        import pyotp
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"staff user {username} has no OTP device")
        code = pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()
        self.stdout.write(f"管理画面のワンタイムパスワード（{username}）: {code}")

    def _otp(self, customer):
        token = OtpToken.objects.select_related("device", "customer").filter(customer=customer).first()
        if token is None:
            self.stdout.write("ワンタイムパスワード: 未登録（ログイン画面の「ワンタイムパスワード 利用開始」から）")
            return
        state = "利用中" if token.is_active else "利用開始手続き中"
        self.stdout.write(f"ワンタイムパスワード: {otp_current_code(token)}  （{state}、シリアル番号 "
                          f"{token.serial}、ログイン時認証 {'する' if token.required_at_login else 'しない'}）")
        self.stdout.write(f"  キー(base32): {otp_secret_base32(token)}")

    def _card(self, customer):
        card = cards.image_card_active(customer)
        if card is None:
            self.stdout.write("画像認証カード: 未発行")
            return
        challenge = ImageCardChallenge.objects.filter(customer=customer, closed_at__isnull=True).first()
        if challenge is not None:
            asked = ", ".join(f"{cards.cell_label(cell)}={pictograms.pictogram_name(card.layout[cell])}"
                              for cell in challenge.cells)
            self.stdout.write(f"画像認証: 現在の指定 {asked}")
        self.stdout.write("画像認証カード:")
        width = max(len(pictograms.pictogram_name(code)) for code in card.layout)
        self.stdout.write("     " + "".join(f"{chr(ord(column) + 0xFEE0):　<{width + 1}}" for column in cards.COLUMNS))
        for row_number, row in enumerate(cards.ROWS):
            names = [pictograms.pictogram_name(code) for code in
                     card.layout[row_number * len(cards.COLUMNS):(row_number + 1) * len(cards.COLUMNS)]]
            self.stdout.write(f"  {row}  " + "".join(f"{name:　<{width + 1}}" for name in names))
