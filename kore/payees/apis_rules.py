"""Rule endpoints under /api/v1/orgs/{slug}/rules/ and /rule-runs/: thin views."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kore.core.exceptions import NotFound
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.ledger import transaction_list as tl
from kore.ledger.apis import IF_MATCH
from kore.ledger.apis.bulk import FilterField
from kore.ledger.services.concurrency import etag_for
from kore.orgs.scoping import OrgAPIView

from . import runs, selectors, services_rules
from .models import Rule, RuleRun

RULES_HELP = (
    "Conditions are {field, op, value} (all must hold); actions an object with some of: "
    "category (id), payee (id), tags (names), notes (text), split ([{category, percent}] "
    "adding up to 100), transfer (an account id of this organisation: the row becomes one leg "
    "of a transfer to it; not with category or split). See kore.payees.rules."
)


class RuleOutput(serializers.ModelSerializer[Rule]):
    class Meta:
        model = Rule
        fields = ("id", "name", "position", "enabled", "conditions", "actions", "version")


class RuleInput(StrictSerializer):
    name = StrictCharField(max_length=120)
    enabled = serializers.BooleanField(required=False)
    position = serializers.IntegerField(min_value=0, required=False, help_text="0 is first.")
    conditions = serializers.ListField(child=serializers.DictField(), help_text=RULES_HELP)
    actions = serializers.DictField(help_text=RULES_HELP)


class RulePatch(RuleInput):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, partial=True, **kwargs)


class RuleTarget(StrictSerializer):
    filter = FilterField(required=False, help_text="The transaction list's filters.")


class RunOutput(serializers.ModelSerializer[RuleRun]):
    class Meta:
        model = RuleRun
        fields = (
            "id", "rule", "rule_version", "status", "batch", "rows_total", "rows_done",
            "changed_count", "error_code", "error_message", "created_at", "finished_at",
        )  # fmt: skip


Preview = inline_serializer(
    "RulePreview",
    {
        "matched": serializers.IntegerField(),
        "would_change": serializers.IntegerField(),
        "skipped_closed_period": serializers.IntegerField(),
        "skipped_transfer_category": serializers.IntegerField(),
        "skipped_transfer": serializers.IntegerField(
            help_text="Rows the transfer action leaves as they are (see skipped_transfer_rows)."
        ),
        "regex_timeouts": serializers.IntegerField(),
        "rows": serializers.ListField(
            child=serializers.DictField(),
            help_text="The first 100 changes: {id, before, after}; a transfer's after names "
            "the account, the amount arriving and the counter row linked (null: created).",
        ),
        "skipped_transfer_rows": serializers.ListField(
            child=serializers.DictField(), help_text="{id, code, message} of the first 100."
        ),
    },
)


def _filters(request: Request) -> dict[str, Any] | None:
    data = RuleTarget(data=request.data or {})
    data.is_valid(raise_exception=True)
    raw: dict[str, Any] | None = data.validated_data.get("filter")
    if raw is not None:
        tl.parse_filters(raw)  # refuse bad filters now, not in the worker
    return raw


def _rule(view: OrgAPIView, rule_id: int) -> Rule:
    rule = selectors.rule_get(organization=view.org.organization, rule_id=rule_id)
    if rule is None:
        raise NotFound()
    return rule


def _answer(rule: Rule, status_code: int = 200) -> Response:
    response = Response(RuleOutput(rule).data, status=status_code)
    response["ETag"] = etag_for(rule)
    return response


class RuleListCreateApi(OrgAPIView):
    @extend_schema(responses={200: RuleOutput(many=True)}, tags=["rules"])
    def get(self, request: Request, org_slug: str) -> Response:
        rows = selectors.rule_list(organization=self.org.organization)
        return Response({"results": RuleOutput(rows, many=True).data})

    @extend_schema(request=RuleInput, responses={201: RuleOutput}, tags=["rules"])
    def post(self, request: Request, org_slug: str) -> Response:
        data = RuleInput(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services_rules.rule_create(ctx=self.org, **data.validated_data)
        return _answer(rule, 201)


class RuleOrder(StrictSerializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=10_000,
        help_text="Every rule's id, first first.",
    )


def _order_answer(view: OrgAPIView) -> Response:
    ids = list(selectors.rule_list(organization=view.org.organization).values_list("id", flat=True))
    response = Response({"order": ids})
    response["ETag"] = services_rules.rule_order_etag(ids)
    return response


class RuleOrderApi(OrgAPIView):
    """The rules' order as a whole: read it with its ETag, set it with that ETag as If-Match
    (a 412 when someone reordered, added or removed a rule meanwhile)."""

    @extend_schema(responses={200: RuleOrder}, tags=["rules"])
    def get(self, request: Request, org_slug: str) -> Response:
        return _order_answer(self)

    @extend_schema(
        request=RuleOrder, responses={200: RuleOrder}, parameters=[IF_MATCH], tags=["rules"]
    )
    def put(self, request: Request, org_slug: str) -> Response:
        data = RuleOrder(data=request.data)
        data.is_valid(raise_exception=True)
        services_rules.rule_order_set(
            ctx=self.org, order=data.validated_data["order"],
            if_match=request.headers.get("If-Match"),
        )  # fmt: skip
        return _order_answer(self)


class RuleDetailApi(OrgAPIView):
    @extend_schema(responses={200: RuleOutput}, tags=["rules"])
    def get(self, request: Request, org_slug: str, rule_id: int) -> Response:
        return _answer(_rule(self, rule_id))

    @extend_schema(
        request=RulePatch, responses={200: RuleOutput}, parameters=[IF_MATCH], tags=["rules"]
    )
    def patch(self, request: Request, org_slug: str, rule_id: int) -> Response:
        data = RulePatch(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services_rules.rule_update(
            ctx=self.org, rule_id=rule_id, if_match=request.headers.get("If-Match"),
            **data.validated_data,
        )  # fmt: skip
        return _answer(rule)

    @extend_schema(responses={204: None}, parameters=[IF_MATCH], tags=["rules"])
    def delete(self, request: Request, org_slug: str, rule_id: int) -> Response:
        services_rules.rule_delete(
            ctx=self.org, rule_id=rule_id, if_match=request.headers.get("If-Match")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RulePreviewApi(OrgAPIView):
    """What applying the rule would change (counts and the first 100 rows); writes nothing."""

    @extend_schema(request=RuleTarget, responses={200: Preview}, tags=["rules"])
    def post(self, request: Request, org_slug: str, rule_id: int) -> Response:
        raw = _filters(request)
        filters = tl.parse_filters(raw) if raw is not None else None
        return Response(runs.rule_preview(ctx=self.org, rule=_rule(self, rule_id), filters=filters))


class RuleApplyApi(OrgAPIView):
    """Apply the rule to the rows the filter selects (all by default) as a job: poll
    ``/rule-runs/{id}/``; ``/rule-runs/{id}/undo/`` puts the batch back."""

    @extend_schema(request=RuleTarget, responses={202: RunOutput}, tags=["rules"])
    def post(self, request: Request, org_slug: str, rule_id: int) -> Response:
        raw = _filters(request)
        run = runs.rule_run_create(ctx=self.org, rule=_rule(self, rule_id), filters=raw)
        return Response(RunOutput(run).data, status=202)


class RuleRunDetailApi(OrgAPIView):
    @extend_schema(responses={200: RunOutput}, tags=["rules"])
    def get(self, request: Request, org_slug: str, run_id: int) -> Response:
        run = selectors.rule_run_get(organization=self.org.organization, run_id=run_id)
        if run is None:
            raise NotFound()
        return Response(RunOutput(run).data)


class RuleRunUndoApi(OrgAPIView):
    @extend_schema(request=None, responses={200: RunOutput}, tags=["rules"])
    def post(self, request: Request, org_slug: str, run_id: int) -> Response:
        run = runs.rule_run_undo(ctx=self.org, run_id=run_id)
        return Response(RunOutput(run).data)
