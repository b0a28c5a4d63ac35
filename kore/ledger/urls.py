from django.urls import path

from . import apis, apis_attachments, apis_bulk, apis_feed, apis_periods, apis_transfers
from .apis_audit import AuditListApi

P = "orgs/<slug:org_slug>/"

urlpatterns = [
    path(f"{P}audit/", AuditListApi.as_view(), name="audit-list"),
    path(f"{P}lock-date/", apis_periods.LockDateApi.as_view(), name="lock-date"),
    path(f"{P}accounts/", apis.AccountListCreateApi.as_view(), name="account-list"),
    path(f"{P}accounts/<id:account_id>/", apis.AccountDetailApi.as_view(), name="account-detail"),
    path(f"{P}categories/", apis.CategoryListCreateApi.as_view(), name="category-list"),
    path(
        f"{P}categories/<id:category_id>/",
        apis.CategoryDetailApi.as_view(),
        name="category-detail",
    ),
    path(f"{P}transactions/", apis.TransactionListCreateApi.as_view(), name="transaction-list"),
    path(
        f"{P}transactions/changes/",
        apis_feed.TransactionChangesApi.as_view(),
        name="transaction-changes",
    ),
    path(
        f"{P}transactions/bulk-update/",
        apis_bulk.TransactionBulkUpdateApi.as_view(),
        name="transaction-bulk-update",
    ),
    path(
        f"{P}transactions/bulk-delete/",
        apis_bulk.TransactionBulkDeleteApi.as_view(),
        name="transaction-bulk-delete",
    ),
    path(
        f"{P}transactions/bulk/", apis.TransactionBulkCreateApi.as_view(), name="transaction-bulk"
    ),
    path(
        f"{P}transactions/<id:tx_id>/",
        apis.TransactionDetailApi.as_view(),
        name="transaction-detail",
    ),
    path(
        f"{P}transactions/<id:tx_id>/restore/",
        apis.TransactionRestoreApi.as_view(),
        name="transaction-restore",
    ),
    path(f"{P}transfers/", apis_transfers.TransferListCreateApi.as_view(), name="transfer-list"),
    path(
        f"{P}transfers/<id:transfer_id>/",
        apis_transfers.TransferDetailApi.as_view(),
        name="transfer-detail",
    ),
    path(f"{P}statements/", apis.StatementListCreateApi.as_view(), name="statement-list"),
    path(
        f"{P}statements/<id:statement_id>/",
        apis.StatementDetailApi.as_view(),
        name="statement-detail",
    ),
    path(
        f"{P}statements/<id:statement_id>/reconcile/",
        apis.StatementReconcileApi.as_view(),
        name="statement-reconcile",
    ),
    path(
        f"{P}statements/<id:statement_id>/reopen/",
        apis.StatementReopenApi.as_view(),
        name="statement-reopen",
    ),
    path(
        f"{P}attachments/",
        apis_attachments.AttachmentListCreateApi.as_view(),
        name="attachment-list",
    ),
    path(
        f"{P}attachments/<id:attachment_id>/",
        apis_attachments.AttachmentDetailApi.as_view(),
        name="attachment-detail",
    ),
    path(
        f"{P}attachments/<id:attachment_id>/download/",
        apis_attachments.AttachmentDownloadApi.as_view(),
        name="attachment-download",
    ),
]
