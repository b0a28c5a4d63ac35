"""Organisations, members, invitations, API tokens and the security log."""

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kore.core.client_ip import client_ip
from kore.core.exceptions import HumanOnly, NotFound
from kore.core.idempotency import IdempotentPostMixin
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.core.throttling import LoginIPThrottle

from . import selectors, services
from .models import ApiToken, Invitation, Membership, Organization, Role, User, validate_time_zone
from .scoping import OrgAPIView, org_context_resolve

TAGS = ["organisations"]


class OrganizationOutput(serializers.ModelSerializer[Organization]):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = (
            "id", "name", "slug", "time_zone", "default_currency", "reporting_currency",
            "max_rate_age_days", "lock_date", "created_at", "role",
        )  # fmt: skip
        read_only_fields = ("lock_date",)

    def get_role(self, obj: Organization) -> str | None:
        return getattr(obj, "my_role", None) or self.context.get("role")


class OrganizationCurrencyField(StrictCharField):
    """An ISO 4217 code such as ``EUR``; lower case is accepted and stored upper case.

    A string that is not a three-letter code breaks a rule (422 ``invalid_currency``); a value
    that is not a string has the wrong shape (400 ``invalid_type``).
    """

    default_error_messages = {
        "invalid_currency": "Enter a three-letter ISO 4217 currency code, e.g. EUR."
    }

    def to_internal_value(self, data: object) -> str:
        value = super().to_internal_value(data).strip().upper()
        if not (len(value) == 3 and value.isascii() and value.isalpha()):
            self.fail("invalid_currency")
        return value


class OrganizationInput(StrictSerializer):
    name = StrictCharField(max_length=120)
    slug = serializers.SlugField(max_length=60, required=False)
    time_zone = StrictCharField(max_length=64, required=False, validators=[validate_time_zone])
    default_currency = OrganizationCurrencyField(required=False)


class OrganizationListCreateApi(IdempotentPostMixin, APIView):
    """Organisations I belong to; create one (I become its owner).

    An API token reaches only its own organisation: it lists that one and cannot create others
    (403 ``human_only``).
    """

    @extend_schema(responses={200: OrganizationOutput(many=True)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            try:
                org = org_context_resolve(request=request, slug=request.auth.organization.slug)
            except NotFound:
                return Response({"results": []})
            body = OrganizationOutput(org.organization, context={"role": org.role}).data
            return Response({"results": [body]})
        orgs = selectors.organization_list(user=cast(User, request.user))
        return Response({"results": OrganizationOutput(orgs, many=True).data})

    @extend_schema(request=OrganizationInput, responses={201: OrganizationOutput}, tags=TAGS)
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            raise HumanOnly("An API token cannot create organisations.")
        data = OrganizationInput(data=request.data)
        data.is_valid(raise_exception=True)
        creator = cast(User, request.user)  # authenticated, and a person: not a token
        org = services.organization_create(creator=creator, **data.validated_data)
        body = OrganizationOutput(org, context={"role": Role.OWNER}).data
        return Response(body, status=status.HTTP_201_CREATED)


class OrganizationDetailApi(OrgAPIView):
    """One organisation; admins and owners change its name, time zone and currency.

    An admin API token may change these too: none of them grants anyone power.
    """

    write_role = Role.ADMIN

    class Input(StrictSerializer):
        name = StrictCharField(max_length=120, required=False)
        time_zone = StrictCharField(max_length=64, required=False, validators=[validate_time_zone])
        default_currency = OrganizationCurrencyField(required=False)
        reporting_currency = StrictCharField(
            max_length=3,
            required=False,
            allow_blank=True,
            help_text="The currency reports add up in; empty: default_currency.",
        )
        max_rate_age_days = serializers.IntegerField(
            min_value=0,
            max_value=3660,
            required=False,
            help_text="How many days old an exchange rate may be and still convert an amount.",
        )

    @extend_schema(responses={200: OrganizationOutput}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        return Response(
            OrganizationOutput(self.org.organization, context={"role": self.org.role}).data
        )

    @extend_schema(request=Input, responses={200: OrganizationOutput}, tags=TAGS)
    def patch(self, request: Request, org_slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        org = services.organization_update(
            organization=self.org.organization, **data.validated_data
        )
        return Response(OrganizationOutput(org, context={"role": self.org.role}).data)


class MembershipOutput(serializers.ModelSerializer[Membership]):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")

    class Meta:
        model = Membership
        fields = ("id", "email", "full_name", "role", "created_at")


class MemberListApi(OrgAPIView):
    @extend_schema(responses={200: MembershipOutput(many=True)}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        members = selectors.membership_list(organization=self.org.organization)
        return Response({"results": MembershipOutput(members, many=True).data})


class MemberDetailApi(OrgAPIView):
    """Change a member's role or remove them (owners/admins; anyone may leave).

    People only: an API token changes or removes no one, its creator included.
    """

    write_role = Role.VIEWER  # the service decides: leaving is open to all, managing is not
    human_only = frozenset({"PATCH", "DELETE"})

    class Input(StrictSerializer):
        role = serializers.ChoiceField(choices=Role.choices)

    def _membership(self, membership_id: int) -> Membership:
        found = selectors.membership_get_in_org(
            organization=self.org.organization, membership_id=membership_id
        )
        if found is None:
            raise NotFound()
        return found

    @extend_schema(request=Input, responses={200: MembershipOutput}, tags=TAGS)
    def patch(self, request: Request, org_slug: str, membership_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            actor=self.org.user,
            actor_role=self.org.role,
            membership=self._membership(membership_id),
            role=data.validated_data["role"],
            ip=client_ip(request),
        )
        return Response(MembershipOutput(membership).data)

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request: Request, org_slug: str, membership_id: int) -> Response:
        services.membership_remove(
            actor=self.org.user,
            actor_role=self.org.role,
            membership=self._membership(membership_id),
            ip=client_ip(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationOutput(serializers.ModelSerializer[Invitation]):
    class Meta:
        model = Invitation
        fields: tuple[str, ...] = ("id", "email", "role", "created_at", "expires_at")


class InvitationCreatedOutput(InvitationOutput):
    token = serializers.CharField()
    accept_url = serializers.CharField()

    class Meta(InvitationOutput.Meta):
        fields = (*InvitationOutput.Meta.fields, "token", "accept_url")


class InvitationListCreateApi(OrgAPIView):
    """Pending invitations; invite someone (owners/admins). The token is shown once.

    Inviting is a person's act: an API token may list invitations, never create one (accepting
    it would make a person who outlives the token's revocation), so it never sees a raw token.
    """

    read_role = Role.ADMIN
    write_role = Role.ADMIN
    human_only = frozenset({"POST"})

    class Input(StrictSerializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    @extend_schema(responses={200: InvitationOutput(many=True)}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        invitations = selectors.invitation_list(organization=self.org.organization)
        return Response({"results": InvitationOutput(invitations, many=True).data})

    @extend_schema(request=Input, responses={201: InvitationCreatedOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, raw = services.invitation_create(
            organization=self.org.organization,
            invited_by=self.org.user,
            inviter_role=self.org.role,
            ip=client_ip(request),
            **data.validated_data,
        )
        invitation.token = raw  # type: ignore[attr-defined]
        invitation.accept_url = services.invitation_accept_url(raw)  # type: ignore[attr-defined]
        return Response(InvitationCreatedOutput(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailApi(OrgAPIView):
    """Revoke a pending invitation (owners/admins, as people)."""

    read_role = Role.ADMIN
    write_role = Role.ADMIN
    human_only = frozenset({"DELETE"})

    @extend_schema(responses={204: None}, tags=TAGS)
    def delete(self, request: Request, org_slug: str, invitation_id: int) -> Response:
        invitation = selectors.invitation_get_in_org(
            organization=self.org.organization, invitation_id=invitation_id
        )
        if invitation is None:
            raise NotFound()
        services.invitation_revoke(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptApi(APIView):
    """Accept an invitation: signed in, or creating the account (even with signup closed)."""

    permission_classes = (AllowAny,)
    throttle_classes = (LoginIPThrottle,)

    class Input(StrictSerializer):
        token = StrictCharField(max_length=200)
        password = StrictCharField(required=False, trim_whitespace=False)
        full_name = StrictCharField(required=False, allow_blank=True, max_length=150)

    @extend_schema(request=Input, responses={201: MembershipOutput}, tags=TAGS)
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            raise HumanOnly("Accept invitations as a person, not with an API token.")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = request.user if request.user and request.user.is_authenticated else None
        membership = services.invitation_accept(
            raw_token=data.validated_data["token"],
            user=user,
            password=data.validated_data.get("password", ""),
            full_name=data.validated_data.get("full_name", ""),
            ip=client_ip(request),
        )
        return Response(MembershipOutput(membership).data, status=status.HTTP_201_CREATED)


class ApiTokenOutput(serializers.ModelSerializer[ApiToken]):
    created_by = serializers.EmailField(source="created_by.email")

    class Meta:
        model = ApiToken
        fields: tuple[str, ...] = (
            "id", "name", "role", "prefix", "created_by", "created_at",
            "expires_at", "last_used_at", "revoked_at",
        )  # fmt: skip


class ApiTokenCreatedOutput(ApiTokenOutput):
    token = serializers.CharField(help_text="The secret. Shown once; store it now.")

    class Meta(ApiTokenOutput.Meta):
        fields = (*ApiTokenOutput.Meta.fields, "token")


class ApiTokenListCreateApi(OrgAPIView):
    """API tokens: admins see all of the organisation's, others their own.

    Anyone in the organisation (viewers too) may create a token, with a role no higher than theirs;
    as a person: a token minting tokens could outlive its own revocation.
    """

    write_role = Role.VIEWER  # the service caps the token's role at the creator's
    human_only = frozenset({"POST"})

    class Input(StrictSerializer):
        name = StrictCharField(max_length=100)
        role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

    @extend_schema(responses={200: ApiTokenOutput(many=True)}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        only_mine = None if self.org.at_least(Role.ADMIN) else self.org.user
        tokens = selectors.api_token_list(organization=self.org.organization, user=only_mine)
        return Response({"results": ApiTokenOutput(tokens, many=True).data})

    @extend_schema(request=Input, responses={201: ApiTokenCreatedOutput}, tags=TAGS)
    def post(self, request: Request, org_slug: str) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        token, raw = services.api_token_create(
            organization=self.org.organization,
            creator=self.org.user,
            creator_role=self.org.role,
            ip=client_ip(request),
            **data.validated_data,
        )
        token.token = raw  # type: ignore[attr-defined]
        return Response(ApiTokenCreatedOutput(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailApi(OrgAPIView):
    """Revoke a token (its creator, or an admin; as a person, never with a token)."""

    write_role = Role.VIEWER  # a viewer revokes their own tokens; only admins reach others'
    human_only = frozenset({"DELETE"})

    @extend_schema(responses={200: ApiTokenOutput}, tags=TAGS)
    def delete(self, request: Request, org_slug: str, token_id: int) -> Response:
        only_mine = None if self.org.at_least(Role.ADMIN) else self.org.user
        token = (
            selectors.api_token_list(organization=self.org.organization, user=only_mine)
            .filter(pk=token_id)
            .first()
        )
        if token is None:
            raise NotFound()
        token = services.api_token_revoke(token=token, actor=self.org.user, ip=client_ip(request))
        return Response(ApiTokenOutput(token).data)


class SecurityEventOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    api_token = serializers.CharField(source="actor_token.prefix", allow_null=True, default=None)
    email = serializers.EmailField()
    ip = serializers.IPAddressField(allow_null=True)
    request_id = serializers.CharField()
    detail = serializers.JSONField()


class SecurityEventListApi(OrgAPIView):
    """The organisation's security log (owners and admins), newest first, last 500."""

    read_role = Role.ADMIN

    @extend_schema(responses={200: SecurityEventOutput(many=True)}, tags=TAGS)
    def get(self, request: Request, org_slug: str) -> Response:
        events = selectors.security_event_list(organization=self.org.organization)[:500]
        return Response({"results": SecurityEventOutput(events, many=True).data})
