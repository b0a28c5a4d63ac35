"""Operator URLs, mounted at /ops/ (outside the versioned API)."""

from django.urls import path

from . import views

app_name = "ops"
urlpatterns = [
    path("status/", views.status_page, name="status"),
    path("metrics", views.metrics_endpoint, name="metrics"),
]
