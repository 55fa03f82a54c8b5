from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("settings/email/", views.email_settings_view, name="email_settings"),
    path("settings/email/address/", views.email_address_view, name="email_address"),
    path("settings/email/confirm/", views.email_confirm_view, name="email_confirm"),
    path("settings/email/verify/", views.email_verify_view, name="email_verify"),
    path("settings/email/secure-mail/", views.secure_mail_view, name="secure_mail"),
]
