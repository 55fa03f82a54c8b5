from django.contrib import admin
from django.urls import include, path

from security.history import history_view
from security.staff_admin import StaffAdminSite

from . import views

# STAFF-1: staff sign in to admin with password + OTP (django-otp's admin site).
admin.site.__class__ = StaffAdminSite
admin.site.site_header = "大阪厚生信用金庫 インターネットバンキング 営業店管理"
admin.site.site_title = "IB 営業店管理"
admin.site.index_title = "営業店の業務"

handler403 = views.permission_denied

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("history/", history_view, name="history"),
    path("", include("security.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("payeasy/", include("payeasy.urls")),
    path("transfers/", include("transfers.urls")),
    path("admin/", admin.site.urls),
]
