from django.urls import path

from . import apis

urlpatterns = [
    path("health/", apis.HealthApi.as_view(), name="health"),
    path("health/live/", apis.LiveApi.as_view(), name="health-live"),
]
