from django.urls import path

from . import apis, apis_rules

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}payees/", apis.PayeeListCreateApi.as_view(), name="payee-list"),
    path(f"{P}payees/<id:payee_id>/", apis.PayeeDetailApi.as_view(), name="payee-detail"),
    path(f"{P}payees/<id:payee_id>/merge/", apis.PayeeMergeApi.as_view(), name="payee-merge"),
]

urlpatterns += [
    path(f"{P}rules/", apis_rules.RuleListCreateApi.as_view(), name="rule-list"),
    path(f"{P}rules/order/", apis_rules.RuleOrderApi.as_view(), name="rule-order"),
    path(f"{P}rules/<id:rule_id>/", apis_rules.RuleDetailApi.as_view(), name="rule-detail"),
    path(
        f"{P}rules/<id:rule_id>/preview/",
        apis_rules.RulePreviewApi.as_view(),
        name="rule-preview",
    ),
    path(f"{P}rules/<id:rule_id>/apply/", apis_rules.RuleApplyApi.as_view(), name="rule-apply"),
    path(f"{P}rule-runs/<id:run_id>/", apis_rules.RuleRunDetailApi.as_view(), name="rule-run"),
    path(
        f"{P}rule-runs/<id:run_id>/undo/",
        apis_rules.RuleRunUndoApi.as_view(),
        name="rule-run-undo",
    ),
]
