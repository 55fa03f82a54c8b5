"""A URL configuration of test_jinja2_environment.py's: the name ``home`` elsewhere."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("elsewhere/", lambda request: HttpResponse(), name="home")]
