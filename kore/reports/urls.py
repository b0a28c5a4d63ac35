from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/reports/"

urlpatterns = [
    path(f"{P}balances/", apis.BalancesApi.as_view(), name="report-balances"),
    path(f"{P}categories/", apis.CategoryTotalsApi.as_view(), name="report-categories"),
    path(f"{P}cashflow/", apis.CashFlowApi.as_view(), name="report-cashflow"),
    path(f"{P}net-worth/", apis.NetWorthApi.as_view(), name="report-net-worth"),
]
