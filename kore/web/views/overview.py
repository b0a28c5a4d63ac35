"""An organisation's overview: balances and reconciliation by account, this month's spending by
category against last month, recent imports and what still needs a category."""

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from kore.ledger import selectors
from kore.orgs.scoping import OrgContext

from ..access import org_page, render_page
from ..overview import overview as overview_read


@org_page()
@require_GET
def overview(request: HttpRequest, org: OrgContext) -> HttpResponse:
    categories = list(selectors.category_list(organization=org.organization))
    data = overview_read(
        organization=org.organization, categories=categories, today=timezone.localdate()
    )
    names = {a.pk: a.name for a in data.accounts}
    context = {
        "nav": "overview",
        "data": data,
        "accounts": [a for a in data.accounts if not a.archived],
        "imports": [(job, names.get(job.account_id, "")) for job in data.imports],
        "currency": org.organization.default_currency,
    }
    return render_page(request, "web/overview.html", context)
