import factory
from factory.django import DjangoModelFactory

from kore.orgs.tests.factories import OrganizationFactory
from kore.webhooks.events import EVENT_TYPES
from kore.webhooks.models import WebhookEndpoint
from kore.webhooks.signing import secret_generate


class WebhookEndpointFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    organization = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/kore")
    event_types = factory.LazyFunction(lambda: list(EVENT_TYPES))
    secret = factory.LazyFunction(secret_generate)
