"""Sign-in, token refresh and logout, registration, and the caller's own profile."""

from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from kore.core.client_ip import client_ip
from kore.core.exceptions import KoreError, Unauthenticated, error_body
from kore.core.serializers import StrictCharField, StrictSerializer
from kore.core.throttling import LoginEmailThrottle, LoginIPThrottle

from . import services
from .authentication import BEARER_REALM, PeopleOnlyForWrites
from .models import SecurityEvent, User
from .selectors import second_factor_enabled

TokenPair = inline_serializer(
    "TokenPair", {"access": serializers.CharField(), "refresh": serializers.CharField()}
)


class UserOutput(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "full_name", "date_joined")


class TokenObtainApi(APIView):
    """Exchange email and password for a JWT pair (access 60 min, refresh 1 day).

    With two-factor sign-in on, the password alone gets no tokens: send ``code`` (the
    authenticator app's, or a recovery code) with the password, or answer the 401
    ``mfa_required`` by posting its ``challenge`` with the ``code``.
    """

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginIPThrottle, LoginEmailThrottle)

    class Input(StrictSerializer):
        email = serializers.EmailField(required=False)
        password = StrictCharField(trim_whitespace=False, required=False)
        challenge = StrictCharField(required=False, max_length=512)
        code = StrictCharField(required=False, max_length=32)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            needed = ("challenge", "code") if "challenge" in attrs else ("email", "password")
            missing = [name for name in needed if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {n: [ErrorDetail("This field is required.", code="required")] for n in missing}
                )
            return attrs

    @extend_schema(
        request=Input,
        responses={200: TokenPair},
        tags=["auth"],
        description=(
            "Send `email` and `password`. With two-factor sign-in on, the answer is a 401 "
            "`mfa_required` whose body also carries `challenge` (valid `challenge_expires_in` "
            "seconds): post `{challenge, code}` with the authenticator app's six-digit code or "
            "an unused eight-digit recovery code. `code` may also come with the password in the "
            "first call. Each code is accepted once; five wrong codes lock the second step "
            "for 15 minutes (429 `mfa_locked`)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        ip = client_ip(request)
        user: User | None
        if "challenge" in values:
            user = services.mfa_challenge_user(challenge=values["challenge"])
        else:
            email = values["email"].strip().lower()
            user = authenticate(request, email=email, password=values["password"])
            if user is None:
                services.security_event_record(
                    kind=SecurityEvent.Kind.LOGIN_FAILED, email=email, ip=ip
                )
                raise Unauthenticated("Wrong email or password.", code="authentication_failed")
        if second_factor_enabled(user=user):
            if "code" not in values:
                return _mfa_required(user)
            try:
                services.second_factor_verify(user=user, code=values["code"])
            except KoreError:
                services.security_event_record(
                    kind=SecurityEvent.Kind.LOGIN_FAILED, actor=user, ip=ip, detail={"mfa": True}
                )
                raise
        services.security_event_record(kind=SecurityEvent.Kind.LOGIN_SUCCEEDED, actor=user, ip=ip)
        return Response(services.token_pair_issue(user=user))


def _mfa_required(user: User) -> Response:
    """401 ``mfa_required`` in the one error shape, with the challenge for the second step."""
    body: dict[str, Any] = error_body(
        "mfa_required",
        "Two-factor sign-in is on: post the challenge with the code from your authenticator "
        "app (or a recovery code).",
    )
    body["challenge"] = services.mfa_challenge_issue(user=user)
    body["challenge_expires_in"] = services.MFA_CHALLENGE_SECONDS
    response = Response(body, status=status.HTTP_401_UNAUTHORIZED)
    response["WWW-Authenticate"] = BEARER_REALM
    return response


class TokenRefreshApi(APIView):
    """Rotate a refresh token: the old one is blacklisted, a new pair comes back."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginIPThrottle,)

    class Input(StrictSerializer):
        refresh = StrictCharField()

    @extend_schema(request=Input, responses={200: TokenPair}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.token_pair_refresh(raw_refresh=data.validated_data["refresh"]))


class LogoutApi(APIView):
    """Revoke the refresh token and, until it expires, the access token used for this call."""

    permission_classes = (IsAuthenticated, PeopleOnlyForWrites)

    class Input(StrictSerializer):
        refresh = StrictCharField(required=False)

    @extend_schema(request=Input, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.session_logout(
            user=cast(User, request.user),
            raw_refresh=data.validated_data.get("refresh"),
            access=request.auth if isinstance(request.auth, AccessToken) else None,
            ip=client_ip(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterApi(APIView):
    """Open signup, only when ``KORE_OPEN_SIGNUP`` is on; invitations work either way."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginIPThrottle,)

    class Input(StrictSerializer):
        email = serializers.EmailField()
        password = StrictCharField(trim_whitespace=False)
        full_name = StrictCharField(required=False, allow_blank=True, max_length=150)

    @extend_schema(request=Input, responses={201: UserOutput}, tags=["auth"])
    def post(self, request: Request) -> Response:
        if not settings.KORE_OPEN_SIGNUP:
            raise KoreError(
                "Signup is closed; ask an organisation admin for an invitation.",
                code="signup_closed",
                status_code=403,
            )
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_create(**data.validated_data)
        services.security_event_record(
            kind=SecurityEvent.Kind.SIGNUP, actor=user, ip=client_ip(request)
        )
        return Response(UserOutput(user).data, status=status.HTTP_201_CREATED)


class MeApi(APIView):
    """The signed-in person (an API token reads its creator, and cannot change them)."""

    permission_classes = (IsAuthenticated, PeopleOnlyForWrites)

    class Input(StrictSerializer):
        full_name = StrictCharField(allow_blank=True, max_length=150)

    @extend_schema(responses={200: UserOutput}, tags=["auth"])
    def get(self, request: Request) -> Response:
        return Response(UserOutput(cast(User, request.user)).data)  # IsAuthenticated

    @extend_schema(request=Input, responses={200: UserOutput}, tags=["auth"])
    def patch(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=cast(User, request.user), **data.validated_data)
        return Response(UserOutput(user).data)


class PasswordResetApi(APIView):
    """Email a password reset link. Always 202, so the answer never tells who has an account."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginIPThrottle, LoginEmailThrottle)

    class Input(StrictSerializer):
        email = serializers.EmailField()

    @extend_schema(request=Input, responses={202: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmApi(APIView):
    """Set a new password with the ``uid`` and ``token`` of a reset link (422 when not valid)."""

    permission_classes = (AllowAny,)
    authentication_classes = ()
    throttle_classes = (LoginIPThrottle,)

    class Input(StrictSerializer):
        uid = StrictCharField(max_length=64)
        token = StrictCharField(max_length=128)
        password = StrictCharField(trim_whitespace=False, max_length=128)

    @extend_schema(request=Input, responses={204: None}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
