"""GET /audit/: the organisation's audit trail (owners and admins), read-only."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import InvalidRequest
from kore.core.fields import IdField
from kore.core.pagination import parse_limit
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from ..selectors.audit import ACTIONS, OBJECT_TYPES, AuditFilter, audit_page


class AuditQuery(serializers.Serializer[Any]):
    object_type = serializers.ChoiceField(choices=OBJECT_TYPES, required=False)
    object_id = IdField(required=False, help_text="One object's entries; needs object_type.")
    cursor = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


AuditPage = inline_serializer(
    "AuditPage",
    {
        "results": inline_serializer(
            "AuditEntry",
            {
                "id": serializers.CharField(help_text='"<object_type>:<history id>"'),
                "object_type": serializers.ChoiceField(choices=OBJECT_TYPES),
                "object_id": serializers.IntegerField(),
                "action": serializers.ChoiceField(
                    choices=ACTIONS,
                    help_text="Deleting a transaction (a soft delete) is `deleted` too.",
                ),
                "at": serializers.DateTimeField(),
                "actor": inline_serializer(
                    "AuditActor",
                    {
                        "user_id": serializers.IntegerField(allow_null=True),
                        "email": serializers.EmailField(allow_null=True),
                        "api_token_id": serializers.IntegerField(
                            allow_null=True, help_text="Set when an API token made the change."
                        ),
                    },
                ),
                "request_id": serializers.CharField(),
                "changes": serializers.DictField(
                    child=inline_serializer(
                        "AuditChange",
                        {
                            "before": serializers.JSONField(required=False),
                            "after": serializers.JSONField(required=False),
                        },
                    ),
                    help_text="Per field: `before` and `after` (created: `after` only; "
                    "deleted: `before` only). Money is a decimal string; references are ids.",
                ),
            },
            many=True,
        ),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)


class AuditListApi(OrgAPIView):
    """Who changed what, when, and in which request: newest first, keyset cursor.

    Covers accounts, categories, transactions, statements and memberships, bulk writes included.
    Owners and admins only; entries are never edited.
    """

    read_role = Role.ADMIN
    write_role = Role.ADMIN

    @extend_schema(
        parameters=[AuditQuery],
        responses={200: AuditPage},
        tags=["audit"],
        operation_id="orgs_audit_list",
    )
    def get(self, request: Request, org_slug: str) -> Response:
        parse_limit(request.query_params.get("limit"))  # 422 above 500, before the serializer
        query = AuditQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        if "object_id" in params and "object_type" not in params:
            raise InvalidRequest(
                "object_id needs object_type.",
                fields={"object_type": [{"code": "required", "message": "Needed with object_id."}]},
            )
        entries, next_cursor = audit_page(
            organization=self.org.organization,
            filters=AuditFilter(params.get("object_type"), params.get("object_id")),
            cursor=params.get("cursor") or None,
            limit=params["limit"],
        )
        return Response({"results": entries, "next_cursor": next_cursor})
