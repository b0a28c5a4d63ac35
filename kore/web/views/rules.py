"""Rules and payees pages: rules in order (up/down), written and edited with every condition
and action the API takes (kore.web.rule_forms), a live "would change N" count while a rule is
written, runs and their undo; payees renamed, given a default category, merged."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.core.fields import id_parse
from kore.ledger import selectors as ledger_selectors
from kore.ledger.services.concurrency import etag_for
from kore.orgs.scoping import OrgContext
from kore.payees import runs, selectors, services, services_rules
from kore.payees.models import Rule, RuleRun

from .. import forms
from ..access import error_page, org_page, render_page
from ..rule_forms import RuleChoices, RuleEditor
from ..rule_summaries import RuleNames, rule_summary

RUNS_SHOWN = 10


def _categories(org: OrgContext) -> list[Any]:
    return list(ledger_selectors.category_list(organization=org.organization))


def _choices(org: OrgContext) -> RuleChoices:
    return RuleChoices(
        categories=_categories(org),
        accounts=list(ledger_selectors.account_list(organization=org.organization)),
        payees=list(selectors.payee_list(organization=org.organization)),
    )


@org_page()
def rules(request: HttpRequest, org: OrgContext) -> HttpResponse:
    choices = _choices(org)
    editor = RuleEditor(request.POST or None, choices=choices)
    status = 200
    if request.method == "POST":
        status = 400
        if editor.is_valid():
            status = _saved(editor, lambda: services_rules.rule_create(ctx=org, **editor.rule()))
            if status == 200:
                messages.success(request, f"Rule {editor.form.cleaned_data['name']!r} added.")
                return redirect("web:rules", org.organization.slug)
    rows = list(selectors.rule_list(organization=org.organization))
    names = RuleNames.of(choices)
    context = {
        "nav": "rules",
        "editor": editor,
        "rules": [(rule, rule_summary(rule, names)) for rule in rows],
        "order_etag": services_rules.rule_order_etag([rule.pk for rule in rows]),
        "runs": RuleRun.objects.filter(organization=org.organization)
        .select_related("rule")
        .order_by("-created_at")[:RUNS_SHOWN],
    }
    return render_page(request, "web/rules.html", context, status=status)


def _saved(editor: RuleEditor, save: Callable[[], object]) -> int:
    """Run a valid editor's save through the rules service: 200 when saved, otherwise the
    refusal's status with its reason on the rows and inputs it names."""
    try:
        save()
    except KoreError as exc:
        editor.apply_error(exc)
        return exc.status_code
    return 200


@org_page()
def rule_change(request: HttpRequest, org: OrgContext, rule_id: int) -> HttpResponse:
    """One rule's editor: every condition and action it has, saved back as a whole (the
    version the page was read at must still be the rule's)."""
    rule = selectors.rule_get(organization=org.organization, rule_id=rule_id)
    if rule is None:
        return error_page(request, 404, "There is no such rule.")
    editor = RuleEditor(request.POST or None, choices=_choices(org), rule=rule)
    etag = request.POST.get("etag") or etag_for(rule)
    status = 200
    if request.method == "POST":
        status = 400
        if editor.is_valid():
            status = _saved(editor, lambda: services_rules.rule_update(
                ctx=org, rule_id=rule.pk, if_match=etag, **editor.rule()
            ))  # fmt: skip
            if status == 200:
                messages.success(request, f"Rule {editor.form.cleaned_data['name']!r} saved.")
                return redirect("web:rules", org.organization.slug)
    context = {"nav": "rules", "editor": editor, "rule": rule, "etag": etag}
    return render_page(request, "web/rule_edit.html", context, status=status)


@org_page()
@require_POST
def rule_count(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """The fragment under the rule editor: how many rows the rule as written would change (a
    name is not needed for that)."""
    editor = RuleEditor(request.POST, choices=_choices(org))
    context: dict[str, Any] = {}
    if not editor.is_valid() and not editor.only_unnamed():
        context["error"] = "Fill in the conditions to see what they would change."
    else:
        rule = Rule(organization=org.organization, **editor.rule())
        try:
            services_rules.rule_check(org, rule.conditions, rule.actions)
            context["preview"] = runs.rule_preview(ctx=org, rule=rule)
        except KoreError as exc:
            context["error"] = exc.message
    return render_page(request, "web/_rule_count.html", context)


@org_page()
@require_POST
def rule_edit(request: HttpRequest, org: OrgContext, rule_id: int) -> HttpResponse:
    """Move up or down, turn on or off, delete, or apply to every transaction."""
    rule = selectors.rule_get(organization=org.organization, rule_id=rule_id)
    if rule is None:
        return error_page(request, 404, "There is no such rule.")
    action = request.POST.get("action", "")
    etag = request.POST.get("etag") or None
    try:
        if action in ("up", "down"):
            order = [r.pk for r in selectors.rule_list(organization=org.organization)]
            place = max(0, order.index(rule.pk) + (-1 if action == "up" else 1))
            services_rules.rule_update(ctx=org, rule_id=rule.pk, if_match=etag, position=place)
        elif action in ("enable", "disable"):
            services_rules.rule_update(
                ctx=org, rule_id=rule.pk, if_match=etag, enabled=action == "enable"
            )
        elif action == "delete":
            services_rules.rule_delete(ctx=org, rule_id=rule.pk, if_match=etag)
            messages.success(request, f"Rule {rule.name!r} deleted.")
        elif action == "apply":
            runs.rule_run_create(ctx=org, rule=rule)
            messages.success(request, f"Applying {rule.name!r}: its run is listed below.")
        else:
            return error_page(request, 400, "Unknown action.")
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:rules", org.organization.slug)


@org_page()
@require_POST
def rule_order(request: HttpRequest, org: OrgContext) -> HttpResponse:
    """The order a drag on the rules page left: every rule's id, with the order's ETag as the
    page read it, so a reorder made elsewhere meanwhile is refused rather than undone."""
    order = [id_parse(part) for part in request.POST.get("order", "").split(",")]
    if not order or None in order:
        return error_page(request, 400, "The new order names no rules.")
    try:
        services_rules.rule_order_set(
            ctx=org, order=[i for i in order if i is not None],
            if_match=request.POST.get("etag") or None,
        )  # fmt: skip
        messages.success(request, "New order saved.")
    except KoreError as exc:
        messages.error(request, _order_refusal(exc))
    return redirect("web:rules", org.organization.slug)


def _order_refusal(exc: KoreError) -> str:
    if exc.status_code == 412:
        return (
            "The rules were reordered, added or removed elsewhere since this page was loaded, "
            "so your order was not saved. This is their order now; drag again if needed."
        )
    return f"The new order was not saved: {exc.message}"


@org_page()
@require_POST
def rule_run_undo(request: HttpRequest, org: OrgContext, run_id: int) -> HttpResponse:
    try:
        runs.rule_run_undo(ctx=org, run_id=run_id)
        messages.success(request, "The run's changes were put back.")
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:rules", org.organization.slug)


@org_page()
def payees(request: HttpRequest, org: OrgContext) -> HttpResponse:
    rows = list(selectors.payee_list(organization=org.organization, q=request.GET.get("q", "")))
    context = {
        "nav": "payees",
        "payees": rows,
        "q": request.GET.get("q", ""),
        "categories": forms.category_choices(_categories(org), "(none)"),
        "targets": [(p.pk, p.name) for p in rows],
    }
    return render_page(request, "web/payees.html", context)


@org_page()
@require_POST
def payee_edit(request: HttpRequest, org: OrgContext, payee_id: int) -> HttpResponse:
    """Rename and set the default category, or merge into another payee."""
    try:
        if request.POST.get("into"):
            into = id_parse(request.POST["into"])
            if into is None:
                return error_page(request, 400, "Choose the payee to merge into.")
            kept = services.payee_merge(ctx=org, payee_id=payee_id, into=into)
            messages.success(request, f"Merged into {kept.name!r}.")
        else:
            form = forms.PayeeForm(request.POST, categories=_categories(org))
            if not form.is_valid():
                messages.error(request, "Give the payee a name.")
                return redirect("web:payees", org.organization.slug)
            services.payee_update(
                ctx=org, payee_id=payee_id, if_match=request.POST.get("etag") or None,
                **form.cleaned_data,
            )  # fmt: skip
            messages.success(request, "Payee saved.")
    except KoreError as exc:
        messages.error(request, exc.message)
    return redirect("web:payees", org.organization.slug)
