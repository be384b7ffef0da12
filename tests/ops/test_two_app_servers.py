"""Two gunicorn app servers on one PostgreSQL and one Redis, as README's deployment section runs them.

Whatever one server sees (a request counted against a limit, a failed request, a revocation, API
access turned off) the other enforces on the very next request. Each server keeps verified
credentials in a per-process cache (accessgov/api/cache.py) for up to
ACCESSGOV_CREDENTIAL_CACHE_SECONDS, set to ten minutes here: only the versions published through
Redis can make the other server drop its copy in time, and these tests are the proof that they do.

The servers need the rows the test makes, so the test runs on `transactional_db`: pytest-django's
test database (already migrated once per session) with every write committed, which the servers
reach through DATABASE_URL; the tables are emptied after the test, once both servers are stopped.
That is sturdier than a second database of our own (no second migrate to keep in step, no database
to drop if a run dies), and the Policy row the migration made is recreated by the `policy` fixture.
"""

import time

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from accessgov.policy import actions
from tests.conftest import basic_auth, bearer_auth
from tests.factories import ThirdPartyTokenFactory, UserFactory
from tests.ops.conftest import AppServer, app_environment, console_session_for, suite_database_url

pytestmark = [pytest.mark.ops]

RATE_LIMIT = 8
FAILURE_THRESHOLD = 6


@pytest.fixture
def servers(transactional_db, tmp_path):
    """Start two app servers on the suite's PostgreSQL test database and Redis; stop them after."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI runs this on the machine's PostgreSQL)")
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("needs Redis: set REDIS_URL (CI runs this on the machine's Redis)")
    env = app_environment(
        database_url=suite_database_url(),
        redis_url=settings.CACHES["default"]["LOCATION"],
        # The test process and both servers share one key prefix, as a deployment's servers do.
        key_prefix=settings.CACHES["default"]["KEY_PREFIX"],
        ACCESSGOV_API_DEFAULT_RATE=f"{RATE_LIMIT}/3600",
        ACCESSGOV_API_FAILURE_TIERS=f"{FAILURE_THRESHOLD}/60/60",
        ACCESSGOV_CREDENTIAL_CACHE_SECONDS="600",
        DATABASE_CONN_MAX_AGE="60",
    )
    pair = [AppServer(env=env, log_path=tmp_path / f"server-{name}.log") for name in "ab"]
    try:
        for server in pair:
            server.start()
        yield pair
    finally:
        for server in pair:
            server.stop()


def _token(tenant, **fields):
    return ThirdPartyTokenFactory(tenant=tenant, permissions=["Me.Read", "Organizations.Read"], **fields)


def _me(server: AppServer, token, *, client_ip: str = "192.0.2.10"):
    with server.client(client_ip=client_ip) as client:
        return client.get("/api/v1/Me", headers={"Authorization": basic_auth(token.token_id, token.secret)})


def _warm(servers, token) -> None:
    """Make each server verify TOKEN and keep it in its credential cache."""
    for server in servers:
        assert _me(server, token).status_code == 200


def _wait_clear_of_the_hour_edge(margin: float = 20.0) -> None:
    # The limit is counted in hour windows aligned to the clock; a test straddling the edge would
    # see a fresh window. Waiting (at most MARGIN seconds) keeps the count in one window.
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 0.5)


def test_a_rate_limit_counted_on_one_server_is_enforced_by_the_other(servers, enabled_tenant):
    a, b = servers
    token = _token(enabled_tenant)
    _wait_clear_of_the_hour_edge()
    answers = [_me(server, token) for server in (a, b) * (RATE_LIMIT // 2)]
    assert [r.status_code for r in answers] == [200] * RATE_LIMIT
    assert [int(r.headers["RateLimit-Remaining"]) for r in answers] == list(range(RATE_LIMIT - 1, -1, -1))
    for server in (a, b):
        refused = _me(server, token)
        assert refused.status_code == 429
        assert refused.json()["Error"]["Code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) > 0
    # Another credential has its own allowance on both servers.
    other = _token(enabled_tenant)
    assert _me(b, other).status_code == _me(a, other).status_code == 200


def test_failed_requests_on_both_servers_add_up_to_one_block_for_that_ip(servers, enabled_tenant):
    a, b = servers
    token = _token(enabled_tenant)
    _warm(servers, token)
    attacker = "198.51.100.23"
    wrong = {
        "Authorization": basic_auth(
            token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")
        )
    }
    for index in range(FAILURE_THRESHOLD):
        server = (a, b)[index % 2]
        with server.client(client_ip=attacker) as client:
            assert client.get("/api/v1/Me", headers=wrong).status_code == 401
    # Blocked on both, even with a valid (and cached) credential, before any database work.
    for server in (a, b):
        blocked = _me(server, token, client_ip=attacker)
        assert blocked.status_code == 429
        assert blocked.json()["Error"]["Code"] == "ip_blocked"
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
    # Everyone else is unaffected.
    assert _me(a, token, client_ip="198.51.100.24").status_code == 200
    assert _me(b, token, client_ip="198.51.100.24").status_code == 200


def test_a_token_revoked_through_one_server_stops_at_once_on_the_other(servers, enabled_tenant, admin_user):
    a, b = servers
    token, bystander = _token(enabled_tenant), _token(enabled_tenant)
    _warm(servers, token)
    _warm(servers, bystander)
    session = console_session_for(admin_user)
    revoked = session.post(
        a, f"/t/{enabled_tenant.slug}/settings/api/tokens/{token.pk}/revoke/", {"confirm": "on"}
    )
    assert revoked.status_code == 302, revoked.text[:500]
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = _me(b, token)
    assert refused.status_code == 401
    assert refused.json()["Error"]["Code"] == "token_revoked"
    assert _me(a, token).status_code == 401
    assert _me(b, bystander).status_code == 200


def test_api_access_switched_off_on_one_server_stops_every_credential_on_the_other_and_back_on(
    servers, enabled_tenant, admin_user, policy
):
    a, b = servers
    token = _token(enabled_tenant)
    key, raw_key = actions.issue_api_key(tenant=enabled_tenant, name="Sync", by=UserFactory(), ip=None)
    bearer = {"Authorization": bearer_auth(raw_key)}
    _warm(servers, token)
    for server in servers:
        with server.client() as client:
            assert client.get("/api/v1/Me", headers=bearer).status_code == 200
    session = console_session_for(admin_user)
    switched = session.post(b, f"/t/{enabled_tenant.slug}/settings/api/access/off/", {"confirm": "on"})
    assert switched.status_code == 302, switched.text[:500]
    for server in servers:
        off = _me(server, token)
        assert off.status_code in (401, 403)
        assert off.json()["Error"]["Code"] == "api_access_off"
        with server.client() as client:
            assert client.get("/api/v1/Me", headers=bearer).json()["Error"]["Code"] == "api_access_off"
    agreed = session.post(
        a, f"/t/{enabled_tenant.slug}/settings/api/policy/", {"agree": "on", "version": policy.version}
    )
    assert agreed.status_code == 302, agreed.text[:500]
    assert _me(b, token).status_code == 200
    with b.client() as client:
        assert client.get("/api/v1/Me", headers=bearer).status_code == 200
