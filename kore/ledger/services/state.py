from django.db import IntegrityError, connection, transaction
from django.db.models import F

from kore.orgs.models import Organization

from ..models import LedgerState


def ledger_version_bump(*, organization: Organization) -> int:
    """Take the organisation's ledger lock and return its next change number.

    Must run inside the caller's transaction: the row stays locked until it commits, so
    change numbers become visible in order (the change feed relies on it) and the report cache
    key moves in the same commit as the data.
    """
    assert transaction.get_connection().in_atomic_block, "call inside transaction.atomic()"
    from kore.webhooks.events import ledger_changed_on_commit

    ledger_changed_on_commit(organization_id=organization.pk)  # transaction webhooks
    bumped = LedgerState.objects.filter(organization=organization).update(version=F("version") + 1)
    if not bumped:
        try:
            with transaction.atomic():
                LedgerState.objects.create(organization=organization, version=0)
        except IntegrityError:
            pass  # a concurrent writer created it first
        LedgerState.objects.filter(organization=organization).update(version=F("version") + 1)
    return int(
        LedgerState.objects.filter(organization=organization).values_list("version", flat=True)[0]
    )


def ledger_version(*, organization: Organization) -> int:
    """The organisation's current change number (0 before its first write).

    Every cached report reads it first, so it is a plain statement rather than an ORM query.
    """
    table = LedgerState._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "version" FROM "{table}" WHERE "organization_id" = %s',  # noqa: S608
            [organization.pk],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
