from django.apps import AppConfig


class PayeasyConfig(AppConfig):
    name = "payeasy"
    verbose_name = "ペイジー"
