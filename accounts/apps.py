from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "口座・勘定"

    def ready(self):
        from .db_roles import grants_after_migrate
        from .roles import branch_staff_group_ensure

        post_migrate.connect(branch_staff_group_ensure, dispatch_uid="accounts.branch_staff_group")
        post_migrate.connect(grants_after_migrate, sender=self, dispatch_uid="accounts.db_grants")
