from django.urls import path

from . import apis

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}suggestions/", apis.SuggestionBatchApi.as_view(), name="suggestion-batch"),
    path(
        f"{P}suggestions/settings/",
        apis.SuggestionSettingsApi.as_view(),
        name="suggestion-settings",
    ),
    path(
        f"{P}transactions/<id:tx_id>/suggestions/",
        apis.TransactionSuggestionsApi.as_view(),
        name="transaction-suggestions",
    ),
    path(
        f"{P}transactions/<id:tx_id>/suggestions/accept/",
        apis.TransactionSuggestionAcceptApi.as_view(),
        name="transaction-suggestion-accept",
    ),
    path(
        f"{P}imports/<id:job_id>/suggestions/",
        apis.ImportSuggestionsApi.as_view(),
        name="import-suggestions",
    ),
]
