"""Transactions: list (filters, ordering, keyset cursor), create, read, update, delete, restore,
bulk create."""

import json
from typing import Any

from django.db import connection
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.renderers import wants_browsable
from kore.core.serializers import StrictSerializer
from kore.orgs.scoping import OrgAPIView

from .. import serializers as s
from .. import transaction_list as tl
from ..services import transactions
from ..services.transfers import SKIP_REASONS
from . import IF_MATCH, if_match, query_schema

TransactionQuery = query_schema("TransactionQuery")
TransactionPage = inline_serializer(
    "TransactionPage",
    {
        "results": s.TransactionOutput(many=True),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)


SKIPPED_HELP = (
    "Rows a rule would have made a transfer leg, booked as they are instead, with the reason "
    "(as an import's transfers_skipped says it): e.g. transfer_rate_unknown when the accounts' "
    "currencies differ and the row states no amount in the destination's, "
    "transfer_closed_period, transfer_counter_categorised. Empty: nothing was left out."
)


def _skipped_fields(**locator: Any) -> dict[str, Any]:
    """A skipped row's fields: where it was (``locator``), the code and the message."""
    return {
        **locator,
        "code": serializers.ChoiceField(choices=sorted(SKIP_REASONS)),
        "message": serializers.CharField(),
    }


TransferSkipped = inline_serializer("TransferSkipped", _skipped_fields())
TransactionCreated = type(
    "TransactionCreated",
    (s.TransactionOutput,),
    {
        "__doc__": "The transaction created, as the list renders it, and whether a transfer "
        "rule left it as it is.",
        "transfers_skipped": serializers.ListField(
            child=TransferSkipped, help_text=f"At most one. {SKIPPED_HELP}"
        ),
    },
)


def transfers_skipped(created: transactions.Created, *, index: bool) -> list[dict[str, Any]]:
    """The rows a transfer rule left as they are, in the import report's words (``index``: the
    item's place in the batch, as a batch's errors name it)."""
    return [
        {**({"index": i} if index else {}), "code": code, "message": SKIP_REASONS[code]}
        for i, code in sorted(created.transfers_skipped.items())
    ]


class TransactionRenderMixin:
    """Answer with one transaction as the list shows it, plus its ETag."""

    org: Any

    def render(self, tx_id: int, status: int = 200) -> Response:
        row = tl.get(organization=self.org.organization, tx_id=tx_id)
        if row is None:
            raise NotFound()
        body = tl.row_json(row)
        response = Response(body, status=status)
        response["ETag"] = body["etag"]
        return response


class TransactionListCreateApi(TransactionRenderMixin, OrgAPIView):
    """List (filters, ordering, keyset cursor) or record one transaction."""

    @extend_schema(
        parameters=[TransactionQuery],
        responses={200: TransactionPage},
        tags=["transactions"],
        operation_id="orgs_transactions_list",
    )
    def get(self, request: Request, org_slug: str) -> HttpResponse:
        # ``format`` is the API's renderer choice (``?format=api`` in a browser).
        query = tl.parse_query(request.query_params, also=("format",))
        page = {
            "organization": self.org.organization,
            "filters": query.filters,
            "ordering": query.ordering,
            "cursor": query.cursor,
            "limit": query.limit,
        }
        if (
            connection.vendor == "postgresql"
            and not query.running_balance
            and not wants_browsable(request)
        ):
            # Hot path: PostgreSQL encodes each row; Python only joins them.
            encoded, next_cursor = tl.page_json(**page)
            body = '{"results":[%s],"next_cursor":%s}' % (  # noqa: UP031
                ",".join(encoded),
                json.dumps(next_cursor),
            )
            return HttpResponse(body, content_type="application/json")
        rows, next_cursor = tl.page(**page, running_balance=query.running_balance)
        return Response({"results": [tl.row_json(r) for r in rows], "next_cursor": next_cursor})

    @extend_schema(
        request=s.TransactionInput, responses={201: TransactionCreated}, tags=["transactions"]
    )
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.TransactionInput(data=request.data)
        data.is_valid(raise_exception=True)
        created = transactions.transaction_create_reported(ctx=self.org, **data.validated_data)
        response = self.render(created.transactions[0].pk, status=201)
        response.data["transfers_skipped"] = transfers_skipped(created, index=False)
        return response


class TransactionDetailApi(TransactionRenderMixin, OrgAPIView):
    @extend_schema(responses={200: s.TransactionOutput}, tags=["transactions"])
    def get(self, request: Request, org_slug: str, tx_id: int) -> Response:
        return self.render(tx_id)

    @extend_schema(
        request=s.TransactionPatch, responses={200: s.TransactionOutput}, parameters=[IF_MATCH],
        tags=["transactions"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, tx_id: int) -> Response:
        data = s.TransactionPatch(data=request.data)
        data.is_valid(raise_exception=True)
        transactions.transaction_update(
            ctx=self.org, tx_id=tx_id, if_match=if_match(request), **data.validated_data
        )
        return self.render(tx_id)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["transactions"])
    def delete(self, request: Request, org_slug: str, tx_id: int) -> Response:
        transactions.transaction_delete(ctx=self.org, tx_id=tx_id, if_match=if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TransactionRestoreApi(TransactionRenderMixin, OrgAPIView):
    """Undo a deletion within 30 days."""

    @extend_schema(request=None, responses={200: s.TransactionOutput}, tags=["transactions"])
    def post(self, request: Request, org_slug: str, tx_id: int) -> Response:
        transactions.transaction_restore(ctx=self.org, tx_id=tx_id)
        return self.render(tx_id)


BatchResult = inline_serializer(
    "TransactionBatchResult",
    {
        "ids": serializers.ListField(child=serializers.IntegerField()),
        "transfers_skipped": serializers.ListField(
            child=inline_serializer(
                "BatchTransferSkipped",
                _skipped_fields(
                    index=serializers.IntegerField(help_text="The item's place, 0 first.")
                ),
            ),
            help_text=SKIPPED_HELP,
        ),
    },
)


class TransactionBulkCreateApi(OrgAPIView):
    """Create up to 1,000 transactions at once, all or nothing."""

    class Input(StrictSerializer):
        # DictField, not JSONField: JSONField re-serialises each item and chokes on the Decimal
        # the parser makes of 1.5, hiding which field is wrong; each item's shape is checked below.
        items = serializers.ListField(child=serializers.DictField(), allow_empty=False)

    @extend_schema(
        request=inline_serializer("TransactionBatch", {"items": s.TransactionInput(many=True)}),
        responses={201: BatchResult},
        tags=["transactions"],
    )  # fmt: skip
    def post(self, request: Request, org_slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        items = data.validated_data["items"]
        if len(items) > transactions.BATCH_LIMIT:
            transactions.transaction_create_many(ctx=self.org, rows=items)  # raises batch_too_large
        parsed, shape_errors = [], []
        for item in items:
            one = s.TransactionInput(data=item)
            ok = one.is_valid()
            parsed.append(one.validated_data if ok else {})
            shape_errors.append({} if ok else one.errors)
        if any(shape_errors):
            raise serializers.ValidationError(
                {"items": {str(i): e for i, e in enumerate(shape_errors) if e}}
            )
        created = transactions.transaction_create_many_reported(ctx=self.org, rows=parsed)
        body = {
            "ids": [tx.pk for tx in created.transactions],
            "transfers_skipped": transfers_skipped(created, index=True),
        }
        return Response(body, status=201)
