from django.urls import URLPattern, path

from . import apis, apis_auth

auth_urlpatterns: list[URLPattern] = [
    path("token/", apis_auth.TokenObtainApi.as_view(), name="token"),
    path("token/refresh/", apis_auth.TokenRefreshApi.as_view(), name="token-refresh"),
    path("logout/", apis_auth.LogoutApi.as_view(), name="logout"),
    path("register/", apis_auth.RegisterApi.as_view(), name="register"),
    path("password-reset/", apis_auth.PasswordResetApi.as_view(), name="password-reset"),
    path(
        "password-reset/confirm/",
        apis_auth.PasswordResetConfirmApi.as_view(),
        name="password-reset-confirm",
    ),
]

urlpatterns = [
    path("me/", apis_auth.MeApi.as_view(), name="me"),
    path("invitations/accept/", apis.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path("orgs/", apis.OrganizationListCreateApi.as_view(), name="org-list"),
    path("orgs/<slug:org_slug>/", apis.OrganizationDetailApi.as_view(), name="org-detail"),
    path("orgs/<slug:org_slug>/members/", apis.MemberListApi.as_view(), name="member-list"),
    path(
        "orgs/<slug:org_slug>/members/<id:membership_id>/",
        apis.MemberDetailApi.as_view(),
        name="member-detail",
    ),
    path(
        "orgs/<slug:org_slug>/invitations/",
        apis.InvitationListCreateApi.as_view(),
        name="invitation-list",
    ),
    path(
        "orgs/<slug:org_slug>/invitations/<id:invitation_id>/",
        apis.InvitationDetailApi.as_view(),
        name="invitation-detail",
    ),
    path(
        "orgs/<slug:org_slug>/api-tokens/",
        apis.ApiTokenListCreateApi.as_view(),
        name="api-token-list",
    ),
    path(
        "orgs/<slug:org_slug>/api-tokens/<id:token_id>/",
        apis.ApiTokenDetailApi.as_view(),
        name="api-token-detail",
    ),
    path(
        "orgs/<slug:org_slug>/security-events/",
        apis.SecurityEventListApi.as_view(),
        name="security-event-list",
    ),
]
