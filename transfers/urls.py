from django.urls import path

from . import scheduled_views, views

app_name = "transfers"

urlpatterns = [
    path("", views.start, name="start"),
    path("new/bank/", views.bank, name="bank"),
    path("new/bank/<str:bank_code>/", views.branch, name="branch"),
    path("new/bank/<str:bank_code>/<str:branch_code>/", views.account_entry, name="account"),
    path("details/", views.details, name="details"),
    path("confirm/", views.confirm, name="confirm"),
    path("done/<int:transfer_id>/", views.done, name="done"),
    path("payees/", views.payees, name="payees"),
    path("payees/<int:payee_id>/rename/", views.payee_rename, name="payee_rename"),
    path("payees/<int:payee_id>/delete/", views.payee_delete, name="payee_delete"),
    path("limit/", views.limit, name="limit"),
    path("limit/confirm/", views.limit_confirm, name="limit_confirm"),
    path("limit/done/", views.limit_done, name="limit_done"),
    path("scheduled/", scheduled_views.scheduled_list, name="scheduled"),
    path("scheduled/<int:transfer_id>/cancel/", scheduled_views.scheduled_cancel_start, name="scheduled_cancel_start"),
    path("scheduled/cancel/", scheduled_views.scheduled_cancel, name="scheduled_cancel"),
    path("scheduled/history/", scheduled_views.scheduled_history, name="scheduled_history"),
]
