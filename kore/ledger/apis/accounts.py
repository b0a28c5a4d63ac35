"""Accounts: list, create, read, update, delete."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.orgs.scoping import OrgAPIView

from .. import selectors
from .. import serializers as s
from ..models import Account
from ..services import accounts
from . import IF_MATCH, if_match, with_etag


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
        return with_etag(Response(s.AccountOutput(account).data, status=201), account)


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
        return with_etag(Response(s.AccountOutput(account).data), account)

    @extend_schema(
        request=s.AccountPatch, responses={200: s.AccountOutput}, parameters=[IF_MATCH],
        tags=["accounts"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, account_id: int) -> Response:
        data = s.AccountPatch(data=request.data)
        data.is_valid(raise_exception=True)
        account = accounts.account_update(
            ctx=self.org, account=self._get(account_id), if_match=if_match(request),
            **data.validated_data,
        )  # fmt: skip
        account = _balanced(account)
        return with_etag(Response(s.AccountOutput(account).data), account)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["accounts"])
    def delete(self, request: Request, org_slug: str, account_id: int) -> Response:
        accounts.account_delete(
            ctx=self.org, account=self._get(account_id), if_match=if_match(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
