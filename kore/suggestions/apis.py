"""Suggestions under /api/v1/orgs/{slug}/: for a transaction, for many, for an import's
preview rows; accepting one; the organisation's auto-apply setting."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.fields import IdField
from kore.imports.selectors import import_job_get
from kore.orgs.models import Organization, Role
from kore.orgs.scoping import OrgAPIView

from . import selectors, services
from .engine import Suggestion

TAGS = ["suggestions"]
MAX_BATCH = 100

_Suggestion = inline_serializer(
    "CategorySuggestion",
    {
        "category": inline_serializer(
            "SuggestedCategory",
            {
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
            },
        ),
        "confidence": serializers.FloatField(help_text="0 to 1, three decimals."),
    },
)
_Model = inline_serializer(
    "SuggestionModelInfo",
    {
        "method": serializers.CharField(),
        "version": serializers.IntegerField(),
        "rows": serializers.IntegerField(help_text="Categorised rows it learned from."),
        "trained_at": serializers.DateTimeField(),
    },
    allow_null=True,
)
_RowSuggestions = inline_serializer(
    "RowSuggestions",
    {
        "transaction": serializers.IntegerField(),
        "suggestions": _Suggestion.__class__(many=True),
    },
)


def model_json(info: selectors.ModelInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "method": info.method,
        "version": info.version,
        "rows": info.rows,
        "trained_at": info.trained_at.isoformat(),
    }


def suggestions_json(
    organization: Organization, found: Sequence[Sequence[Suggestion]]
) -> list[list[dict[str, Any]]]:
    """Each row's suggestions with their category names; categories deleted since the model
    was trained are left out."""
    names = selectors.categories_named(
        organization=organization, ids={s.category_id for row in found for s in row}
    )
    return [
        [
            {
                "category": {"id": s.category_id, "name": names[s.category_id].name},
                "confidence": round(s.confidence, 3),
            }
            for s in row
            if s.category_id in names
        ]
        for row in found
    ]


class TransactionSuggestionsApi(OrgAPIView):
    """The top three categories for an uncategorised transaction, learned from this
    organisation's categorised rows; empty for a row that has a category, splits or is a
    transfer leg, and before the organisation's first training."""

    @extend_schema(
        tags=TAGS,
        responses={
            200: inline_serializer(
                "TransactionSuggestions",
                {
                    "transaction": serializers.IntegerField(),
                    "suggestions": _Suggestion.__class__(many=True),
                    "model": _Model,
                },
            )
        },
    )
    def get(self, request: Request, org_slug: str, tx_id: int) -> Response:
        organization = self.org.organization
        tx = selectors.transaction_for_suggestion(organization=organization, tx_id=tx_id)
        if tx is None:
            raise NotFound()
        text = selectors.text_of(tx) if selectors.needs_category(tx) else None
        found, info = selectors.suggestions_for(organization=organization, texts=[text])
        return Response(
            {
                "transaction": tx.pk,
                "suggestions": suggestions_json(organization, found)[0],
                "model": model_json(info),
            }
        )


class AcceptInput(serializers.Serializer[Any]):
    category = IdField()


class TransactionSuggestionAcceptApi(OrgAPIView):
    """Set one of the row's current suggestions as its category (recorded as accepted)."""

    @extend_schema(tags=TAGS, request=AcceptInput, responses={200: _RowSuggestions})
    def post(self, request: Request, org_slug: str, tx_id: int) -> Response:
        data = AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        organization = self.org.organization
        tx = selectors.transaction_for_suggestion(organization=organization, tx_id=tx_id)
        if tx is None:
            raise NotFound()
        text = selectors.text_of(tx) if selectors.needs_category(tx) else None
        found, _ = selectors.suggestions_for(organization=organization, texts=[text])
        services.suggestion_accept(
            ctx=self.org, tx_id=tx.pk, category_id=data.validated_data["category"], shown=found[0]
        )
        return Response({"transaction": tx.pk, "category": data.validated_data["category"]})


class BatchQuery(serializers.Serializer[Any]):
    transaction = serializers.ListField(
        child=IdField(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text=f"Repeat for each row, at most {MAX_BATCH} (a page of the list).",
    )


class SuggestionBatchApi(OrgAPIView):
    """Suggestions for a page of rows in one request: what a list shows beside its rows
    (another organisation's or a missing id is left out)."""

    @extend_schema(
        tags=TAGS,
        parameters=[BatchQuery],
        responses={
            200: inline_serializer(
                "SuggestionBatch",
                {"results": _RowSuggestions.__class__(many=True), "model": _Model},
            )
        },
    )
    def get(self, request: Request, org_slug: str) -> Response:
        query = BatchQuery(data={"transaction": request.query_params.getlist("transaction")})
        query.is_valid(raise_exception=True)
        organization = self.org.organization
        rows = selectors.transactions_for_suggestion(
            organization=organization, tx_ids=query.validated_data["transaction"]
        )
        texts = [selectors.text_of(tx) if selectors.needs_category(tx) else None for tx in rows]
        found, info = selectors.suggestions_for(organization=organization, texts=texts)
        named = suggestions_json(organization, found)
        return Response(
            {
                "results": [
                    {"transaction": tx.pk, "suggestions": named[i]} for i, tx in enumerate(rows)
                ],
                "model": model_json(info),
            }
        )


class ImportSuggestionsApi(OrgAPIView):
    """Suggestions for the rows an import's preview shows (its first rows, as booked)."""

    @extend_schema(
        tags=TAGS,
        responses={
            200: inline_serializer(
                "ImportSuggestions",
                {
                    "results": inline_serializer(
                        "ImportRowSuggestions",
                        {
                            "line": serializers.IntegerField(),
                            "suggestions": _Suggestion.__class__(many=True),
                        },
                        many=True,
                    ),
                    "model": _Model,
                },
            )
        },
    )
    def get(self, request: Request, org_slug: str, job_id: int) -> Response:
        organization = self.org.organization
        job = import_job_get(organization=organization, job_id=job_id)
        if job is None:
            raise NotFound()
        lines, found, info = selectors.import_preview_suggestions(job=job)
        named = suggestions_json(organization, found)
        return Response(
            {
                "results": [
                    {"line": line, "suggestions": named[i]} for i, line in enumerate(lines)
                ],
                "model": model_json(info),
            }
        )


class SettingsInput(serializers.Serializer[Any]):
    auto_apply_confidence = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        allow_null=True,
        help_text="0.50 to 1.00: imports apply the top suggestion from this confidence; "
        "null: never (the default).",
    )


class SuggestionSettingsApi(OrgAPIView):
    """The organisation's auto-apply confidence (admins change it) and its current model."""

    write_role = Role.ADMIN

    def _render(self) -> Response:
        organization = self.org.organization
        row = selectors.suggestion_settings_get(organization=organization)
        found = selectors.suggestion_model_get(organization=organization)
        value = row.auto_apply_confidence
        return Response(
            {
                "auto_apply_confidence": None if value is None else str(value),
                "model": model_json(found[1] if found else None),
            }
        )

    @extend_schema(
        tags=TAGS,
        responses={
            200: inline_serializer(
                "SuggestionSettings",
                {"auto_apply_confidence": serializers.CharField(allow_null=True), "model": _Model},
            )
        },
    )
    def get(self, request: Request, org_slug: str) -> Response:
        return self._render()

    @extend_schema(tags=TAGS, request=SettingsInput, responses={200: None})
    def patch(self, request: Request, org_slug: str) -> Response:
        data = SettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.suggestion_settings_update(
            ctx=self.org, auto_apply_confidence=data.validated_data["auto_apply_confidence"]
        )
        return self._render()
