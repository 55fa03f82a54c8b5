from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "口座・勘定"

    def ready(self):
        from .db_roles import grants_after_migrate
        from .roles import branch_staff_group_ensure
        from .signals import closing_day_changed

        post_migrate.connect(branch_staff_group_ensure, dispatch_uid="accounts.branch_staff_group")
        post_migrate.connect(grants_after_migrate, sender=self, dispatch_uid="accounts.db_grants")
        for signal in (post_save, post_delete):  # LEDGER-6: a 臨時休業日 counts at once in this process
            signal.connect(closing_day_changed, sender="accounts.BankClosingDay",
                           dispatch_uid=f"accounts.closing_day_changed.{signal is post_save}")
