"""Membership and invitation services, including two owners demoting each other at once."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from kore.core.exceptions import Conflict, NotFound, PermissionDenied, RuleViolation
from kore.orgs.models import Invitation, Membership, Role
from kore.orgs.services import (
    invitation_accept,
    invitation_create,
    membership_change_role,
    membership_remove,
    organization_create,
    organization_update,
)
from kore.orgs.tests.factories import MembershipFactory, OrganizationFactory, UserFactory


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread (own DB connection), released at the same moment."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def work(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = call()
        except BaseException as exc:  # reported to the test, never swallowed
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    return outcomes


# --- Concurrency ----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner():
    for _ in range(8):  # the race is timing-dependent: try it several times
        org = OrganizationFactory()
        a = MembershipFactory(organization=org, role=Role.OWNER)
        b = MembershipFactory(organization=org, role=Role.OWNER)

        outcomes = run_together(
            lambda a=a, b=b: membership_change_role(
                actor=a.user, actor_role=Role.OWNER, membership=b, role=Role.ADMIN
            ),
            lambda a=a, b=b: membership_change_role(
                actor=b.user, actor_role=Role.OWNER, membership=a, role=Role.ADMIN
            ),
        )

        owners = Membership.objects.filter(organization=org, role=Role.OWNER).count()
        assert owners == 1
        succeeded = [o for o in outcomes if isinstance(o, Membership)]
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(succeeded) == 1, outcomes
        assert len(refused) == 1, outcomes
        assert refused[0].code == "last_owner"


@pytest.mark.django_db(transaction=True)
def test_two_owners_removing_each_other_at_once_leave_one_owner():
    for _ in range(8):
        org = OrganizationFactory()
        a = MembershipFactory(organization=org, role=Role.OWNER)
        b = MembershipFactory(organization=org, role=Role.OWNER)

        outcomes = run_together(
            lambda a=a, b=b: membership_remove(actor=a.user, actor_role=Role.OWNER, membership=b),
            lambda a=a, b=b: membership_remove(actor=b.user, actor_role=Role.OWNER, membership=a),
        )

        assert Membership.objects.filter(organization=org, role=Role.OWNER).count() == 1
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert [o for o in outcomes if o is not None and not isinstance(o, Conflict)] == []
        assert [r.code for r in refused] == ["last_owner"]


@pytest.mark.django_db(transaction=True)
def test_owner_leaving_while_demoted_keeps_an_owner():
    for _ in range(8):
        org = OrganizationFactory()
        a = MembershipFactory(organization=org, role=Role.OWNER)
        b = MembershipFactory(organization=org, role=Role.OWNER)

        outcomes = run_together(
            lambda a=a: membership_remove(actor=a.user, actor_role=Role.OWNER, membership=a),
            lambda a=a, b=b: membership_change_role(
                actor=a.user, actor_role=Role.OWNER, membership=b, role=Role.MEMBER
            ),
        )

        assert Membership.objects.filter(organization=org, role=Role.OWNER).count() == 1
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert [getattr(e, "code", e) for e in errors] == ["last_owner"], outcomes


# --- Role changes ---------------------------------------------------------------------------
def test_change_role_checks_the_current_role_not_a_stale_copy(db):
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    target = MembershipFactory(organization=org, role=Role.MEMBER)
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    stale = Membership.objects.get(pk=target.pk)
    Membership.objects.filter(pk=target.pk).update(role=Role.OWNER)  # promoted meanwhile

    with pytest.raises(PermissionDenied):
        membership_change_role(
            actor=admin.user, actor_role=Role.ADMIN, membership=stale, role=Role.VIEWER
        )
    assert Membership.objects.get(pk=target.pk).role == Role.OWNER


def test_remove_checks_the_current_role_not_a_stale_copy(db):
    org = OrganizationFactory()
    only_owner = MembershipFactory(organization=org, role=Role.MEMBER)
    stale = Membership.objects.get(pk=only_owner.pk)
    Membership.objects.filter(pk=only_owner.pk).update(role=Role.OWNER)  # the only owner now

    with pytest.raises(Conflict) as raised:
        membership_remove(actor=only_owner.user, actor_role=Role.OWNER, membership=stale)
    assert raised.value.code == "last_owner"
    assert Membership.objects.filter(pk=only_owner.pk).exists()


def test_changing_a_removed_membership_is_not_found(db):
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    gone = MembershipFactory(organization=org, role=Role.MEMBER)
    Membership.objects.filter(pk=gone.pk).delete()

    with pytest.raises(NotFound):
        membership_change_role(
            actor=owner.user, actor_role=Role.OWNER, membership=gone, role=Role.VIEWER
        )


@pytest.mark.parametrize(
    ("actor_role", "target_role", "new_role", "error"),
    [
        (Role.VIEWER, Role.MEMBER, Role.VIEWER, PermissionDenied),
        (Role.MEMBER, Role.VIEWER, Role.MEMBER, PermissionDenied),
        (Role.ADMIN, Role.OWNER, Role.ADMIN, PermissionDenied),
        (Role.ADMIN, Role.MEMBER, Role.OWNER, RuleViolation),
    ],
)
def test_change_role_refusals(db, actor_role, target_role, new_role, error):
    org = OrganizationFactory()
    MembershipFactory(organization=org, role=Role.OWNER)
    actor = MembershipFactory(organization=org, role=actor_role)
    target = MembershipFactory(organization=org, role=target_role)

    with pytest.raises(error):
        membership_change_role(
            actor=actor.user, actor_role=actor_role, membership=target, role=new_role
        )
    assert Membership.objects.get(pk=target.pk).role == target_role


# --- Organisations --------------------------------------------------------------------------
def test_organization_create_makes_the_creator_owner(db):
    person = UserFactory()
    org = organization_create(creator=person, name="Delta", default_currency="usd")
    assert org.default_currency == "USD"
    assert Membership.objects.get(organization=org, user=person).role == Role.OWNER


def test_organization_create_with_taken_slug_is_a_conflict(db):
    OrganizationFactory(slug="taken")
    with pytest.raises(Conflict) as raised:
        organization_create(creator=UserFactory(), name="Taken", slug="taken")
    assert raised.value.code == "slug_taken"


def test_organization_update_normalises_the_currency(db):
    org = OrganizationFactory()
    organization_update(organization=org, default_currency="gbp")
    org.refresh_from_db()
    assert org.default_currency == "GBP"


def test_organization_update_with_bad_time_zone_is_a_rule_violation(db):
    org = OrganizationFactory()
    with pytest.raises(RuleViolation):
        organization_update(organization=org, time_zone="Nowhere/Land")
    org.refresh_from_db()
    assert org.time_zone == "Europe/Paris"


# --- Invitations ----------------------------------------------------------------------------
def test_invitation_create_by_a_member_is_denied(db):
    org = OrganizationFactory()
    member = MembershipFactory(organization=org, role=Role.MEMBER)
    with pytest.raises(PermissionDenied):
        invitation_create(
            organization=org,
            invited_by=member.user,
            inviter_role=Role.MEMBER,
            email="x@example.com",
            role=Role.VIEWER,
        )
    assert not Invitation.objects.exists()


def test_invitation_accepted_twice_at_once_creates_one_membership(transactional_db):
    org = OrganizationFactory()
    owner = MembershipFactory(organization=org, role=Role.OWNER)
    person = UserFactory(email="twice@example.com")
    _, raw = invitation_create(
        organization=org,
        invited_by=owner.user,
        inviter_role=Role.OWNER,
        email="twice@example.com",
        role=Role.MEMBER,
    )

    outcomes = run_together(
        lambda: invitation_accept(raw_token=raw, user=person),
        lambda: invitation_accept(raw_token=raw, user=person),
    )

    assert Membership.objects.filter(organization=org, user=person).count() == 1
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert [getattr(e, "code", e) for e in errors] == ["invitation_used"], outcomes
