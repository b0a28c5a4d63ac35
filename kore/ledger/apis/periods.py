"""The organisation's lock date: the books are closed through it for every account."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.client_ip import client_ip
from kore.core.serializers import StrictSerializer
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from ..services.periods import lock_date_set

LockDateOutput = inline_serializer(
    "LockDate", {"lock_date": serializers.DateField(allow_null=True)}
)


class LockDateInput(StrictSerializer):
    lock_date = serializers.DateField(allow_null=True)


class LockDateApi(OrgAPIView):
    """Read the lock date; an admin (a person, never an API token: 403 ``human_only``) moves it.

    No transaction dated on or before it is created, changed, deleted or restored (409
    ``period_reconciled``); ``null`` opens the books again. Each move is kept in the security log
    (``lock_date_changed``, with the old and new dates).
    """

    write_role = Role.ADMIN
    human_only = frozenset({"PUT"})

    @extend_schema(responses={200: LockDateOutput}, tags=["organisations"])
    def get(self, request: Request, org_slug: str) -> Response:
        lock = self.org.organization.lock_date
        return Response({"lock_date": lock.isoformat() if lock else None})

    @extend_schema(request=LockDateInput, responses={200: LockDateOutput}, tags=["organisations"])
    def put(self, request: Request, org_slug: str) -> Response:
        data = LockDateInput(data=request.data)
        data.is_valid(raise_exception=True)
        org = lock_date_set(
            ctx=self.org, lock_date=data.validated_data["lock_date"], ip=client_ip(request)
        )
        return Response({"lock_date": org.lock_date.isoformat() if org.lock_date else None})
