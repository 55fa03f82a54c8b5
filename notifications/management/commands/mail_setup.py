"""Prepare customer mail for this environment (NOTE-4): make sure the S/MIME signing pair
exists (development creates a self-signed one on first run) and say where the
certificate is and where development mail (.eml files) is written."""

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.smime import signing_pair_ensure


class Command(BaseCommand):
    help = "Ensure the bank's S/MIME certificate (self-signed in development) and print the mail folder."

    def handle(self, *args, **options):
        cert_path, _key_path = signing_pair_ensure()
        self.stdout.write(f"S/MIME signing certificate: {cert_path}")
        if settings.EMAIL_BACKEND == "notifications.backends.EmlFileBackend":
            self.stdout.write(f"customer mail is written as .eml files to: {settings.NOTIFICATIONS_EML_DIR}")
