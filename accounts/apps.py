from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "口座・勘定"

    def ready(self):
        from .roles import branch_staff_group_ensure

        post_migrate.connect(branch_staff_group_ensure, dispatch_uid="accounts.branch_staff_group")
