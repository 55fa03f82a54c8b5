from django.urls import path

from . import views

app_name = "payeasy"

urlpatterns = [
    path("", views.start_view, name="start"),
    path("numbers/", views.numbers_view, name="numbers"),
    path("bill/", views.bill_view, name="bill"),
    path("confirm/", views.confirm_view, name="confirm"),
    path("done/", views.done_view, name="done"),
    path("link/", views.link_view, name="link"),
    path("link/bill/", views.link_resume_view, name="link_resume"),
    path("simulator/<str:number>/", views.simulator_biller_view, name="simulator_biller"),
]
