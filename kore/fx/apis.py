"""Exchange rates under /api/v1/orgs/{slug}/exchange-rates/: list, set, delete, import a file."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import RequestTooLarge
from kore.core.fields import CurrencyField, MoneyField
from kore.core.pagination import parse_limit
from kore.core.serializers import StrictSerializer
from kore.orgs.scoping import OrgAPIView

from . import selectors, services
from .models import ExchangeRate
from .rate_files import rate_file_read

TAGS = ["exchange rates"]


class RateOutput(serializers.ModelSerializer[ExchangeRate]):
    rate = serializers.SerializerMethodField()

    class Meta:
        model = ExchangeRate
        fields = ("id", "base", "quote", "date", "rate", "source", "created_at", "updated_at")

    def get_rate(self, obj: ExchangeRate) -> str:
        return format(obj.rate.normalize(), "f")


class RateBody(StrictSerializer):
    base = CurrencyField(help_text="ISO 4217, e.g. EUR.")
    quote = CurrencyField(help_text="ISO 4217, e.g. USD.")
    date = serializers.DateField()
    rate = MoneyField(help_text='One base in quote, a decimal string ("1.0850"); 1e-6 to 1e6.')


class RateQuery(StrictSerializer):
    base = CurrencyField(required=False)
    quote = CurrencyField(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)


RatePage = inline_serializer(
    "ExchangeRatePage",
    {"results": RateOutput(many=True), "next_cursor": serializers.CharField(allow_null=True)},
)


class ExchangeRateListCreateApi(OrgAPIView):
    """The organisation's rates, newest day first (keyset ``cursor``); or set one. A second rate
    for the same pair and day replaces the first (200; the audit trail keeps the old one)."""

    @extend_schema(
        parameters=[RateQuery], responses={200: RatePage}, tags=TAGS,
        operation_id="orgs_exchange_rates_list",
    )  # fmt: skip
    def get(self, request: Request, org_slug: str) -> Response:
        query = RateQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        cursor = filters.pop("cursor", None)
        limit = parse_limit(filters.pop("limit", None))
        rows, next_cursor = selectors.exchange_rate_page(
            organization=self.org.organization, cursor=cursor, limit=limit, **filters
        )
        return Response({"results": RateOutput(rows, many=True).data, "next_cursor": next_cursor})

    @extend_schema(request=RateBody, responses={201: RateOutput, 200: RateOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str) -> Response:
        data = RateBody(data=request.data)
        data.is_valid(raise_exception=True)
        row, created = services.exchange_rate_set(
            organization=self.org.organization, item=services.RateInput(**data.validated_data)
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(RateOutput(row).data, status=code)


class ExchangeRateDetailApi(OrgAPIView):
    """Delete one rate (audited)."""

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request: Request, org_slug: str, rate_id: int) -> Response:
        services.exchange_rate_delete(organization=self.org.organization, rate_id=rate_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RateFileUpload(StrictSerializer):
    file = serializers.FileField(use_url=False, help_text="At most KORE_FX_FILE_MAX_BYTES.")
    layout = serializers.ChoiceField(
        choices=["ecb", "csv"],
        help_text="ecb: the ECB reference-rate CSV (Date, USD, JPY, …; rates per euro; N/A "
        "skipped). csv: columns date, base, quote, rate.",
    )


class ExchangeRateImportApi(OrgAPIView):
    """Store every rate of a file at once, or none: a bad line is a 422 naming the line."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": RateFileUpload},
        responses={200: inline_serializer("ExchangeRateImport", {
            "stored": serializers.IntegerField(), "created": serializers.IntegerField(),
            "replaced": serializers.IntegerField(),
        })},
        tags=TAGS,
    )  # fmt: skip
    def post(self, request: Request, org_slug: str) -> Response:
        data = RateFileUpload(data=request.data)
        data.is_valid(raise_exception=True)
        upload: Any = data.validated_data["file"]
        limit = settings.KORE_FX_FILE_MAX_BYTES
        if upload.size > limit:
            raise RequestTooLarge(f"A rate file is at most {limit} bytes.")
        layout = data.validated_data["layout"]
        rates = rate_file_read(content=upload.read(), layout=layout)
        source = ExchangeRate.Source.ECB_CSV if layout == "ecb" else ExchangeRate.Source.CSV
        stored = services.exchange_rates_store(
            organization=self.org.organization, items=rates, source=source
        )
        created = len({row.pk for row, new in stored if new})
        replaced = len({row.pk for row, new in stored if not new})
        return Response({"stored": created + replaced, "created": created, "replaced": replaced})
