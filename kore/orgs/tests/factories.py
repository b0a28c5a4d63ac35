import factory
from factory.django import DjangoModelFactory

from kore.orgs.models import Membership, Organization, Role, User

PASSWORD = "correct-horse-battery-9"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    time_zone = "Europe/Paris"
    default_currency = "EUR"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


def totp_code(secret: str, step: int = 0) -> str:
    """The TOTP code of the current time step (``step`` steps later or earlier)."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return str(format_hotp_value(hotp_value(secret, int(time.time()) // 30 + step)))


def totp_turn_on(user: User) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for ``user``: the secret and the recovery codes.

    Turned on with the previous time step's code (the test settings accept one step either
    side), so the current step's code is still unused for the sign-in under test.
    """
    from allauth.mfa.totp.internal.auth import generate_totp_secret

    from kore.orgs.services import totp_activate

    secret = generate_totp_secret()
    codes = totp_activate(user=user, secret=secret, code=totp_code(secret, -1))
    return secret, codes
