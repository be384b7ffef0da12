"""The per-process cache of verified credentials: a warm request needs no SQL, and any change to a
credential reaches every app server's copy on the next request."""

import os
import uuid

import pytest
from django.core.cache import caches
from django.utils import timezone

from accessgov.api import cache as credentials
from accessgov.policy import actions
from tests.api.conftest import ALL_READ, error_of
from tests.conftest import TEST_REDIS_URL, basic_auth, bearer_auth, delete_redis_keys
from tests.factories import ThirdPartyTokenFactory
from tokens import rotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_cache(settings):
    """Run the test with the Redis cache (the credential cache exists only there)."""
    prefix = f"edges-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    try:
        caches["default"].get("ping")
    except Exception:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Redis is not running here (CI always runs this)")
    credentials.clear()
    yield
    credentials.clear()
    # The suite's own cleanup knows only the run's prefix; this one is the test's.
    delete_redis_keys(caches["default"], prefix)


def test_a_warm_request_makes_no_sql_query(api, token, redis_cache, django_assert_num_queries):
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200
    with django_assert_num_queries(0):
        assert api.get("Me", auth).status_code == 200


def test_a_cached_token_is_dropped_at_once_when_it_is_revoked_edited_or_access_is_switched_off(
    api, enabled_tenant, admin_user, redis_cache, policy
):
    """Attack catalogue case 15: a revoked token stops at once."""
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=ALL_READ)
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Organizations", auth).status_code == 200
    # An edit through save(): the permission is gone on the very next request.
    token.permissions = ["Me.Read"]
    token.save()
    assert api.get("Organizations", auth).status_code == 403
    # API access off (another model altogether) reaches every cached credential.
    assert api.get("Me", auth).status_code == 200
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert api.get("Me", auth).json()["Error"]["Code"] == "api_access_off"
    actions.agree_to_policy(tenant=enabled_tenant, version=policy, by=admin_user, ip=None)
    assert api.get("Me", auth).status_code == 200
    # A revocation is a conditional UPDATE, no save(): it publishes the change itself.
    token.revoke(by=admin_user, now=timezone.now())
    assert api.get("Me", auth).json()["Error"]["Code"] == "token_revoked"


def test_another_app_servers_cached_copy_is_refused_after_a_change(
    api, token, admin_user, redis_cache, django_capture_on_commit_callbacks
):
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200
    stale = credentials.get(f"t:{token.token_id}")
    assert stale is not None
    with django_capture_on_commit_callbacks(execute=True):
        token.revoke(by=admin_user, now=timezone.now())
    # Put the stale copy back, as a second app server would still hold it: the versions differ.
    credentials._entries[f"t:{token.token_id}"] = stale
    assert api.get("Me", auth).status_code == 401


def test_first_use_retirement_reaches_another_app_servers_cached_copy(
    api,
    token,
    redis_cache,
    django_capture_on_commit_callbacks,
):
    old = token.secret
    new = rotation.roll_token_secret(token=token, overlap="first_use", by=None, ip=None)[1]
    assert api.get("Me", basic_auth(token.token_id, old)).status_code == 200
    stale = credentials.get(f"t:{token.token_id}")
    assert stale is not None and stale.record.previous_digest
    with django_capture_on_commit_callbacks(execute=True):
        assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200
    # A second app server still holding the copy from before the first use: its version is old.
    credentials._entries[f"t:{token.token_id}"] = stale
    assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")


def test_a_tenant_deactivated_by_the_operator_drops_every_cached_credential_of_every_server(
    api, token, redis_cache, django_capture_on_commit_callbacks
):
    from accessgov.operator.provisioning import TenantSpec, upsert_tenant

    token.tenant.external_id = "c-1"
    token.tenant.save()
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200
    stale = credentials.get(f"t:{token.token_id}")
    assert stale is not None
    with django_capture_on_commit_callbacks(execute=True):
        upsert_tenant(spec=TenantSpec(external_id="c-1", active=False), actor_label="platform (operator key)")
    # Another app server still holding the copy: the global version moved, so it asks again.
    credentials._entries[f"t:{token.token_id}"] = stale
    assert api.get("Me", auth).json()["Error"]["Code"] == "tenant_deactivated"


def test_a_deleted_operator_key_is_dropped_from_the_cache_at_once(redis_cache, operator_key, operator_api):
    from accessgov.operator.actions import delete_operator_key

    auth = bearer_auth(operator_key.raw)
    assert operator_api.get("Tenants", auth).status_code == 200
    assert credentials.get(f"p:{operator_key.prefix}") is not None
    delete_operator_key(key=operator_key, by=None)
    assert operator_api.get("Tenants", auth).json()["Error"]["Code"] == "invalid_credentials"
