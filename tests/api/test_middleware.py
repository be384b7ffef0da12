"""Edges of the API gate: proxies, method and path tricks, and the per-process credential cache."""

import os
import uuid

import pytest
from django.test import Client, override_settings

from accessgov.api import cache as credentials
from tests.api.conftest import ALL_READ
from tests.conftest import TEST_REDIS_URL, delete_redis_keys
from tests.factories import ThirdPartyTokenFactory

pytestmark = pytest.mark.django_db


def auth_header(token) -> dict[str, str]:
    import base64

    return {
        "HTTP_AUTHORIZATION": "Basic "
        + base64.b64encode(f"{token.token_id}:{token.secret}".encode()).decode()
    }


@pytest.fixture
def client_():
    return Client()


def test_a_client_forged_x_forwarded_proto_is_not_https_without_a_trusted_proxy(client_, token):
    response = client_.get("/api/v1/Me", HTTP_X_FORWARDED_PROTO="https", **auth_header(token))
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "https_required"
    assert "Location" not in response


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_a_trusted_tls_proxy_its_header_is_believed(client_, token):
    assert client_.get("/api/v1/Me", HTTP_X_FORWARDED_PROTO="https", **auth_header(token)).status_code == 200


def test_a_foreign_host_header_gets_400_in_the_envelope(client_, token):
    response = client_.get("/api/v1/Me", secure=True, HTTP_HOST="evil.com", **auth_header(token))
    assert response.status_code == 400
    assert response.json()["Error"]["Code"] == "bad_host"


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_with_trusted_proxies_listed_only_they_may_say_the_request_was_https(client_, token, monkeypatch):
    from accessgov.core import clientip

    monkeypatch.setenv("ACCESSGOV_TRUSTED_PROXIES", "10.0.0.2")
    clientip.trusted_proxies.cache_clear()
    try:
        direct = client_.get(
            "/api/v1/Me", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="198.51.100.7", **auth_header(token)
        )
        proxied = client_.get(
            "/api/v1/Me",
            HTTP_X_FORWARDED_PROTO="https",
            HTTP_X_FORWARDED_FOR="127.0.0.1",
            REMOTE_ADDR="10.0.0.2",
            **auth_header(token),
        )
    finally:
        clientip.trusted_proxies.cache_clear()
    assert direct.status_code == 403
    assert proxied.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/Organizations%2F1",
        "/api/v1//Organizations",
        "/api/v1/Me/../Organizations",
        "/api/v1/organizations",
    ],
)
def test_path_tricks_do_not_reach_another_endpoint(client_, enabled_tenant, path):
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    response = client_.get(path, secure=True, **auth_header(me_only))
    assert response.status_code in {403, 404}
    assert "Data" not in response.json()


def test_method_override_headers_are_ignored(client_, token):
    response = client_.get(
        "/api/v1/Notify", secure=True, HTTP_X_HTTP_METHOD_OVERRIDE="POST", **auth_header(token)
    )
    assert response.status_code == 405
    assert response.json()["Error"]["Code"] == "method_not_allowed"


def test_head_gets_the_same_decision_as_get(client_, enabled_tenant):
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    assert client_.head("/api/v1/Organizations", secure=True, **auth_header(me_only)).status_code in {
        403,
        405,
    }
    assert client_.head("/api/v1/Me", secure=True).status_code in {401, 405}


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_rotating_x_forwarded_for_does_not_buy_a_fresh_budget(client_, token):
    for index in range(3):
        client_.get(
            "/api/v1/Me", secure=True, HTTP_X_FORWARDED_FOR=f"198.51.100.{index}", REMOTE_ADDR="192.0.2.50"
        )
    blocked = client_.get(
        "/api/v1/Me",
        secure=True,
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        REMOTE_ADDR="192.0.2.50",
        **auth_header(token),
    )
    assert blocked.status_code == 429
    other = client_.get("/api/v1/Me", secure=True, REMOTE_ADDR="192.0.2.51", **auth_header(token))
    assert other.status_code == 200


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_a_blocked_ipv6_client_cannot_escape_by_rotating_inside_its_64(client_, token):
    for suffix in range(3):
        client_.get("/api/v1/Me", secure=True, REMOTE_ADDR=f"2001:db8:5:6::{suffix + 1}")
    assert (
        client_.get(
            "/api/v1/Me", secure=True, REMOTE_ADDR="2001:db8:5:6::ffff", **auth_header(token)
        ).status_code
        == 429
    )


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
    from django.core.cache import caches

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


def test_a_warm_request_makes_no_sql_query(client_, token, redis_cache, django_assert_num_queries):
    assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 200
    with django_assert_num_queries(0):
        assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 200


def test_a_cached_token_is_dropped_at_once_when_it_is_revoked_edited_or_access_is_switched_off(
    client_, enabled_tenant, admin_user, redis_cache, policy
):
    from django.utils import timezone

    from accessgov.policy import actions

    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=ALL_READ)
    assert client_.get("/api/v1/Organizations", secure=True, **auth_header(token)).status_code == 200
    # An edit through save(): the permission is gone on the very next request.
    token.permissions = ["Me.Read"]
    token.save()
    assert client_.get("/api/v1/Organizations", secure=True, **auth_header(token)).status_code == 403
    # API access off (another model altogether) reaches every cached credential.
    assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 200
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert (
        client_.get("/api/v1/Me", secure=True, **auth_header(token)).json()["Error"]["Code"]
        == "api_access_off"
    )
    actions.agree_to_policy(tenant=enabled_tenant, version=policy, by=admin_user, ip=None)
    assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 200
    # A revocation is a conditional UPDATE, no save(): it publishes the change itself.
    token.revoke(by=admin_user, now=timezone.now())
    assert (
        client_.get("/api/v1/Me", secure=True, **auth_header(token)).json()["Error"]["Code"]
        == "token_revoked"
    )


def test_another_app_servers_cached_copy_is_refused_after_a_change(
    client_, token, admin_user, redis_cache, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 200
    stale = credentials.get(f"t:{token.token_id}")
    assert stale is not None
    with django_capture_on_commit_callbacks(execute=True):
        token.revoke(by=admin_user, now=timezone.now())
    # Put the stale copy back, as a second app server would still hold it: the versions differ.
    credentials._entries[f"t:{token.token_id}"] = stale
    assert client_.get("/api/v1/Me", secure=True, **auth_header(token)).status_code == 401
