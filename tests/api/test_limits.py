"""Rate limits and the failed-request blocker, on Redis and on the embedded database cache."""

import os
import threading
import time
import uuid

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.test import override_settings

from accessgov.api import limits
from accessgov.audit.models import AuditEvent
from accessgov.core import catalogue
from tests.api.conftest import error_of
from tests.conftest import TEST_REDIS_URL, basic_auth, enable_api
from tests.factories import ThirdPartyTokenFactory, WebhookDestinationFactory
from webhooks.models import WebhookDelivery


def redis_limiter() -> limits.RedisLimiter:
    cache = RedisCache(TEST_REDIS_URL, {"KEY_PREFIX": f"limits-test-{uuid.uuid4().hex}"})
    try:
        cache._cache.get_client(None, write=True).ping()
    except Exception:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Redis is not running here (CI always runs these)")
    return limits.RedisLimiter(cache)


def database_limiter() -> limits.CacheLimiter:
    # With REDIS_URL set the suite's database has no cache table yet; the embedded default has one.
    call_command("createcachetable", "accessgov_cache")
    return limits.CacheLimiter(DatabaseCache("accessgov_cache", {}))


@pytest.fixture(params=["redis", "database"])
def limiter(request, db, settings):
    made = redis_limiter() if request.param == "redis" else database_limiter()
    prefix = f"limits-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "default": {**settings.CACHES["default"], "KEY_PREFIX": prefix}}
    made.reset()
    yield made
    made.reset()


WINDOWS = [limits.Window(3, 60)]
T0 = 1_800_000_000.0  # a whole number of minutes and hours since the epoch


def test_a_window_lets_exactly_its_limit_through_and_refuses_without_counting(limiter):
    results = [
        limiter.gate(ip="192.0.2.1", credential="t:a", bucket="Me.Read", windows=WINDOWS, now=T0 + i)
        for i in range(5)
    ]
    assert [r.limited for r in results] == [False, False, False, True, True]
    assert [r.windows[0].remaining for r in results] == [2, 1, 0, 0, 0]
    assert results[-1].windows[0].used == 3
    assert results[0].windows[0].reset_seconds == 60


def test_a_new_window_starts_afresh(limiter):
    """Attack catalogue case 38: a block ends with its window."""
    for i in range(3):
        limiter.gate(ip="192.0.2.1", credential="t:a", bucket="x", windows=WINDOWS, now=T0 + i)
    assert limiter.gate(ip="192.0.2.1", credential="t:a", bucket="x", windows=WINDOWS, now=T0 + 59).limited
    assert not limiter.gate(
        ip="192.0.2.1", credential="t:a", bucket="x", windows=WINDOWS, now=T0 + 60
    ).limited


def test_every_window_counts_at_once_and_the_tightest_is_reported(limiter):
    windows = [limits.Window(2, 5), limits.Window(3, 60)]
    states = [
        limiter.gate(ip="ip", credential="t:n", bucket="Notify.Send", windows=windows, now=T0 + t)
        for t in (0, 1, 2, 6, 7)
    ]
    assert [s.limited for s in states] == [False, False, True, False, True]
    assert states[2].retry_after == 3  # the 5 s window resets first
    assert states[4].tightest.window.seconds == 60
    assert states[4].retry_after == 53


def test_credentials_and_endpoints_have_separate_budgets(limiter):
    for _ in range(3):
        limiter.gate(ip="ip", credential="t:a", bucket="Me.Read", windows=WINDOWS, now=T0)
    assert limiter.gate(ip="ip", credential="t:a", bucket="Me.Read", windows=WINDOWS, now=T0).limited
    assert not limiter.gate(ip="ip", credential="t:b", bucket="Me.Read", windows=WINDOWS, now=T0).limited
    assert not limiter.gate(
        ip="ip", credential="t:a", bucket="Organizations.Read", windows=WINDOWS, now=T0
    ).limited


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(100, 60, 60), (2000, 3600, 3600)])
def test_one_below_at_and_above_the_minute_tier(limiter):
    """Attack catalogue case 34: each failure tier blocks at its threshold."""
    for i in range(99):
        assert limiter.record_failure(ip="198.51.100.1", now=T0 + i * 0.1) == 0
    assert limiter.blocked_for(ip="198.51.100.1") == 0
    assert limiter.record_failure(ip="198.51.100.1", now=T0 + 10) == 60  # the 100th
    assert limiter.record_failure(ip="198.51.100.1", now=T0 + 10.1) == 60
    assert (
        limiter.gate(
            ip="198.51.100.1", credential="t:a", bucket="x", windows=WINDOWS, now=T0 + 11
        ).blocked_for
        > 0
    )


@override_settings(
    ACCESSGOV_API_FAILURE_TIERS=[(30, 60, 60), (100, 300, 300), (300, 3600, 3600), (1000, 86400, 86400)]
)
def test_the_seeds_older_four_tiers_are_expressible_and_failures_straddling_a_minute_edge_still_block(
    limiter,
):
    """Attack catalogue cases 34 and 35: tiers are configurable; failures across a minute edge still block."""
    for i in range(15):
        limiter.record_failure(ip="198.51.100.2", now=T0 + 45 + i)  # 45 s .. 59 s of one minute
    for i in range(14):
        assert limiter.record_failure(ip="198.51.100.2", now=T0 + 60 + i) == 0  # the next minute
    assert limiter.record_failure(ip="198.51.100.2", now=T0 + 74) == 60


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60), (5, 3600, 3600)])
def test_a_longer_block_is_never_shortened(limiter):
    """Attack catalogue case 34: a longer block is never shortened."""
    for i in range(5):
        limiter.record_failure(ip="198.51.100.3", now=T0 + i)
    # The hour tier blocked for 3,600 s; a later minute-tier block must not cut it to 60 s.
    limiter.record_failure(ip="198.51.100.3", now=T0 + 6)
    assert limiter.blocked_for(ip="198.51.100.3") > 3000


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_addresses_of_one_ipv6_64_share_a_bucket_and_mapped_ipv4_is_ipv4(limiter):
    """Attack catalogue case 33: one IPv6 /64 is one bucket."""
    for suffix in ("1", "2", "ffff:1"):
        limiter.record_failure(ip=f"2001:db8:1:2::{suffix}", now=T0)
    assert limiter.blocked_for(ip="2001:db8:1:2:abcd::9") > 0
    assert limiter.blocked_for(ip="2001:db8:1:3::1") == 0
    assert limits.ip_bucket("::ffff:192.0.2.5") == "192.0.2.5"


@pytest.fixture
def shared_limiter(settings):
    """The Redis limiter alone: concurrency is what several app servers bring, and they share Redis."""
    made = redis_limiter()
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "KEY_PREFIX": uuid.uuid4().hex},
    }
    yield made
    made.reset()


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(1000, 60, 60)])
def test_fifty_concurrent_failures_are_counted_exactly(shared_limiter):
    """Attack catalogue case 36: concurrent failures are counted exactly."""
    limiter = shared_limiter
    barrier = threading.Barrier(50)

    def fail():
        barrier.wait()
        limiter.record_failure(ip="198.51.100.4", now=T0)

    threads = [threading.Thread(target=fail) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counters = limiter._client().hvals(limits._failure_key("198.51.100.4"))
    assert sum(int(count) for count in counters) == 50


def test_twenty_parallel_clients_never_pass_more_than_the_limit(shared_limiter):
    limiter = shared_limiter
    windows = [limits.Window(25, 3600)]
    passed = []
    barrier = threading.Barrier(20)

    def client():
        barrier.wait()
        for _ in range(5):
            if not limiter.gate(ip="ip", credential="t:par", bucket="x", windows=windows, now=T0).limited:
                passed.append(1)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 25


def test_when_redis_is_unreachable_the_limits_fail_open_and_say_so(settings, caplog):
    """Attack catalogue case 37: with Redis down the limits fail open."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    me = catalogue.current().own_endpoint("GET", "Me")
    result = limits.gate(ip="192.0.2.9", credential="t:x", endpoint=me)
    assert result.available is False
    assert not result.limited and not result.blocked_for
    assert limits.record_failure("192.0.2.9") == 0
    assert limits.blocked_for("192.0.2.9") == 0
    assert "Rate-limit store unreachable" in caplog.text


def test_a_credential_version_never_repeats_even_after_redis_forgot_it(shared_limiter):
    limiter = shared_limiter
    limiter.bump("t:agt_x")
    _, first = limiter.peek(ip="192.0.2.1", credential="t:agt_x")
    limiter._client().delete(f"{limits._prefix()}v:cred:t:agt_x")  # evicted, flushed or restarted
    limiter.bump("t:agt_x")
    _, second = limiter.peek(ip="192.0.2.1", credential="t:agt_x")
    assert first[1] != second[1]
    assert second[1] != "0"


def test_a_redis_that_never_answers_costs_one_short_wait_and_the_log_says_limits_are_off(
    api, token, hung_redis, caplog
):
    """SECURITY.md: a hung Redis fails open quickly; the breaker skips it after the first wait."""
    started = time.monotonic()
    answers = [api.get("Me", basic_auth(token.token_id, token.secret)) for _ in range(3)]
    elapsed = time.monotonic() - started
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert elapsed < 1, f"three calls took {elapsed:.2f} s"
    assert "RateLimit-Limit" not in answers[-1]
    assert "limits are off" in caplog.text
    assert hung_redis.connections >= 1


def test_the_breaker_closes_again_once_redis_answers(
    api, token, hung_redis, settings, caplog, monkeypatch, request
):
    authorization = basic_auth(token.token_id, token.secret)
    assert api.get("Me", authorization).status_code == 200  # opens the breaker
    request.getfixturevalue("real_redis")  # the cache answers from now on
    skipped = api.get("Me", authorization)
    later = time.monotonic() + settings.ACCESSGOV_REDIS_BREAKER_SECONDS + 1
    monkeypatch.setattr(limits.breaker, "clock", lambda: later)
    counted = api.get("Me", authorization)
    again = api.get("Me", authorization)
    assert skipped.status_code == counted.status_code == again.status_code == 200
    assert "RateLimit-Limit" not in skipped
    assert int(again["RateLimit-Remaining"]) == int(counted["RateLimit-Remaining"]) - 1
    assert "limits are on" in caplog.text


def test_a_refused_request_does_not_consume_the_credentials_limit(api, enabled_tenant, settings, real_redis):
    """SECURITY.md: a request refused before its credential is accepted never consumes its limits."""
    settings.ACCESSGOV_API_RATE_LIMITS = {"default": [(2, 3600)]}
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant, permissions=["Me.Read"], allowed_ips=["192.0.2.0/24"]
    )
    authorization = basic_auth(token.token_id, token.secret)
    office = {"REMOTE_ADDR": "192.0.2.5"}
    first = api.client.get("/api/v1/Me", headers={"Authorization": authorization}, secure=True, **office)
    assert first.status_code == 200  # the credential is cached now: the next calls are warm
    for _ in range(3):
        stranger = api.client.get(
            "/api/v1/Me", headers={"Authorization": authorization}, secure=True, REMOTE_ADDR="198.51.100.9"
        )
        assert stranger.status_code == 403 and stranger.json()["Error"]["Code"] == "ip_not_allowed"
    second = api.client.get("/api/v1/Me", headers={"Authorization": authorization}, secure=True, **office)
    assert second.status_code == 200, second.content
    assert second["RateLimit-Remaining"] == "0"


def test_a_credentials_own_rate_limit_does_not_block_its_address(api, enabled_tenant, settings):
    """SECURITY.md: one busy integration must not get its office's address blocked."""
    settings.ACCESSGOV_API_RATE_LIMITS = {"default": [(1, 3600)]}
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 60)]
    busy = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    other = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    answers = [api.get("Me", basic_auth(busy.token_id, busy.secret)).status_code for _ in range(5)]
    assert answers == [200, 429, 429, 429, 429]
    assert api.get("Me", basic_auth(other.token_id, other.secret)).status_code == 200
    assert limits.blocked_for("127.0.0.1") == 0


def test_plain_http_refused_while_blocked_does_not_extend_the_block(api, token, client, settings):
    """SECURITY.md: requests refused while blocked never extend a block."""
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 60)]
    for _ in range(3):
        api.get("Me", basic_auth(token.token_id, "agts_wrong"))
    assert limits.blocked_for("127.0.0.1") > 50
    _age_block("127.0.0.1", seconds=10)  # as if 50 of its 60 seconds had passed
    for _ in range(3):
        refused = client.get("/api/v1/Me", HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret))
        assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "https_required"
    assert 0 < limits.blocked_for("127.0.0.1") <= 10


def _age_block(ip: str, *, seconds: int) -> None:
    """Leave SECONDS of IP's block, in whichever store the suite's cache is."""
    limiter = limits.get_limiter()
    key = limits._block_key(ip)
    if isinstance(limiter, limits.RedisLimiter):
        limiter._client().pexpire(key, seconds * 1000)
    else:
        limiter.cache.set(key, time.time() + seconds, seconds)


# --- The budget per tenant ----------------------------------------------------------------------

NOTIFY_BUDGET = [limits.Window(3, 60)]


def test_a_tenants_budget_is_shared_by_its_credentials_and_refuses_without_counting(limiter):
    def send(credential: str, tenant: str, t: float = 0):
        return limiter.gate(
            ip="ip",
            credential=credential,
            bucket="Notify.Send",
            windows=[limits.Window(10, 60)],
            now=T0 + t,
            tenant=tenant,
            tenant_windows=NOTIFY_BUDGET,
        )

    assert not send("t:a", "tenant:1").limited
    assert not send("t:b", "tenant:1").limited
    assert not send("t:c", "tenant:1").limited
    refused = send("t:a", "tenant:1", 2)
    assert refused.limited and refused.tenant_limited
    assert refused.retry_after == 58
    assert refused.windows[0].used == 1  # the credential's own count did not move
    assert not send("t:z", "tenant:2").limited  # another tenant has its own budget
    assert not send("t:a", "tenant:1", 60).limited  # a new window starts afresh


def test_a_credentials_own_limit_is_reported_before_its_tenants(limiter):
    def send():
        return limiter.gate(
            ip="ip",
            credential="t:a",
            bucket="Notify.Send",
            windows=[limits.Window(1, 60)],
            now=T0,
            tenant="tenant:1",
            tenant_windows=NOTIFY_BUDGET,
        )

    assert not send().limited
    refused = send()
    assert refused.limited and not refused.tenant_limited
    assert refused.tenant_windows[0].used == 1


def test_two_tokens_of_one_tenant_share_its_notify_budget_and_another_tenant_is_unaffected(
    api, enabled_tenant, other_tenant, admin_user, settings
):
    settings.ACCESSGOV_API_RATE_LIMITS = {"default": [(100, 3600)], "Notify.Send": [(100, 3600)]}
    settings.ACCESSGOV_API_TENANT_RATE_LIMITS = {"Notify.Send": [(3, 3600)]}
    settings.ACCESSGOV_API_FAILURE_TIERS = [(2, 60, 60)]
    enable_api(other_tenant, by=admin_user)
    WebhookDestinationFactory(tenant=enabled_tenant)
    first, second = ThirdPartyTokenFactory.create_batch(2, tenant=enabled_tenant, permissions=["Notify.Send"])
    rival = ThirdPartyTokenFactory(tenant=other_tenant, permissions=["Notify.Send"])
    message = {"Message": "Backup finished"}

    def notify(token):
        return api.post("Notify", basic_auth(token.token_id, token.secret), json=message)

    assert [notify(token).status_code for token in (first, second, first)] == [202, 202, 202]
    for token in (second, first):
        refused = notify(token)
        assert error_of(refused) == (429, "tenant_rate_limited")
        assert "shared by all its credentials" in refused.json()["Error"]["Message"]
        assert 0 < int(refused["Retry-After"]) <= 3600
    assert WebhookDelivery.objects.filter(tenant=enabled_tenant).count() == 3
    assert AuditEvent.objects.filter(tenant=enabled_tenant, action="webhook.notification_sent").count() == 3
    assert notify(rival).status_code == 202
    assert limits.blocked_for("127.0.0.1") == 0  # the tenant's own budget is no failed request


def stored(limiter, key: str) -> bool:
    """Return whether LIMITER's store holds KEY (the Redis limiter names its keys itself)."""
    if isinstance(limiter, limits.RedisLimiter):
        return bool(limiter._client().exists(key))
    return limiter.cache.get(key) is not None


def failure_keys_of(limiter, addresses) -> int:
    """Return how many of ADDRESSES still have a failure count stored."""
    return sum(stored(limiter, limits._failure_key(limits.ip_bucket(a))) for a in addresses)


def redis_keys(limiter) -> list[bytes]:
    return list(limiter._client().scan_iter(match=f"{limits._prefix()}*", count=1000))


@override_settings(
    ACCESSGOV_API_FAILURE_TIERS=[(100, 60, 60), (2000, 3600, 3600)], ACCESSGOV_FAILURE_TRACKED_ADDRESSES=50
)
def test_failures_from_ten_times_more_addresses_than_the_cap_stay_within_the_bound_and_blocking_is_unchanged(
    limiter,
):
    """Attack catalogue case 38a: a flood of addresses (an IPv6 /48 holds 65,536 /64s) cannot grow the log."""
    flood = [f"2001:db8:7:{n:x}::1" for n in range(500)]
    attacker = "198.51.100.20"
    for i, address in enumerate(flood):
        limiter.record_failure(ip=address, now=T0 + i * 0.01)
        if i % 5 == 0 and i < 495:  # the attacker's 99 failures interleaved with the flood
            assert limiter.record_failure(ip=attacker, now=T0 + i * 0.01) == 0
    assert failure_keys_of(limiter, flood) <= 50
    assert limiter.blocked_for(ip=attacker) == 0
    assert limiter.record_failure(ip=attacker, now=T0 + 5) == 60  # the 100th, exactly as before
    assert limiter.blocked_for(ip=attacker) > 0
    if isinstance(limiter, limits.RedisLimiter):
        # Each counted address: one hash of at most 13 counters per tier and an index entry; each
        # block: a key and an index entry; plus the two indexes themselves.
        keys = redis_keys(limiter)
        assert len(keys) <= 50 + 50 + 2
        client = limiter._client()
        used = sum(client.memory_usage(key) or 0 for key in keys)
        assert used < 50 * 2048, used


@override_settings(
    ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60), (2000, 3600, 3600)], ACCESSGOV_FAILURE_TRACKED_ADDRESSES=20
)
def test_a_flood_of_new_failing_addresses_does_not_lift_a_block_in_force(limiter):
    """Attack catalogue case 38a: forgetting counted addresses never forgets a block."""
    for i in range(3):
        limiter.record_failure(ip="198.51.100.21", now=T0 + i)
    assert limiter.blocked_for(ip="198.51.100.21") > 0
    for n in range(200):  # one failure each: below every threshold, so no block of their own
        limiter.record_failure(ip=f"203.0.113.{n}", now=T0 + 10 + n * 0.01)
    assert limiter.blocked_for(ip="198.51.100.21") > 0
    assert failure_keys_of(limiter, [f"203.0.113.{n}" for n in range(200)]) <= 20


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(2, 60, 60)], ACCESSGOV_FAILURE_TRACKED_ADDRESSES=10)
def test_blocks_are_bounded_too_and_the_one_that_ends_soonest_goes_first(limiter):
    """Attack catalogue case 38a: each block costs its threshold of failures; past the cap the oldest goes."""
    addresses = [f"192.0.2.{n}" for n in range(30)]
    for n, address in enumerate(addresses):
        for _ in range(2):
            limiter.record_failure(ip=address, now=T0 + n)
    blocked = [a for a in addresses if stored(limiter, limits._block_key(a))]
    assert blocked == addresses[-10:]
