from django.core.management.base import BaseCommand

from transfers.banks import zengin_load


class Command(BaseCommand):
    help = "Load or refresh the Zengin bank and branch tables from the zengin-code package (XFER-2)."

    def handle(self, *args, **options):
        banks, branches = zengin_load()
        self.stdout.write(f"zengin: {banks} banks, {branches} branches")
