"""Fixtures shared by the whole suite: two tenants, their people, and signed-in clients."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client

from accessgov.api import cache as credentials
from accessgov.policy import actions
from accessgov.policy.models import PolicyVersion
from tenants.models import Role
from tests.factories import (
    ApiUserFactory,
    MembershipFactory,
    OrganizationFactory,
    PolicyVersionFactory,
    TenantFactory,
    UserFactory,
)

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Start every test with no rate-limit counters left by another.

    The embedded default keeps the cache in the database, so it is only reachable (and only
    needs clearing) in tests that use the database.
    """
    credentials.clear()
    cache = caches["default"]
    uses_db = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames)
    if not isinstance(cache, RedisCache) and not uses_db:
        yield
        return
    if not isinstance(cache, RedisCache):
        names = set(request.fixturenames)
        request.getfixturevalue("transactional_db" if names & {"transactional_db", "live_server"} else "db")
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def policy(db) -> PolicyVersion:
    """Return the API Policy version the migrations publish.

    Transactional tests empty every table afterwards, the migration's row included, so it is
    made again when missing.
    """
    return PolicyVersion.objects.current() or PolicyVersionFactory(version="1.0")


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme MSP", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Rival MSP", slug="rival")


@pytest.fixture
def organizations(tenant):
    return [
        OrganizationFactory(tenant=tenant, name="Contoso"),
        OrganizationFactory(tenant=tenant, name="Fabrikam"),
    ]


@pytest.fixture
def admin_user(tenant):
    user = UserFactory(username="acme-admin")
    MembershipFactory(user=user, tenant=tenant, role=Role.ADMINISTRATOR)
    return user


@pytest.fixture
def tech_user(tenant):
    user = UserFactory(username="acme-tech")
    MembershipFactory(user=user, tenant=tenant, role=Role.TECHNICIAN)
    return user


@pytest.fixture
def other_admin(other_tenant):
    user = UserFactory(username="rival-admin")
    MembershipFactory(user=user, tenant=other_tenant, role=Role.ADMINISTRATOR)
    return user


def _client_for(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def tech_client(tech_user) -> Client:
    return _client_for(tech_user)


@pytest.fixture
def other_admin_client(other_admin) -> Client:
    return _client_for(other_admin)


@pytest.fixture
def staff_client(db) -> Client:
    """Return a client signed in as the operator's support staff (staff and superuser)."""
    return _client_for(UserFactory(username="support", is_staff=True, is_superuser=True))


@pytest.fixture
def api_enabled(tenant):
    """Return the API user of `tenant` with API access on (the policy agreed)."""
    return ApiUserFactory(tenant=tenant)


@pytest.fixture
def enabled_tenant(tenant, admin_user, policy):
    """Return `tenant` after its administrator agreed to the API Policy (through the action)."""
    actions.agree_to_policy(tenant=tenant, version=policy, by=admin_user, ip=None)
    return tenant


@pytest.fixture
def contoso(tenant):
    return OrganizationFactory(tenant=tenant, name="Contoso")


@pytest.fixture
def fabrikam(tenant):
    return OrganizationFactory(tenant=tenant, name="Fabrikam")
