"""Property: a CSV export imported back (kore.imports, CSV with the export's column mapping)
gives every imported field exactly: date, amount, description, counterparty, reference."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kore.exports import services, sheets
from kore.imports.models import ImportJob
from kore.imports.readers.base import DATE_MAX, DATE_MIN
from kore.imports.services import import_job_create, import_job_run
from kore.ledger.models import Account, Transaction
from kore.ledger.tests.factories import AccountFactory
from kore.ledger.transaction_list import TransactionFilter

from .conftest import owner_ctx, record

# Text the ledger keeps as typed and the import reads back as is: printable, single spaces, no
# leading formula character (those come back with the neutralising quote, by design).
_word = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S"), exclude_characters="\x00"),
    min_size=1,
    max_size=12,
)
text = (
    st.lists(_word, max_size=4)
    .map(" ".join)
    .filter(lambda s: not s.startswith(sheets.FORMULA_STARTS))
)
row = st.fixed_dictionaries(
    {
        "occurred_on": st.dates(DATE_MIN, DATE_MAX),  # the import's range
        "amount": st.decimals(
            min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2
        ).filter(lambda d: d != 0),
        "description": text.map(lambda s: s[:500]),
        "counterparty": text.map(lambda s: s[:200]),
        "reference": text.map(lambda s: s[:200]),
    }
)

pytestmark = pytest.mark.django_db


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(row, min_size=1, max_size=15, unique_by=lambda r: r["reference"]))
def test_csv_export_import_roundtrip(world, media_root, rows):
    source = AccountFactory(organization=world.org, currency="EUR")
    target = AccountFactory(organization=world.org, currency="EUR")
    record(world, source, rows)
    body = b"".join(
        services.csv_stream(organization=world.org, filters=TransactionFilter(account=source.pk))
    )
    job = import_job_create(
        ctx=owner_ctx(world), file=SimpleUploadedFile("export.csv", body), account=target.pk,
        format="csv", mapping=dict(services.IMPORT_MAPPING), enqueue=False,
    )  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, (job.error_code, job.error_message, job.errors)
    fields = ("occurred_on", "amount", "description", "counterparty", "reference")

    def values(account: Account) -> list[tuple[object, ...]]:
        return sorted(Transaction.objects.filter(account=account).values_list(*fields), key=repr)

    assert values(target) == values(source)
    assert values(source) == sorted(
        ((r["occurred_on"], r["amount"], r["description"], r["counterparty"], r["reference"])
         for r in rows), key=repr,
    )  # fmt: skip
