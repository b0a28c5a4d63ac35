import pytest

from kore.imports.tests.conftest import account
from kore.ledger.tests.factories import AccountFactory
from kore.suggestions.services import suggestion_model_train

from .helpers import history_write

__all__ = ["account"]


@pytest.fixture
def trained(world):
    """An account with the organisation's categorised history, and a model learnt from it."""
    account = AccountFactory(organization=world.org)
    categories = history_write(world.org, account)
    suggestion_model_train(organization=world.org)
    return account, categories
