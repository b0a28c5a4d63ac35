"""The web app's pages, served at the site root."""

from django.urls import path

from . import (
    views,
    views_ledger,
    views_mfa,
    views_overview,
    views_planning,
    views_reports,
    views_rules,
    views_suggestions,
    views_transactions,
    views_webhooks,
)

app_name = "web"
ORG = "o/<slug:org_slug>/"

urlpatterns = [
    path("", views.home, name="home"),
    path("switch/", views.switch, name="switch"),
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.SignOutView.as_view(), name="logout"),
    path("sign-in/code/", views_mfa.sign_in_code, name="login-code"),
    path("account/security/", views_mfa.security, name="security"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/confirm/", views.password_reset_confirm, name="password-reset-confirm"),
    path("invitations/accept/", views.invitation_accept, name="invitation-accept"),
    path(f"{ORG}", views_overview.overview, name="overview"),
    path(f"{ORG}transactions/", views_transactions.transaction_list, name="transactions"),
    path(f"{ORG}transactions/new/", views_transactions.transaction_new, name="transaction-new"),
    path(f"{ORG}transactions/bulk/", views_transactions.transaction_bulk, name="transaction-bulk"),
    path(
        f"{ORG}transactions/restore/",
        views_transactions.transaction_restore,
        name="transaction-restore",
    ),
    path(
        f"{ORG}transactions/<id:tx_id>/", views_transactions.transaction_detail, name="transaction"
    ),
    path(
        f"{ORG}transactions/<id:tx_id>/inline/",
        views_transactions.transaction_inline,
        name="transaction-inline",
    ),
    path(
        f"{ORG}transactions/<id:tx_id>/delete/",
        views_transactions.transaction_delete,
        name="transaction-delete",
    ),
    path(
        f"{ORG}transactions/<id:tx_id>/attachments/",
        views_transactions.attachment_upload,
        name="attachment-upload",
    ),
    path(f"{ORG}accounts/", views_ledger.accounts, name="accounts"),
    path(f"{ORG}accounts/<id:account_id>/", views_ledger.account_edit, name="account"),
    path(f"{ORG}categories/", views_ledger.categories, name="categories"),
    path(f"{ORG}categories/<id:category_id>/", views_ledger.category_edit, name="category"),
    path(f"{ORG}transfers/new/", views_ledger.transfer_new, name="transfer-new"),
    path(f"{ORG}transfers/<id:transfer_id>/", views_ledger.transfer_edit, name="transfer"),
    path(f"{ORG}reconcile/", views_ledger.reconcile, name="reconcile"),
    path(f"{ORG}reconcile/tick/", views_ledger.reconcile_tick, name="reconcile-tick"),
    path(
        f"{ORG}statements/<id:statement_id>/reconcile/",
        views_ledger.statement_reconcile,
        name="statement-reconcile",
    ),
    path(
        f"{ORG}transactions/suggestions/",
        views_suggestions.transaction_suggestions,
        name="transaction-suggestions",
    ),
    path(
        f"{ORG}transactions/<id:tx_id>/suggestions/accept/",
        views_suggestions.suggestion_accept_view,
        name="suggestion-accept",
    ),
    path(
        f"{ORG}imports/<id:job_id>/suggestions/",
        views_suggestions.import_suggestions,
        name="import-suggestions",
    ),
    path(f"{ORG}rules/", views_rules.rules, name="rules"),
    path(f"{ORG}rules/count/", views_rules.rule_count, name="rule-count"),
    path(f"{ORG}rules/<id:rule_id>/", views_rules.rule_edit, name="rule"),
    path(f"{ORG}rule-runs/<id:run_id>/undo/", views_rules.rule_run_undo, name="rule-run-undo"),
    path(f"{ORG}payees/", views_rules.payees, name="payees"),
    path(f"{ORG}payees/<id:payee_id>/", views_rules.payee_edit, name="payee"),
    path(f"{ORG}reports/", views_reports.reports, name="reports"),
    path(f"{ORG}budgets/", views_planning.budgets, name="budgets"),
    path(f"{ORG}schedules/", views_planning.schedules, name="schedules"),
    path(f"{ORG}imports/", views_reports.imports, name="imports"),
    path(f"{ORG}imports/<id:job_id>/", views_reports.import_detail, name="import"),
    path(f"{ORG}imports/<id:job_id>/cancel/", views_reports.import_cancel, name="import-cancel"),
    path(f"{ORG}imports/<id:job_id>/promote/", views_reports.import_promote, name="import-promote"),
    path(f"{ORG}settings/", views.settings_page, name="settings"),
    path(f"{ORG}settings/webhooks/", views_webhooks.webhooks, name="webhooks"),
    path(
        f"{ORG}settings/webhooks/<id:endpoint_id>/",
        views_webhooks.webhook_detail,
        name="webhook",
    ),
    path(
        f"{ORG}settings/webhooks/<id:endpoint_id>/toggle/",
        views_webhooks.webhook_toggle,
        name="webhook-toggle",
    ),
    path(
        f"{ORG}settings/webhooks/<id:endpoint_id>/delete/",
        views_webhooks.webhook_delete,
        name="webhook-delete",
    ),
    path(
        f"{ORG}settings/webhooks/<id:endpoint_id>/deliveries/<id:delivery_id>/redeliver/",
        views_webhooks.webhook_redeliver,
        name="webhook-redeliver",
    ),
    path(f"{ORG}settings/lock-date/", views.lock_date, name="lock-date"),
    path(f"{ORG}settings/invite/", views.invite, name="invite"),
    path(f"{ORG}settings/members/<id:membership_id>/", views.member_change, name="member"),
    path(f"{ORG}settings/tokens/", views.token_create, name="token-create"),
    path(f"{ORG}settings/tokens/<id:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
