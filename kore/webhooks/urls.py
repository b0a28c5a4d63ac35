from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/webhooks/"

urlpatterns = [
    path(P, apis.WebhookListCreateApi.as_view(), name="webhook-list"),
    path(f"{P}<id:endpoint_id>/", apis.WebhookDetailApi.as_view(), name="webhook-detail"),
    path(
        f"{P}<id:endpoint_id>/deliveries/",
        apis.WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        f"{P}<id:endpoint_id>/deliveries/<id:delivery_id>/redeliver/",
        apis.WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
    path(f"{P}<id:endpoint_id>/replay/", apis.WebhookReplayApi.as_view(), name="webhook-replay"),
]
