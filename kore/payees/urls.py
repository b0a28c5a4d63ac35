from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}payees/", apis.PayeeListCreateApi.as_view(), name="payee-list"),
    path(f"{P}payees/<id:payee_id>/", apis.PayeeDetailApi.as_view(), name="payee-detail"),
    path(f"{P}payees/<id:payee_id>/merge/", apis.PayeeMergeApi.as_view(), name="payee-merge"),
]
