from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/imports/"

urlpatterns = [
    path(P, apis.ImportListCreateApi.as_view(), name="import-list"),
    path(f"{P}kore-export/", apis.KoreExportImportApi.as_view(), name="import-kore-export"),
    path(f"{P}<id:job_id>/", apis.ImportDetailApi.as_view(), name="import-detail"),
    path(f"{P}<id:job_id>/cancel/", apis.ImportCancelApi.as_view(), name="import-cancel"),
    path(f"{P}<id:job_id>/force/", apis.ImportForceApi.as_view(), name="import-force"),
    path(
        f"{P}<id:job_id>/matches/undo/", apis.ImportMatchUndoApi.as_view(), name="import-match-undo"
    ),
    path(
        f"{P}<id:job_id>/matches/choose/",
        apis.ImportMatchChooseApi.as_view(),
        name="import-match-choose",
    ),
    path(f"{P}<id:job_id>/promote/", apis.ImportPromoteApi.as_view(), name="import-promote"),
]
