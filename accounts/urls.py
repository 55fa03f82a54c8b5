from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("balances/", views.balances, name="balances"),
    path("statements/", views.statements, name="statements"),
    path("statements/csv/", views.statements_csv, name="statements_csv"),
]
