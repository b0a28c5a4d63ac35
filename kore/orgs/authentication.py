"""API tokens and JWTs, both sent as ``Authorization: Bearer …``; each failure has its own code."""

from typing import TYPE_CHECKING, Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES
from rest_framework_simplejwt.authentication import JWTAuthentication as BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken, Token

from kore.core.audit import current_api_token_id
from kore.core.exceptions import Unauthenticated

from .models import ApiToken, User
from .selectors import user_for_access_token
from .services import (
    API_TOKEN_PREFIX,
    api_token_authenticate,
    token_issued_before_credentials_changed,
)

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView

BEARER_REALM = 'Bearer realm="api"'


class ApiTokenAuthentication(BaseAuthentication):
    """``Bearer kore_…``: an organisation's machine credential. Other bearer values pass on."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        raw = parts[1].decode("latin-1")
        if not raw.startswith(API_TOKEN_PREFIX):
            return None
        token = api_token_authenticate(raw=raw)
        current_api_token_id.set(token.pk)  # history rows of this request name the token
        return token.created_by, token

    def authenticate_header(self, request: Request) -> str:
        return BEARER_REALM


class JWTAuthentication(BaseJWTAuthentication):
    """simplejwt's access tokens, refused once their ``jti`` was revoked by a logout or when
    issued before the person's last credential change (both read with the user, one query)."""

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        if parts and parts[0] in AUTH_HEADER_TYPE_BYTES and len(parts) != 2:
            # simplejwt's own code here (bad_authorization_header) is not one of ours.
            raise Unauthenticated(
                "The Authorization header must be 'Bearer <token>'.", code="token_invalid"
            )
        return super().get_raw_token(header)

    def authenticate(self, request: Request) -> tuple[Any, Token] | None:
        # The organisation the route names, so the user's query can bring its membership along.
        kwargs = (getattr(request, "parser_context", None) or {}).get("kwargs") or {}
        slug = kwargs.get("org_slug")
        self.org_slug = slug if isinstance(slug, str) else None
        return super().authenticate(request)

    def get_validated_token(self, raw_token: bytes) -> Token:
        try:
            token = AccessToken(raw_token)  # type: ignore[arg-type]
        except ExpiredTokenError as exc:
            raise Unauthenticated("The access token has expired.", code="token_expired") from exc
        except TokenError as exc:
            raise Unauthenticated("The access token is not valid.", code="token_invalid") from exc
        return token

    def get_user(self, validated_token: Token) -> Any:
        """The token's active user, with the revocation check folded into the same query."""
        user = user_for_access_token(
            user_id=validated_token.get("user_id"),
            jti=str(validated_token.get("jti", "")),
            org_slug=getattr(self, "org_slug", None),
        )
        if user is None:
            raise Unauthenticated("The token's user is unknown or inactive.", code="token_invalid")
        if getattr(user, "token_revoked", False):
            raise Unauthenticated("The access token was revoked.", code="token_revoked")
        if token_issued_before_credentials_changed(user=user, issued_at=validated_token.get("iat")):
            # The password changed or two-factor sign-in was turned on after this token was made.
            raise Unauthenticated(
                "The access token was issued before the password or two-factor sign-in changed.",
                code="token_revoked",
            )
        return user

    def authenticate_header(self, request: Request) -> str:
        return BEARER_REALM


class PeopleOnlyForWrites(BasePermission):
    """Refuse writes made with an API token where only a person may act.

    An API token is one organisation's machine credential: it must not manage its creator's
    sessions or profile, nor mint further tokens that would outlive its own revocation.
    """

    message = "An API token cannot do this; sign in as a person."
    code = "human_only"

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return request.method in SAFE_METHODS or not isinstance(request.auth, ApiToken)
