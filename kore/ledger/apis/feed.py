"""GET /transactions/changes/: incremental sync for API clients and the web UI."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.pagination import parse_limit
from kore.orgs.scoping import OrgAPIView

from ..feed import transaction_changes
from ..serializers import TransactionOutput
from ..transaction_list import row_json

ChangePage = inline_serializer(
    "TransactionChanges",
    {
        "changes": inline_serializer(
            "TransactionChange",
            {
                "op": serializers.ChoiceField(["upsert", "delete"]),
                "id": serializers.IntegerField(),
                "change_seq": serializers.IntegerField(),
                "transaction": TransactionOutput(allow_null=True),
            },
            many=True,
        ),
        "cursor": serializers.CharField(help_text="Pass back as ?cursor= to get what follows."),
        "has_more": serializers.BooleanField(),
    },
)


class TransactionChangesApi(OrgAPIView):
    """Added, modified and removed (tombstones) transactions since ``cursor``, oldest first.

    Start without a cursor; keep the returned one. A cursor older than the tombstone
    retention is a 410 ``cursor_expired``: start again without one.
    """

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False, description="1 to 500, default 50"),
        ],
        responses={200: ChangePage},
        tags=["transactions"],
    )
    def get(self, request: Request, org_slug: str) -> Response:
        limit = parse_limit(request.query_params.get("limit"))
        rows, cursor, more = transaction_changes(
            organization=self.org.organization,
            cursor=request.query_params.get("cursor") or None,
            limit=limit,
        )
        changes = [
            {
                "op": "delete" if row["deleted_at"] else "upsert",
                "id": row["id"],
                "change_seq": row["change_seq"],
                "transaction": None if row["deleted_at"] else row_json(row),
            }
            for row in rows
        ]
        return Response({"changes": changes, "cursor": cursor, "has_more": more})
