"""Categories: list, create, read, update, delete."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.fields import id_query_param
from kore.orgs.scoping import OrgAPIView

from .. import selectors
from .. import serializers as s
from ..models import Category
from ..services import categories
from . import IF_MATCH, if_match, with_etag


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
        return with_etag(Response(s.CategoryOutput(category).data, status=201), category)


class CategoryDetailApi(OrgAPIView):
    def _get(self, category_id: int) -> Category:
        found = selectors.category_get(organization=self.org.organization, category_id=category_id)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(responses={200: s.CategoryOutput}, tags=["categories"])
    def get(self, request: Request, org_slug: str, category_id: int) -> Response:
        category = self._get(category_id)
        return with_etag(Response(s.CategoryOutput(category).data), category)

    @extend_schema(
        request=s.CategoryPatch, responses={200: s.CategoryOutput}, parameters=[IF_MATCH],
        tags=["categories"],
    )  # fmt: skip
    def patch(self, request: Request, org_slug: str, category_id: int) -> Response:
        data = s.CategoryPatch(data=request.data)
        data.is_valid(raise_exception=True)
        category = categories.category_update(
            ctx=self.org, category=self._get(category_id), if_match=if_match(request),
            **data.validated_data,
        )  # fmt: skip
        return with_etag(Response(s.CategoryOutput(category).data), category)

    @extend_schema(
        responses={204: None},
        parameters=[IF_MATCH, OpenApiParameter("reassign_to", int, required=False)],
        tags=["categories"],
    )
    def delete(self, request: Request, org_slug: str, category_id: int) -> Response:
        categories.category_delete(
            ctx=self.org, category=self._get(category_id),
            reassign_to=id_query_param(request.query_params, "reassign_to"),
            if_match=if_match(request),
        )  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)
