from django.urls import path

from .apis import (
    accounts,
    attachments,
    audit,
    bulk,
    categories,
    feed,
    periods,
    statements,
    transactions,
    transfers,
)

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}audit/", audit.AuditListApi.as_view(), name="audit-list"),
    path(f"{P}lock-date/", periods.LockDateApi.as_view(), name="lock-date"),
    path(f"{P}accounts/", accounts.AccountListCreateApi.as_view(), name="account-list"),
    path(
        f"{P}accounts/<id:account_id>/", accounts.AccountDetailApi.as_view(), name="account-detail"
    ),
    path(f"{P}categories/", categories.CategoryListCreateApi.as_view(), name="category-list"),
    path(
        f"{P}categories/<id:category_id>/",
        categories.CategoryDetailApi.as_view(),
        name="category-detail",
    ),
    path(
        f"{P}transactions/",
        transactions.TransactionListCreateApi.as_view(),
        name="transaction-list",
    ),
    path(
        f"{P}transactions/changes/",
        feed.TransactionChangesApi.as_view(),
        name="transaction-changes",
    ),
    path(
        f"{P}transactions/bulk-update/",
        bulk.TransactionBulkUpdateApi.as_view(),
        name="transaction-bulk-update",
    ),
    path(
        f"{P}transactions/bulk-delete/",
        bulk.TransactionBulkDeleteApi.as_view(),
        name="transaction-bulk-delete",
    ),
    path(
        f"{P}transactions/bulk/",
        transactions.TransactionBulkCreateApi.as_view(),
        name="transaction-bulk",
    ),
    path(
        f"{P}transactions/<id:tx_id>/",
        transactions.TransactionDetailApi.as_view(),
        name="transaction-detail",
    ),
    path(
        f"{P}transactions/<id:tx_id>/restore/",
        transactions.TransactionRestoreApi.as_view(),
        name="transaction-restore",
    ),
    path(f"{P}transfers/", transfers.TransferListCreateApi.as_view(), name="transfer-list"),
    path(
        f"{P}transfers/<id:transfer_id>/",
        transfers.TransferDetailApi.as_view(),
        name="transfer-detail",
    ),
    path(f"{P}statements/", statements.StatementListCreateApi.as_view(), name="statement-list"),
    path(
        f"{P}statements/<id:statement_id>/",
        statements.StatementDetailApi.as_view(),
        name="statement-detail",
    ),
    path(
        f"{P}statements/<id:statement_id>/reconcile/",
        statements.StatementReconcileApi.as_view(),
        name="statement-reconcile",
    ),
    path(
        f"{P}statements/<id:statement_id>/reopen/",
        statements.StatementReopenApi.as_view(),
        name="statement-reopen",
    ),
    path(
        f"{P}attachments/",
        attachments.AttachmentListCreateApi.as_view(),
        name="attachment-list",
    ),
    path(
        f"{P}attachments/<id:attachment_id>/",
        attachments.AttachmentDetailApi.as_view(),
        name="attachment-detail",
    ),
    path(
        f"{P}attachments/<id:attachment_id>/download/",
        attachments.AttachmentDownloadApi.as_view(),
        name="attachment-download",
    ),
]
