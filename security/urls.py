from django.urls import path

from . import passkey_views, views

app_name = "security"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("logged-out/", views.logged_out_view, name="logged_out"),
    path("password/initial/", views.password_change_initial_view, name="password_change_initial"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/password/", views.password_change_view, name="password_change"),
    path("session/ping/", views.session_ping_view, name="session_ping"),
    path("login/otp/", views.login_otp_view, name="login_otp"),
    path("otp/activate/", views.otp_activate_view, name="otp_activate"),
    path("otp/activate/token/", views.otp_activate_token_view, name="otp_activate_token"),
    path("otp/activate/register/", views.otp_activate_register_view, name="otp_activate_register"),
    path("otp/activate/done/", views.otp_activate_done_view, name="otp_activate_done"),
    path("image-auth/<int:challenge_id>/<int:position>/<int:index>.png", views.card_image_view,
         name="card_image"),
    path("settings/otp-login/", views.otp_login_setting_view, name="otp_login_setting"),
    path("settings/otp-login/confirm/", views.otp_login_setting_confirm_view,
         name="otp_login_setting_confirm"),
    path("settings/suspend/", views.ib_suspend_view, name="ib_suspend"),
    path("settings/suspend/confirm/", views.ib_suspend_confirm_view, name="ib_suspend_confirm"),
    path("settings/suspend/done/", views.ib_suspend_done_view, name="ib_suspend_done"),
    # SEC-16: passkeys
    path("login/passkey/", passkey_views.login_passkey_view, name="login_passkey"),
    path("login/passkey/options/", passkey_views.login_passkey_options_view, name="login_passkey_options"),
    path("passkey/step-up/<str:stepup_id>/options/", passkey_views.passkey_stepup_options_view,
         name="passkey_stepup_options"),
    path("settings/passkeys/", passkey_views.passkeys_view, name="passkeys"),
    path("settings/passkeys/confirm/", passkey_views.passkey_confirm_view, name="passkey_confirm"),
    path("settings/passkeys/register/", passkey_views.passkey_register_view, name="passkey_register"),
    path("settings/passkeys/register/options/", passkey_views.passkey_register_options_view,
         name="passkey_register_options"),
]
