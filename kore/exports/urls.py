from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(
        f"{P}transactions/export/", apis.TransactionExportApi.as_view(), name="transaction-export"
    ),
    path(f"{P}exports/<id:job_id>/", apis.ExportDetailApi.as_view(), name="export-detail"),
    path(
        f"{P}exports/<id:job_id>/download/",
        apis.ExportDownloadApi.as_view(),
        name="export-download",
    ),
]
