from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/exchange-rates/"

urlpatterns = [
    path(P, apis.ExchangeRateListCreateApi.as_view(), name="exchange-rates"),
    path(f"{P}import/", apis.ExchangeRateImportApi.as_view(), name="exchange-rates-import"),
    path(f"{P}<id:rate_id>/", apis.ExchangeRateDetailApi.as_view(), name="exchange-rate-detail"),
]
