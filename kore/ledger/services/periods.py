"""Closed periods: what is on or before an account's latest reconciled statement, or the
organisation's lock date, stays as it is.

Every write to transactions (one or a batch, an edit, a delete, a restore, a bulk edit, a
transfer, an import) calls ``period_open_check`` inside its database transaction after
``ledger_version_bump``: reconciling a statement and moving the lock date take that same lock, so
a write either commits before the period closes or sees it closed. Reconciling and reopening a
statement change the status of rows inside the period by design and do not call it.
"""

from collections.abc import Iterable
from datetime import date

from django.db import transaction as db_transaction
from django.db.models import Max, Q

from kore.core.exceptions import Conflict
from kore.orgs.models import Organization
from kore.orgs.scoping import OrgContext

from ..models import Account, Statement
from .state import ledger_version_bump

CODE = "period_reconciled"


def closed_through(*, organization: Organization, account_ids: Iterable[int]) -> dict[int, date]:
    """For each account with a closed period, the last closed day (one query)."""
    rows = (
        Account.objects.filter(organization_id=organization.pk, pk__in=set(account_ids))
        .annotate(
            reconciled=Max(
                "statements__end_date", filter=Q(statements__status=Statement.Status.RECONCILED)
            )
        )
        .values_list("pk", "name", "reconciled", "organization__lock_date")
    )
    closed: dict[int, date] = {}
    for pk, _name, reconciled, lock in rows:
        last = max((d for d in (reconciled, lock) if d is not None), default=None)
        if last is not None:
            closed[pk] = last
    return closed


def _refusal(account: Account, day: date, reconciled: date | None, lock: date | None) -> Conflict:
    if lock is not None and day <= lock:
        reason = f"the books are locked through {lock.isoformat()}"
    else:
        assert reconciled is not None
        reason = (
            f"account {account.name!r} is reconciled through {reconciled.isoformat()}; "
            "an admin must reopen that statement first"
        )
    message = f"{day.isoformat()} is in a closed period: {reason}."
    return Conflict(
        message,
        code=CODE,
        fields={"occurred_on": [{"code": CODE, "message": message}]},
    )


def period_open_check(*, organization: Organization, entries: Iterable[tuple[int, date]]) -> None:
    """Refuse (409 ``period_reconciled``) when any (account id, date) is in a closed period.

    Call inside ``atomic()`` after ``ledger_version_bump``.
    """
    wanted: dict[int, date] = {}
    for account_id, day in entries:
        if account_id not in wanted or day < wanted[account_id]:
            wanted[account_id] = day
    if not wanted:
        return
    closed = closed_through(organization=organization, account_ids=wanted)
    for account_id, earliest in sorted(wanted.items()):
        through = closed.get(account_id)
        if through is None or earliest > through:
            continue
        account = Account.objects.get(pk=account_id)
        reconciled = Statement.objects.filter(
            account_id=account_id, status=Statement.Status.RECONCILED
        ).aggregate(d=Max("end_date"))["d"]
        lock = Organization.objects.values_list("lock_date", flat=True).get(pk=organization.pk)
        raise _refusal(account, earliest, reconciled, lock)


def lock_date_set(
    *, ctx: OrgContext, lock_date: date | None, ip: str | None = None
) -> Organization:
    """Close the books through ``lock_date`` for every account (None reopens them); audited.

    Takes the ledger lock, so no write can slip in under the old date once this commits.
    """
    from kore.orgs.services import security_event_record

    with db_transaction.atomic():
        ledger_version_bump(organization=ctx.organization)
        org = Organization.objects.select_for_update().get(pk=ctx.organization.pk)
        before = org.lock_date
        if before != lock_date:
            org.lock_date = lock_date
            org.save(update_fields=["lock_date"])
            security_event_record(
                kind="lock_date_changed",
                actor=ctx.user,
                actor_token=ctx.api_token,
                organization=org,
                ip=ip,
                detail={
                    "from": before.isoformat() if before else None,
                    "to": lock_date.isoformat() if lock_date else None,
                },
            )
    ctx.organization.lock_date = org.lock_date
    return org
