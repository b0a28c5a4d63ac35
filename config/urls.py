from django.apps import apps
from django.urls import URLPattern, URLResolver, include, path

from kore.orgs.urls import auth_urlpatterns

api_v1: list[URLPattern | URLResolver] = [
    path("", include("kore.ops.urls")),
    path("auth/", include((auth_urlpatterns, "auth"), namespace="auth")),
    path("", include(("kore.orgs.urls", "orgs"), namespace="orgs")),
    # Before the ledger: transactions/export/ is the exports app's.
    path("", include(("kore.exports.urls", "exports"), namespace="exports")),
    path("", include(("kore.ledger.urls", "ledger"), namespace="ledger")),
    path("", include(("kore.reports.urls", "reports"), namespace="reports")),
    path("", include(("kore.fx.urls", "fx"), namespace="fx")),
    path("", include(("kore.imports.urls", "imports"), namespace="imports")),
    path("", include(("kore.payees.urls", "payees"), namespace="payees")),
    path("", include(("kore.planning.urls", "planning"), namespace="planning")),
    path("", include(("kore.webhooks.urls", "webhooks"), namespace="webhooks")),
    path("", include(("kore.suggestions.urls", "suggestions"), namespace="suggestions")),
]
urlpatterns: list[URLPattern | URLResolver] = []

# A Celery worker (config.settings.worker) installs neither the schema generator nor the admin:
# it reverses the same URLs as the web (links in e-mails) without loading either.
if apps.is_installed("drf_spectacular"):
    from drf_spectacular.views import (
        SpectacularAPIView,
        SpectacularRedocView,
        SpectacularSwaggerView,
    )

    api_v1 += [
        path("schema/", SpectacularAPIView.as_view(), name="schema"),
        path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
        path(
            "docs/redoc/",
            # Kore's template: the stock one loads Google Fonts from a CDN.
            SpectacularRedocView.as_view(url_name="schema", template_name="kore_core/redoc.html"),
            name="redoc",
        ),
    ]

if apps.is_installed("django.contrib.admin"):
    from django.contrib import admin

    from kore.web.signin import admin_sign_in

    # The admin signs people in through Kore's own sign-in, two-factor step included.
    admin.site.login = admin_sign_in  # type: ignore[method-assign]
    urlpatterns.append(path("admin/", admin.site.urls))

# The API first: nearly every request is one, and Django tries the patterns in order.
urlpatterns = [
    path("api/v1/", include(api_v1)),
    *urlpatterns,
    path("ops/", include("kore.ops.operator_urls")),
    # "Sign in with Google": the provider round trip only (allauth's other pages are not used).
    path("accounts/", include("allauth.socialaccount.providers.openid_connect.urls")),
    # The web app owns the rest of the site (its links in emails: /password-reset/confirm/, …).
    path("", include("kore.web.urls")),
]

handler400 = "kore.core.exceptions.bad_request"
handler403 = "kore.core.exceptions.permission_denied"
handler404 = "kore.core.exceptions.page_not_found"
handler500 = "kore.core.exceptions.server_error"
