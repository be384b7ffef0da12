"""Usage per credential, counted in the request's round trip and rolled up (accessgov.usage)."""

import time
from datetime import UTC, datetime, timedelta

from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accessgov.usage import counting, reading, rollup
from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage
from tests.conftest import basic_auth

OFFICE = "203.0.113.10"
HOME = "2001:db8::7"


def _call(api, path, authorization, ip=OFFICE):
    return api.client.get("/api/v1/" + path, secure=True, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=authorization)


def _calls(token) -> dict[tuple[str, str], int]:
    return {
        (line.endpoint, line.outcome): line.calls
        for line in reading.report(CredentialType.TOKEN, token.pk, token.tenant_id).lines
    }


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(1000, 60)], "Organizations.Read": [(2, 60)]})
def test_calls_are_counted_by_endpoint_and_outcome(store, api, token, enabled_tenant):
    auth = basic_auth(token.token_id, token.secret)
    for _ in range(3):
        assert _call(api, "Me", auth).status_code == 200
    for _ in range(3):
        _call(api, "Organizations", auth, ip=HOME)
    token.permissions = [p for p in token.permissions if p != "Me.Read"]
    token.save()
    assert _call(api, "Me", auth).status_code == 403
    assert _call(api, "Me", basic_auth(token.token_id, "not-the-secret")).status_code == 401
    calls = _calls(token)
    assert calls[("GET Me", "allowed")] == 3
    assert calls[("GET Organizations", "allowed")] == 2
    assert calls[("GET Organizations", "rate_limited")] == 1
    assert calls[("GET Me", "permission_missing")] == 1
    assert (
        sum(n for (endpoint, outcome), n in calls.items() if outcome not in {"allowed", "rate_limited"}) == 2
    )
    report = reading.report(CredentialType.TOKEN, token.pk, token.tenant_id)
    assert report.days[-1].allowed == 5 and report.days[-1].limited == 1 and report.days[-1].refused == 2
    assert report.total == 8
    assert [a.address for a in report.addresses] == [OFFICE, HOME]
    assert report.last_endpoint == "GET Me"
    home = report.addresses[1]
    assert home.first_seen <= home.last_seen and home.last_endpoint == "GET Organizations"


def test_an_unknown_credential_is_counted_for_nobody(store, api, token):
    assert _call(api, "Me", basic_auth("tp_" + "0" * 20, "x")).status_code == 401
    rollup.rollup()
    assert not CredentialUsage.objects.exists()


def test_api_keys_are_counted_too(store, api, api_key):
    assert _call(api, "Me", f"Bearer {api_key.raw}").status_code == 200
    report = reading.report(CredentialType.API_KEY, api_key.pk, api_key.tenant_id)
    assert [(line.endpoint, line.outcome, line.calls) for line in report.lines] == [("GET Me", "allowed", 1)]


@override_settings(ACCESSGOV_USAGE_COUNTING=False)
def test_nothing_is_counted_when_counting_is_off(store, api, token):
    assert _call(api, "Me", basic_auth(token.token_id, token.secret)).status_code == 200
    rollup.rollup()
    assert reading.report(CredentialType.TOKEN, token.pk, token.tenant_id).total == 0


def test_the_rollup_copies_once_and_a_second_run_changes_nothing(store, api, token):
    auth = basic_auth(token.token_id, token.secret)
    for _ in range(4):
        _call(api, "Me", auth)
    call_command("rollup_usage", verbosity=0)
    call_command("rollup_usage", verbosity=0)
    row = CredentialUsage.objects.get(credential_id=token.pk)
    assert (row.endpoint, row.outcome, row.calls, row.tenant_id) == ("GET Me", "allowed", 4, token.tenant_id)
    assert CredentialAddress.objects.get(credential_id=token.pk).address == OFFICE
    _call(api, "Me", auth)
    call_command("rollup_usage", verbosity=0)
    assert CredentialUsage.objects.get(credential_id=token.pk).calls == 5


def test_a_rollup_killed_halfway_is_finished_by_the_next(real_redis, api, token):
    auth = basic_auth(token.token_id, token.secret)
    _call(api, "Me", auth)
    client = caches["default"]._cache.get_client(None, write=True)
    # Killed after it claimed the credentials counted so far, before it copied any.
    claimed = client.eval(rollup.CLAIM_SCRIPT, 2, counting.dirty_key(), counting.rolling_key())
    assert len(claimed) == 1
    assert not CredentialUsage.objects.exists()
    _call(api, "Organizations", auth)  # counted meanwhile: in the new set
    run = rollup.rollup()
    assert run.credentials == 1
    assert {(r.endpoint, r.calls) for r in CredentialUsage.objects.all()} == {
        ("GET Me", 1),
        ("GET Organizations", 1),
    }
    assert not client.exists(counting.rolling_key())


def test_a_redis_emptied_midday_never_lowers_the_counts(real_redis, api, token):
    auth = basic_auth(token.token_id, token.secret)
    for _ in range(3):
        _call(api, "Me", auth)
    rollup.rollup()
    client = caches["default"]._cache.get_client(None, write=True)
    client.delete(counting.day_key(CredentialType.TOKEN, token.pk, datetime.now(UTC).date()))
    _call(api, "Me", auth)
    rollup.rollup()
    assert CredentialUsage.objects.get(credential_id=token.pk).calls == 3


def test_old_days_are_deleted_by_the_rollup(store, token, settings):
    today = reading.today()
    for age in (0, settings.ACCESSGOV_USAGE_KEEP_DAYS + 1):
        CredentialUsage.objects.create(
            tenant=token.tenant,
            credential_type=CredentialType.TOKEN,
            credential_id=token.pk,
            day=today - timedelta(days=age),
            endpoint="GET Me",
            permission="Me.Read",
            outcome="allowed",
            calls=1,
        )
    assert rollup.rollup().pruned == 1
    assert CredentialUsage.objects.get().day == today


def test_counting_costs_no_query_in_the_request(store, api, token):
    """The embedded default adds calls up in memory; the request makes the queries it made before."""
    auth = basic_auth(token.token_id, token.secret)
    _call(api, "Me", auth)  # warm whatever is warmed once
    with override_settings(ACCESSGOV_USAGE_COUNTING=False), CaptureQueriesContext(connection) as off:
        _call(api, "Me", auth)
    with CaptureQueriesContext(connection) as on:
        _call(api, "Me", auth)
    assert len(on.captured_queries) == len(off.captured_queries)


def test_a_hung_redis_costs_a_page_one_timeout_and_shows_the_last_rollup(hung_redis, token, settings):
    CredentialUsage.objects.create(
        tenant=token.tenant,
        credential_type=CredentialType.TOKEN,
        credential_id=token.pk,
        day=reading.today(),
        endpoint="GET Me",
        permission="Me.Read",
        outcome="allowed",
        calls=7,
    )
    started = time.monotonic()
    report = reading.report(CredentialType.TOKEN, token.pk, token.tenant_id)
    assert time.monotonic() - started < 4 * settings.ACCESSGOV_REDIS_TIMEOUT + 0.5
    assert report.total == 7


def test_a_tenant_refresh_reads_only_its_own_credentials(real_redis, api, token, other_tenant):
    _call(api, "Me", basic_auth(token.token_id, token.secret))
    client = caches["default"]._cache.get_client(None, write=True)
    member = f"token:{token.pk}:{token.tenant_id}".encode()
    assert client.zrange(counting.tenant_key(token.tenant_id), 0, -1) == [member]
    assert not client.exists(counting.tenant_key(other_tenant.pk))
    rollup.refresh_tenant(other_tenant.pk)
    assert not CredentialUsage.objects.exists()
    assert rollup.refresh_tenant(token.tenant_id)
    assert CredentialUsage.objects.get().calls == 1
    # Read again with nothing called since (the last copy past the clock-skew margin): no query.
    client.set(counting.tenant_copied_key(token.tenant_id), int(time.time() * 1000) + 60_000)
    with CaptureQueriesContext(connection) as again:
        assert rollup.refresh_tenant(token.tenant_id)
    assert again.captured_queries == []


def test_an_endpoint_whose_permission_changed_during_the_day_is_added_up_in_one_row(real_redis, token):
    """A catalogue edit (or a rolling deploy) gives one endpoint two permissions in one day's hash."""
    client = caches["default"]._cache.get_client(None, write=True)
    day = datetime.now(UTC).date()
    key = counting.day_key(CredentialType.TOKEN, token.pk, day)
    client.hset(key, counting.field("allowed", "Old.Read", "GET Me"), 2)
    client.hset(key, counting.field("allowed", "Me.Read", "GET Me"), 5)
    client.sadd(counting.dirty_key(), f"token:{token.pk}:{token.tenant_id}")
    assert rollup.rollup().credentials == 1
    row = CredentialUsage.objects.get()
    assert (row.endpoint, row.permission, row.calls) == ("GET Me", "Me.Read", 7)
