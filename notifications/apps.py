from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "通知"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.connect(_install_wake_up, dispatch_uid="notifications_wake_up")


def _install_wake_up(sender, connection, **kwargs) -> None:
    from .services import wake_after_ledger_post

    if wake_after_ledger_post not in connection.execute_wrappers:
        connection.execute_wrappers.append(wake_after_ledger_post)
