"""Webhooks: register an endpoint (its secret shown once), see its deliveries, redeliver."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from kore.core.exceptions import KoreError
from kore.orgs.models import Role
from kore.orgs.scoping import OrgContext
from kore.webhooks import selectors, services
from kore.webhooks.events import EVENT_TYPES
from kore.webhooks.models import WebhookEndpoint

from ..access import error_page, org_page, render_page
from ..forms import apply_error

DELIVERIES_SHOWN = 50


class WebhookForm(forms.Form):
    url = forms.CharField(label="URL", max_length=2000, widget=forms.URLInput)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENT_TYPES),
    )
    description = forms.CharField(max_length=200, required=False)


def _list_page(
    request: HttpRequest, org: OrgContext, *, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {
        "nav": "settings",
        "endpoints": selectors.endpoint_list(organization=org.organization),
        "form": extra.pop("form", None) or WebhookForm(),
        **extra,
    }
    return render_page(request, "web/webhooks.html", context, status=status)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
def webhooks(request: HttpRequest, org: OrgContext) -> HttpResponse:
    if request.method != "POST":
        return _list_page(request, org)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.endpoint_create(ctx=org, **form.cleaned_data)
        except KoreError as exc:
            apply_error(form, exc)
        else:
            return _list_page(request, org, new_endpoint=endpoint)
    return _list_page(request, org, form=form, status=422)


def _endpoint(org: OrgContext, endpoint_id: int) -> WebhookEndpoint | None:
    return selectors.endpoint_get(organization=org.organization, endpoint_id=endpoint_id)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
def webhook_detail(request: HttpRequest, org: OrgContext, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(org, endpoint_id)
    if endpoint is None:
        return error_page(request, 404, "There is no such webhook.")
    rows = selectors.delivery_page(endpoint=endpoint, before=None, limit=DELIVERIES_SHOWN)
    context = {
        "nav": "settings",
        "endpoint": endpoint,
        "deliveries": rows[:DELIVERIES_SHOWN],
    }
    return render_page(request, "web/webhook_detail.html", context)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def webhook_toggle(request: HttpRequest, org: OrgContext, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(org, endpoint_id)
    if endpoint is None:
        return error_page(request, 404, "There is no such webhook.")
    services.endpoint_update(endpoint=endpoint, is_active=not endpoint.is_active)
    messages.success(request, "Webhook enabled." if endpoint.is_active else "Webhook disabled.")
    return redirect("web:webhook", org.organization.slug, endpoint.pk)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def webhook_delete(request: HttpRequest, org: OrgContext, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(org, endpoint_id)
    if endpoint is None:
        return error_page(request, 404, "There is no such webhook.")
    services.endpoint_delete(endpoint=endpoint)
    messages.success(request, "Webhook removed.")
    return redirect("web:webhooks", org.organization.slug)


@org_page(read=Role.ADMIN, write=Role.ADMIN)
@require_POST
def webhook_redeliver(
    request: HttpRequest, org: OrgContext, endpoint_id: int, delivery_id: int
) -> HttpResponse:
    endpoint = _endpoint(org, endpoint_id)
    if endpoint is None:
        return error_page(request, 404, "There is no such webhook.")
    try:
        delivery = services.delivery_redeliver(endpoint=endpoint, delivery_id=delivery_id)
    except KoreError:
        return error_page(request, 404, "There is no such delivery.")
    messages.success(request, f"{delivery.event_id} will be sent again.")
    return redirect("web:webhook", org.organization.slug, endpoint.pk)
