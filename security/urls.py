from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("logged-out/", views.logged_out_view, name="logged_out"),
    path("password/initial/", views.password_change_initial_view, name="password_change_initial"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/password/", views.password_change_view, name="password_change"),
    path("session/ping/", views.session_ping_view, name="session_ping"),
]
