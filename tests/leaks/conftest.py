import pytest

from accessgov.policy import actions
from tests.api.conftest import ALL_READ
from tests.factories import ThirdPartyTokenFactory, UserFactory


@pytest.fixture
def token(enabled_tenant):
    """An active token of `tenant`; `token.secret` is its secret."""
    return ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=ALL_READ)


@pytest.fixture
def api_key(enabled_tenant):
    key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=UserFactory(), ip=None)
    key.raw = raw
    return key
