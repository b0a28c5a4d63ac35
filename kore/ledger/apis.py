"""Ledger endpoints under /api/v1/orgs/{slug}/: thin views over selectors and services."""

import json
from typing import Any

from django.db import connection
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.fields import IdField, id_query_param
from kore.core.renderers import wants_browsable
from kore.core.serializers import StrictSerializer
from kore.orgs.models import Role
from kore.orgs.scoping import OrgAPIView

from . import selectors
from . import serializers as s
from . import transaction_list as tl
from .models import Account, Category, Statement
from .services import accounts, categories, statements, transactions
from .services.concurrency import etag_for

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is a 412 version_conflict.",
)  # fmt: skip


def _if_match(request: Request) -> str | None:
    return request.headers.get("If-Match")


def _with_etag(response: Response, obj: Any) -> Response:
    response["ETag"] = etag_for(obj)
    return response


# --- Accounts -------------------------------------------------------------------------------------
class AccountListCreateApi(OrgAPIView):
    @extend_schema(responses={200: s.AccountOutput(many=True)}, tags=["accounts"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.accounts_with_balances(
            selectors.account_list(organization=self.org.organization)
        )
        return Response({"results": s.AccountOutput(rows, many=True).data})

    @extend_schema(request=s.AccountInput, responses={201: s.AccountOutput}, tags=["accounts"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.AccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        account = _balanced(accounts.account_create(ctx=self.org, **data.validated_data))
        return _with_etag(Response(s.AccountOutput(account).data, status=201), account)


def _balanced(account: Account) -> Account:
    """The account as stored now, with its balances."""
    return selectors.accounts_with_balances(Account.objects.filter(pk=account.pk)).get()


class AccountDetailApi(OrgAPIView):
    def _get(self, account_id: int) -> Account:
        account = selectors.account_get(organization=self.org.organization, account_id=account_id)
        if account is None:
            raise NotFound()
        return account

    @extend_schema(responses={200: s.AccountOutput}, tags=["accounts"])
    def get(self, request: Request, org_slug: str, account_id: int) -> Response:
        account = _balanced(self._get(account_id))
        return _with_etag(Response(s.AccountOutput(account).data), account)

    @extend_schema(
        request=s.AccountPatch, responses={200: s.AccountOutput}, parameters=[IF_MATCH],
        tags=["accounts"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, account_id: int) -> Response:
        data = s.AccountPatch(data=request.data)
        data.is_valid(raise_exception=True)
        account = accounts.account_update(
            ctx=self.org, account=self._get(account_id), if_match=_if_match(request),
            **data.validated_data,
        )  # fmt: skip
        account = _balanced(account)
        return _with_etag(Response(s.AccountOutput(account).data), account)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["accounts"])
    def delete(self, request: Request, org_slug: str, account_id: int) -> Response:
        accounts.account_delete(
            ctx=self.org, account=self._get(account_id), if_match=_if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Categories -----------------------------------------------------------------------------------
class CategoryListCreateApi(OrgAPIView):
    @extend_schema(responses={200: s.CategoryOutput(many=True)}, tags=["categories"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.category_list(organization=self.org.organization)
        return Response({"results": s.CategoryOutput(rows, many=True).data})

    @extend_schema(request=s.CategoryInput, responses={201: s.CategoryOutput}, tags=["categories"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.CategoryInput(data=request.data)
        data.is_valid(raise_exception=True)
        category = categories.category_create(ctx=self.org, **data.validated_data)
        return _with_etag(Response(s.CategoryOutput(category).data, status=201), category)


class CategoryDetailApi(OrgAPIView):
    def _get(self, category_id: int) -> Category:
        found = selectors.category_get(organization=self.org.organization, category_id=category_id)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(responses={200: s.CategoryOutput}, tags=["categories"])
    def get(self, request: Request, org_slug: str, category_id: int) -> Response:
        category = self._get(category_id)
        return _with_etag(Response(s.CategoryOutput(category).data), category)

    @extend_schema(
        request=s.CategoryPatch, responses={200: s.CategoryOutput}, parameters=[IF_MATCH],
        tags=["categories"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, category_id: int) -> Response:
        data = s.CategoryPatch(data=request.data)
        data.is_valid(raise_exception=True)
        category = categories.category_update(
            ctx=self.org, category=self._get(category_id), if_match=_if_match(request),
            **data.validated_data,
        )  # fmt: skip
        return _with_etag(Response(s.CategoryOutput(category).data), category)

    @extend_schema(
        responses={204: None},
        parameters=[IF_MATCH, OpenApiParameter("reassign_to", int, required=False)],
        tags=["categories"],
    )
    def delete(self, request: Request, org_slug: str, category_id: int) -> Response:
        categories.category_delete(
            ctx=self.org, category=self._get(category_id),
            reassign_to=id_query_param(request.query_params, "reassign_to"),
            if_match=_if_match(request),
        )  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Transactions ---------------------------------------------------------------------------------
def query_schema(name: str, *, paged: bool = True, **extra: Any) -> Any:
    """The list's parameters (``transaction_list.FILTER_PARAMS``) as a serializer, for the
    schema only: ``transaction_list.parse_query`` is what reads them."""
    kinds: dict[str, Any] = {
        "date": lambda p: serializers.DateField(required=False, help_text=p.help),
        "decimal": lambda p: serializers.DecimalField(
            max_digits=20, decimal_places=4, required=False, help_text=p.help
        ),
        "integer": lambda p: IdField(required=False, help_text=p.help),
        "boolean": lambda p: serializers.BooleanField(required=False, help_text=p.help),
        "string": lambda p: serializers.CharField(required=False, help_text=p.help),
    }
    attrs: dict[str, Any] = {k: kinds[p.kind](p) for k, p in tl.FILTER_PARAMS.items()}
    attrs["ordering"] = serializers.ChoiceField(
        choices=list(tl.ORDERINGS), default=tl.DEFAULT_ORDERING, required=False
    )
    if paged:
        attrs["cursor"] = serializers.CharField(required=False)
        attrs["limit"] = serializers.IntegerField(
            required=False, min_value=1, max_value=500, default=50
        )
        attrs["running_balance"] = serializers.BooleanField(
            required=False, help_text=tl.RUNNING_BALANCE_HELP
        )
    return type(name, (serializers.Serializer,), {**attrs, **extra})


TransactionQuery = query_schema("TransactionQuery")
TransactionPage = inline_serializer(
    "TransactionPage",
    {
        "results": s.TransactionOutput(many=True),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)


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
    def get(self, request: Request, org_slug: str) -> Response:
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
            return HttpResponse(body, content_type="application/json")  # type: ignore[return-value]
        rows, next_cursor = tl.page(**page, running_balance=query.running_balance)
        return Response({"results": [tl.row_json(r) for r in rows], "next_cursor": next_cursor})

    @extend_schema(
        request=s.TransactionInput, responses={201: s.TransactionOutput}, tags=["transactions"]
    )
    def post(self, request: Request, org_slug: str) -> Response:
        data = s.TransactionInput(data=request.data)
        data.is_valid(raise_exception=True)
        tx = transactions.transaction_create(ctx=self.org, **data.validated_data)
        return self.render(tx.pk, status=201)


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
            ctx=self.org, tx_id=tx_id, if_match=_if_match(request), **data.validated_data
        )
        return self.render(tx_id)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["transactions"])
    def delete(self, request: Request, org_slug: str, tx_id: int) -> Response:
        transactions.transaction_delete(ctx=self.org, tx_id=tx_id, if_match=_if_match(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TransactionRestoreApi(TransactionRenderMixin, OrgAPIView):
    """Undo a deletion within 30 days."""

    @extend_schema(request=None, responses={200: s.TransactionOutput}, tags=["transactions"])
    def post(self, request: Request, org_slug: str, tx_id: int) -> Response:
        transactions.transaction_restore(ctx=self.org, tx_id=tx_id)
        return self.render(tx_id)


BatchResult = inline_serializer(
    "TransactionBatchResult", {"ids": serializers.ListField(child=serializers.IntegerField())}
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
        created = transactions.transaction_create_many(ctx=self.org, rows=parsed)
        return Response({"ids": [tx.pk for tx in created]}, status=201)


# --- Statements -----------------------------------------------------------------------------------
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
        return _with_etag(Response(s.StatementOutput(statement).data, status=201), statement)


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
        return _with_etag(Response(s.StatementOutput(statement).data), statement)

    @extend_schema(
        request=s.StatementPatch, responses={200: s.StatementOutput}, parameters=[IF_MATCH],
        tags=["statements"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, statement_id: int) -> Response:
        """Correct an open statement's date or closing balance (409 when reconciled)."""
        data = s.StatementPatch(data=request.data)
        data.is_valid(raise_exception=True)
        statement = statements.statement_update(
            ctx=self.org, statement_id=statement_id, if_match=_if_match(request),
            **data.validated_data,
        )  # fmt: skip
        return _with_etag(Response(s.StatementOutput(statement).data), statement)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["statements"])
    def delete(self, request: Request, org_slug: str, statement_id: int) -> Response:
        """Delete an open statement (409 when reconciled: reopen it first)."""
        statements.statement_delete(
            ctx=self.org, statement_id=statement_id, if_match=_if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatementReconcileApi(OrgAPIView):
    """Reconcile: 422 reconciliation_mismatch with the difference when the balance is off."""

    @extend_schema(
        request=None, responses={200: s.StatementOutput}, parameters=[IF_MATCH], tags=["statements"]
    )
    def post(self, request: Request, org_slug: str, statement_id: int) -> Response:
        statement = statements.statement_reconcile(
            ctx=self.org, statement_id=statement_id, if_match=_if_match(request)
        )
        return _with_etag(Response(s.StatementOutput(statement).data), statement)


class StatementReopenApi(OrgAPIView):
    """Reopen a reconciled statement (admins): its transactions become editable again."""

    write_role = Role.ADMIN

    @extend_schema(
        request=None, responses={200: s.StatementOutput}, parameters=[IF_MATCH], tags=["statements"]
    )
    def post(self, request: Request, org_slug: str, statement_id: int) -> Response:
        statement = statements.statement_reopen(
            ctx=self.org, statement_id=statement_id, if_match=_if_match(request)
        )
        return _with_etag(Response(s.StatementOutput(statement).data), statement)
