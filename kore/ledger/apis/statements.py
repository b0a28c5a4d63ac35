"""Statements: list, create, read, update, delete, reconcile, reopen."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from .. import selectors
from .. import serializers as s
from ..models import Statement
from ..services import statements
from . import IF_MATCH, if_match, with_etag


class StatementListCreateApi(OrgAPIView):
    @extend_schema(responses={200: s.StatementOutput(many=True)}, tags=["statements"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.statement_list(organization=self.org.organization).select_related(
            "account"
        )
        return Response({"results": s.StatementOutput(rows, many=True).data})

    @extend_schema(
        request=s.StatementInput, responses={201: s.StatementOutput}, tags=["statements"]
    )
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.StatementInput(data=request.data)
        data.is_valid(raise_exception=True)
        statement = statements.statement_create(ctx=self.org, **data.validated_data)
        return with_etag(Response(s.StatementOutput(statement).data, status=201), statement)


class StatementDetailApi(OrgAPIView):
    def _get(self, statement_id: int) -> Statement:
        found = selectors.statement_get(
            organization=self.org.organization, statement_id=statement_id
        )
        if found is None:
            raise NotFound()
        return found

    @extend_schema(responses={200: s.StatementOutput}, tags=["statements"])
    def get(self, request: Request, org_slug: str, statement_id: int) -> Response:
        statement = self._get(statement_id)
        return with_etag(Response(s.StatementOutput(statement).data), statement)

    @extend_schema(
        request=s.StatementPatch, responses={200: s.StatementOutput}, parameters=[IF_MATCH],
        tags=["statements"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, statement_id: int) -> Response:
        """Correct an open statement's date or closing balance (409 when reconciled)."""
        data = s.StatementPatch(data=request.data)
        data.is_valid(raise_exception=True)
        statement = statements.statement_update(
            ctx=self.org, statement_id=statement_id, if_match=if_match(request),
            **data.validated_data,
        )  # fmt: skip
        return with_etag(Response(s.StatementOutput(statement).data), statement)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["statements"])
    def delete(self, request: Request, org_slug: str, statement_id: int) -> Response:
        """Delete an open statement (409 when reconciled: reopen it first)."""
        statements.statement_delete(
            ctx=self.org, statement_id=statement_id, if_match=if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatementReconcileApi(OrgAPIView):
    """Reconcile: 422 reconciliation_mismatch with the difference when the balance is off."""

    @extend_schema(
        request=None, responses={200: s.StatementOutput}, parameters=[IF_MATCH], tags=["statements"]
    )
    def post(self, request: Request, org_slug: str, statement_id: int) -> Response:
        statement = statements.statement_reconcile(
            ctx=self.org, statement_id=statement_id, if_match=if_match(request)
        )
        return with_etag(Response(s.StatementOutput(statement).data), statement)


class StatementReopenApi(OrgAPIView):
    """Reopen a reconciled statement (admins): its transactions become editable again."""

    write_role = Role.ADMIN

    @extend_schema(
        request=None, responses={200: s.StatementOutput}, parameters=[IF_MATCH], tags=["statements"]
    )
    def post(self, request: Request, org_slug: str, statement_id: int) -> Response:
        statement = statements.statement_reopen(
            ctx=self.org, statement_id=statement_id, if_match=if_match(request)
        )
        return with_etag(Response(s.StatementOutput(statement).data), statement)
