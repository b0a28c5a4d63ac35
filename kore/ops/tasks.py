"""Scheduled housekeeping. Thin wrappers: each calls one service and is safe to run twice."""

from celery import shared_task

from kore.core.idempotency import idempotency_keys_purge
from kore.ledger.services.transactions import transactions_purge_deleted
from kore.orgs.services import tokens_flush_expired


@shared_task(name="kore.ops.flush_expired_tokens")
def flush_expired_tokens() -> int:
    return tokens_flush_expired()


@shared_task(name="kore.ops.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task(name="kore.ops.purge_deleted_transactions")
def purge_deleted_transactions() -> int:
    return transactions_purge_deleted()
