"""Organisation scoping every tenant endpoint reuses.

The organisation comes from the URL (``/api/v1/orgs/{slug}/…``) and is resolved from the caller's
own memberships: someone else's organisation is a 404, never a 403, so its existence is not leaked.
An API token reaches only its own organisation, with the lower of its role and its creator's,
and never the methods a view lists in ``human_only``: whatever grants or removes power over the
organisation (members, invitations, API tokens) is a person's act, so a leaked token cannot turn
itself into a human admin or a fresh token that outlives its revocation.
"""

from dataclasses import dataclass
from typing import cast

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.views import APIView

from kore.core.exceptions import HumanOnly, NotFound, PermissionDenied
from kore.core.idempotency import IdempotentPostMixin

from .models import ROLE_RANK, ApiToken, Organization, Role, User, role_at_least
from .selectors import membership_get


@dataclass(frozen=True)
class OrgContext:
    organization: Organization
    role: str
    user: User
    api_token: ApiToken | None

    def at_least(self, role: str) -> bool:
        return role_at_least(self.role, role)


def org_context_for(*, user: User, slug: str, token: ApiToken | None = None) -> OrgContext | None:
    """``user``'s standing in the organisation named ``slug`` (narrowed to ``token``'s role and
    organisation when a token made the request), or None when they have none there. The one
    place the API and the web app turn a slug into an organisation."""
    membership = membership_get(user=user, slug=slug)
    if membership is None:
        return None
    role = membership.role
    if token is not None:
        if token.organization_id != membership.organization_id:
            return None
        role = min(role, token.role, key=lambda r: ROLE_RANK[Role(r)])
    return OrgContext(membership.organization, role, user, token)


def role_needed(method: str | None, *, read: str, write: str) -> str:
    """The role a request needs: ``read`` for the safe methods (GET, HEAD, OPTIONS), ``write``
    for the rest. The API and the web app both ask here."""
    return read if method in SAFE_METHODS else write


def org_context_resolve(*, request: Request, slug: str) -> OrgContext:
    """The caller's standing in the organisation named ``slug``, or 404."""
    user = cast(User, request.user)  # authenticated: checked before this runs
    token = request.auth if isinstance(request.auth, ApiToken) else None
    found = org_context_for(user=user, slug=slug, token=token)
    if found is None:
        raise NotFound()
    return found


class OrgAPIView(IdempotentPostMixin, APIView):
    """Base for every ``/orgs/{org_slug}/…`` endpoint: sets ``self.org`` before permissions run.

    Reads need ``read_role`` (viewer), writes need ``write_role`` (member) unless a view raises
    them; the methods in ``human_only`` refuse an API token whatever its role (403
    ``human_only``). Both checks come after the 404 so an outsider learns nothing. POSTs accept
    ``Idempotency-Key``, scoped to the organisation and the caller.
    """

    read_role: str = Role.VIEWER
    write_role: str = Role.MEMBER
    human_only: frozenset[str] = frozenset()
    org: OrgContext

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)  # unauthenticated → 401 first
        self.org = org_context_resolve(request=request, slug=self.kwargs["org_slug"])
        if self.org.api_token is not None and request.method in self.human_only:
            raise HumanOnly()
        needed = role_needed(request.method, read=self.read_role, write=self.write_role)
        if not self.org.at_least(needed):
            raise PermissionDenied(f"This action needs the {needed} role or higher.")

    def idempotency_scope(self, request: Request) -> str:
        token = self.org.api_token.pk if self.org.api_token else "-"
        return f"{self.org.organization.pk}:{self.org.user.pk}:{token}"
