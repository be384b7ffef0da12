"""Real gateways in front of the sample platform API, asking accessgov about every request.

nginx (auth_request, with the fold of docs/gateway.md) and Caddy (forward_auth) run the very
configurations of examples/gateway/, over TLS, in front of examples/gateway/upstream.py, with
accessgov under gunicorn on PostgreSQL and Redis and the example catalogue
(examples/catalogue/rmm.toml). Each test runs through both gateways; the upstream's hit counter
proves what never reached the platform. The contract itself, through Django's test client, is in
tests/api/test_decisions.py.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from accessgov.api.decisions import IDENTITY_HEADERS
from accessgov.policy import actions as policy_actions
from accessgov.usage import reading
from accessgov.usage.models import CredentialType
from tests.conftest import basic_auth
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory
from tests.gateway.conftest import (
    FAILURE_THRESHOLD,
    KINDS,
    Gateway,
    require_binary,
    require_postgres_and_redis,
    start_accessgov,
    start_gateway,
)
from tests.ops.conftest import free_port
from tokens.actions import revoke_token

pytestmark = [pytest.mark.gateway]

CLIENTS = 20  # parallel clients of the limit and block tests
ASSETS = "/v1/assets"  # GET, Assets.Read, 60 an hour per credential (examples/catalogue/rmm.toml)
ASSETS_LIMIT = 60
# What only accessgov and its gateway may say to each other; a client never sees these.
CONTROL_HEADERS = ("Accessgov-Refusal", "Accessgov-Status", "Accessgov-Gateway-Key")


def basic(token_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": basic_auth(token_id, secret)}


def auth(token) -> dict[str, str]:
    return basic(token.token_id, token.secret)


def token_for(tenant, **fields):
    fields.setdefault("permissions", ["Devices.Read", "Assets.Read", "Scripts.Run"])
    return ThirdPartyTokenFactory(tenant=tenant, **fields)


def refusal_of(response: httpx.Response) -> tuple[int, str]:
    """Return the status and code of a refusal, checking it is accessgov's envelope, and only that."""
    assert response.headers["Content-Type"].split(";")[0] == "application/json", response.text
    body = response.json()
    assert body == {
        "Meta": {"ResponseCode": response.status_code},
        "Error": {"Code": body["Error"]["Code"], "Message": body["Error"]["Message"]},
    }, body
    assert body["Error"]["Message"]
    for name in (*IDENTITY_HEADERS, *CONTROL_HEADERS):
        assert name not in response.headers, name
    if response.status_code == 401:
        assert response.headers.get_list("WWW-Authenticate") == [
            'Basic realm="accessgov API", charset="UTF-8"'
        ]
    return response.status_code, body["Error"]["Code"]


def wait_clear_of_the_hour_edge(margin: float = 30.0) -> None:
    # /v1/assets is counted in hour windows aligned to the clock; a test straddling the edge would
    # see a fresh window. Waiting (at most MARGIN seconds) keeps the count in one window.
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 0.5)


def in_parallel(
    gateway: Gateway, jobs: list[Callable[[httpx.Client], httpx.Response]], *, source: str = "127.0.0.1"
) -> list[httpx.Response]:
    """Run JOBS from CLIENTS clients at once (each its own connection), started together."""
    start = threading.Barrier(CLIENTS)
    shares = [jobs[index::CLIENTS] for index in range(CLIENTS)]

    def run(share):
        with gateway.client(source=source) as client:
            start.wait(timeout=30)
            return [job(client) for job in share]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [response for answers in pool.map(run, shares) for response in answers]


# An allowed call.


def test_an_allowed_call_reaches_the_platform_as_its_caller_without_the_secret(
    gateway, upstream, enabled_tenant, contoso
):
    token = token_for(enabled_tenant)
    with gateway.client() as client:
        response = client.get("/v1/devices/42?expand=all&x=%20y", headers=auth(token))
        posted = client.post(
            "/v1/scripts/7/run",
            headers={**auth(token), "X-Organization-Id": str(contoso.pk)},
            content=b"x" * 20_000,
        )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["Upstream"] == "sample platform API"
    assert seen["Method"] == "GET" and seen["Uri"] == "/v1/devices/42?expand=all&x=%20y"
    assert seen["Identity"] == {
        "Accessgov-Tenant-Id": str(enabled_tenant.pk),
        "Accessgov-Partner-Id": enabled_tenant.partner_id,
        "Accessgov-Credential-Type": "ThirdPartyToken",
        "Accessgov-Credential-Id": token.token_id,
        "Accessgov-Organizations": "All",
        "Accessgov-Permission": "Devices.Read",
    }
    assert seen["AuthorizationReceived"] is False
    assert token.secret not in response.text
    # The limits reach the client, as accessgov's own API sends them.
    assert response.headers["RateLimit-Policy"] == '"3600s";q=3600;w=3600'
    assert response.headers["RateLimit-Limit"] == "3600"
    assert response.headers["RateLimit-Remaining"] == "3599"
    assert int(response.headers["RateLimit-Reset"]) > 0
    assert response.headers["RateLimit"].startswith('"3600s";r=3599;t=')
    assert "Accessgov-Credential-Expires" not in response.headers
    for name in CONTROL_HEADERS:
        assert name not in response.headers

    # A POST, its body intact; its organization named in a header; its endpoint's two windows.
    assert posted.status_code == 200, posted.text
    seen = posted.json()
    assert seen["Method"] == "POST" and seen["BodyBytes"] == 20_000
    assert seen["Identity"]["Accessgov-Permission"] == "Scripts.Run"
    assert seen["AuthorizationReceived"] is False
    assert posted.headers["RateLimit-Policy"] == '"60s";q=30;w=60, "3600s";q=600;w=3600'
    assert upstream.hits() == 2


def test_an_expiring_token_says_when_to_the_platform_and_to_the_client(gateway, upstream, enabled_tenant):
    token = token_for(enabled_tenant, expires_at=timezone.now().replace(microsecond=0) + timedelta(days=3))
    with gateway.client() as client:
        response = client.get("/v1/devices/1", headers=auth(token))
    assert response.status_code == 200, response.text
    expires = token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert response.json()["Identity"]["Accessgov-Credential-Expires"] == expires
    assert response.headers["Accessgov-Credential-Expires"] == expires


def test_an_organization_scoped_token_names_its_organizations_to_the_platform(
    gateway, upstream, enabled_tenant, contoso
):
    token = token_for(enabled_tenant, all_organizations=False, organization_ids=[contoso.pk])
    with gateway.client() as client:
        response = client.get(f"/v1/organizations/{contoso.pk}/devices", headers=auth(token))
    assert response.status_code == 200, response.text
    assert response.json()["Identity"]["Accessgov-Organizations"] == str(contoso.pk)


# Every refusal: the right status and envelope, and nothing reaches the platform.


@dataclass
class Ask:
    """One request a client makes through the gateway."""

    method: str = "GET"
    uri: str = "/v1/devices/42"
    headers: dict[str, str] = field(default_factory=dict)
    source: str = "127.0.0.1"  # the client's own address (any 127.x reaches the gateway)


def _missing(world) -> Ask:
    return Ask()


def _malformed(world) -> Ask:
    return Ask(headers={"Authorization": "Basic !!!"})


def _unknown(world) -> Ask:
    return Ask(headers=basic("agt_AAAAAAAAAAAA", "agts_" + "A" * 59))


def _wrong_secret(world) -> Ask:
    token = token_for(world.tenant)
    return Ask(headers=basic(token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")))


def _revoked(world) -> Ask:
    return Ask(headers=auth(token_for(world.tenant, revoked=True)))


def _expired(world) -> Ask:
    return Ask(headers=auth(token_for(world.tenant, expired=True)))


def _not_yet_started(world) -> Ask:
    return Ask(headers=auth(token_for(world.tenant, scheduled=True)))


def _ip_not_allowed(world) -> Ask:
    token = token_for(world.tenant, allowed_ips=["127.0.0.1"])
    # From 127.0.0.2, claiming to be the allowed address: the gateway says who the peer is.
    return Ask(headers={**auth(token), "X-Forwarded-For": "127.0.0.1"}, source="127.0.0.2")


def _organization_not_allowed(world) -> Ask:
    contoso = OrganizationFactory(tenant=world.tenant, name="Contoso")
    fabrikam = OrganizationFactory(tenant=world.tenant, name="Fabrikam")
    token = token_for(world.tenant, all_organizations=False, organization_ids=[contoso.pk])
    return Ask(uri=f"/v1/devices?OrganizationId={fabrikam.pk}", headers=auth(token))


def _organization_required(world) -> Ask:
    contoso = OrganizationFactory(tenant=world.tenant, name="Contoso")
    token = token_for(world.tenant, all_organizations=False, organization_ids=[contoso.pk])
    return Ask(method="POST", uri="/v1/scripts/7/run", headers=auth(token))


def _permission_missing(world) -> Ask:
    return Ask(method="DELETE", uri="/v1/devices/42", headers=auth(token_for(world.tenant)))


def _api_access_off(world) -> Ask:
    token = token_for(world.tenant)
    policy_actions.disable_api_access(tenant=world.tenant, by=world.admin, ip=None)
    return Ask(headers=auth(token))


def _rate_limited(world) -> Ask:
    token = token_for(world.tenant)
    wait_clear_of_the_hour_edge()
    with world.gateway.client() as client:
        for _ in range(ASSETS_LIMIT):
            assert client.get(ASSETS, headers=auth(token)).status_code == 200
    return Ask(uri=ASSETS, headers=auth(token))


def _ip_blocked(world) -> Ask:
    token = token_for(world.tenant)
    source = "127.0.0.3"
    wrong = basic(token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))
    with world.gateway.client(source=source) as client:
        for _ in range(FAILURE_THRESHOLD):
            assert client.get("/v1/devices/1", headers=wrong).status_code == 401
    # Blocked: even a valid credential is refused, before any database work.
    return Ask(headers=auth(token), source=source)


def _unknown_endpoint(world) -> Ask:
    return Ask(uri="/v1/nothing-here", headers=auth(token_for(world.tenant)))


def _path_not_canonical(world) -> Ask:
    return Ask(uri="/v1/devices/%2e%2e/42", headers=auth(token_for(world.tenant)))


def _method_override(world) -> Ask:
    token = token_for(world.tenant)
    return Ask(headers={**auth(token), "X-HTTP-Method-Override": "DELETE"})


# reason: (how to provoke it, status, code, requests that reach the platform before it)
REFUSALS = {
    "missing": (_missing, 401, "missing_credentials", 0),
    "malformed": (_malformed, 401, "malformed_credentials", 0),
    "unknown": (_unknown, 401, "invalid_credentials", 0),
    "wrong secret": (_wrong_secret, 401, "invalid_credentials", 0),
    "revoked": (_revoked, 401, "token_revoked", 0),
    "expired": (_expired, 401, "token_expired", 0),
    "not yet started": (_not_yet_started, 401, "token_not_yet_valid", 0),
    "ip not allowed": (_ip_not_allowed, 403, "ip_not_allowed", 0),
    "organization not allowed": (_organization_not_allowed, 404, "not_found", 0),
    "organization required": (_organization_required, 403, "organization_required", 0),
    "permission missing": (_permission_missing, 403, "permission_missing", 0),
    "api access off": (_api_access_off, 401, "api_access_off", 0),
    "rate limited": (_rate_limited, 429, "rate_limited", ASSETS_LIMIT),
    "ip blocked": (_ip_blocked, 429, "ip_blocked", 0),
    "unknown endpoint": (_unknown_endpoint, 404, "not_found", 0),
    "path not canonical": (_path_not_canonical, 400, "invalid_path", 0),
    "method override": (_method_override, 400, "method_override_refused", 0),
}


@dataclass
class World:
    gateway: Gateway
    tenant: object
    admin: object


@pytest.mark.parametrize("reason", REFUSALS)
def test_each_refusal_reaches_the_client_with_its_status_and_envelope_and_never_the_platform(
    gateway, upstream, enabled_tenant, admin_user, reason
):
    provoke, status, code, passed_before = REFUSALS[reason]
    ask = provoke(World(gateway=gateway, tenant=enabled_tenant, admin=admin_user))
    with gateway.client(source=ask.source) as client:
        response = client.request(ask.method, ask.uri, headers=ask.headers)
    assert refusal_of(response) == (status, code), response.text
    if status == 429:
        assert 0 < int(response.headers["Retry-After"]) <= 3600
    if code == "rate_limited":
        assert response.headers["RateLimit-Remaining"] == "0"
        assert response.headers["RateLimit-Limit"] == str(ASSETS_LIMIT)
    assert upstream.hits() == passed_before


# Limits and blocks, exact under concurrency.


def test_no_more_than_the_limit_passes_with_twenty_parallel_clients(gateway, upstream, enabled_tenant):
    token = token_for(enabled_tenant)
    wait_clear_of_the_hour_edge()
    answers = in_parallel(
        gateway, [lambda client: client.get(ASSETS, headers=auth(token))] * (ASSETS_LIMIT + 20)
    )
    statuses = Counter(response.status_code for response in answers)
    assert statuses == {200: ASSETS_LIMIT, 429: 20}, statuses
    # Each allowed request was counted once: every remaining count from 59 down to 0, once each.
    remaining = sorted(int(r.headers["RateLimit-Remaining"]) for r in answers if r.status_code == 200)
    assert remaining == list(range(ASSETS_LIMIT))
    for refused in (r for r in answers if r.status_code == 429):
        assert refusal_of(refused) == (429, "rate_limited")
        assert int(refused.headers["Retry-After"]) > 0
    assert upstream.hits() == ASSETS_LIMIT
    # Every decision is in the token's usage, by the catalogue's endpoint and its outcome.
    usage = reading.report(CredentialType.TOKEN, token.pk, enabled_tenant.pk)
    assert {(line.endpoint, line.outcome): line.calls for line in usage.lines} == {
        ("GET /v1/assets", "allowed"): ASSETS_LIMIT,
        ("GET /v1/assets", "rate_limited"): 20,
    }
    assert [address.address for address in usage.addresses] == ["127.0.0.1"]
    # The limit is per credential: another token of the tenant still passes.
    with gateway.client() as client:
        assert client.get(ASSETS, headers=auth(token_for(enabled_tenant))).status_code == 200


def test_an_ip_is_blocked_at_exactly_the_threshold_with_twenty_parallel_clients(
    gateway, upstream, enabled_tenant
):
    token = token_for(enabled_tenant)
    source = "127.0.0.4"
    wrong = basic(token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))
    failing = [lambda client: client.get("/v1/devices/1", headers=wrong)] * (FAILURE_THRESHOLD - 1)
    answers = in_parallel(gateway, failing, source=source)
    assert [refusal_of(r) for r in answers] == [(401, "invalid_credentials")] * (FAILURE_THRESHOLD - 1)
    # One failure short of the threshold: not blocked.
    with gateway.client(source=source) as client:
        assert client.get("/v1/devices/1", headers=auth(token)).status_code == 200
        assert refusal_of(client.get("/v1/devices/1", headers=wrong)) == (401, "invalid_credentials")
    # At the threshold: every request of that address is refused, a valid one too.
    answers = in_parallel(
        gateway, [lambda client: client.get("/v1/devices/1", headers=auth(token))] * CLIENTS, source=source
    )
    for response in answers:
        assert refusal_of(response) == (429, "ip_blocked")
        assert 0 < int(response.headers["Retry-After"]) <= 60
    assert upstream.hits() == 1
    # The same credential from another address is not blocked.
    with gateway.client(source="127.0.0.5") as client:
        assert client.get("/v1/devices/1", headers=auth(token)).status_code == 200
    assert upstream.hits() == 2


# Changes in the console, at once.


def test_a_revocation_in_the_console_stops_the_very_next_request(
    gateway, upstream, enabled_tenant, admin_client
):
    token, bystander = token_for(enabled_tenant), token_for(enabled_tenant)
    with gateway.client() as client:
        # Verified (and cached by the app server) before the revocation.
        for _ in range(4):
            assert client.get("/v1/devices/1", headers=auth(token)).status_code == 200
        revoked = admin_client.post(
            f"/t/{enabled_tenant.slug}/settings/api/tokens/{token.pk}/revoke/", {"confirm": "on"}
        )
        assert revoked.status_code == 302
        token.refresh_from_db()
        assert token.revoked_at is not None
        assert refusal_of(client.get("/v1/devices/1", headers=auth(token))) == (401, "token_revoked")
        assert client.get("/v1/devices/1", headers=auth(bystander)).status_code == 200
    assert upstream.hits() == 5


# What a client must not be able to claim.


def test_client_forged_identity_and_decision_headers_count_for_nothing(
    gateway, upstream, enabled_tenant, contoso
):
    token = token_for(
        enabled_tenant, permissions=["Devices.Read"], all_organizations=False, organization_ids=[contoso.pk]
    )
    forged = {
        "Accessgov-Tenant-Id": "1" if enabled_tenant.pk != 1 else "2",
        "Accessgov-Partner-Id": "P-FORGED",
        "Accessgov-Credential-Type": "ApiKey",
        "Accessgov-Credential-Id": "agk_forged",
        "Accessgov-Organizations": "All",
        "Accessgov-Permission": "Devices.Write",
        "Accessgov-Credential-Expires": "2999-01-01T00:00:00Z",
        "Accessgov-Gateway-Key": "agg_forged",
        "Accessgov-Refusal": "forged",
        "Accessgov-Status": "200",
        "X-Forwarded-For": "198.51.100.1",
        "X-Forwarded-Proto": "https",
    }
    # What the request really is, not what the client says it is, is judged: a DELETE it may not
    # make, dressed up as a GET it may.
    dressed_up = {
        "Accessgov-Original-Method": "GET",
        "Accessgov-Original-Uri": "/v1/devices/42",
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Uri": "/v1/devices/42",
    }
    with gateway.client() as client:
        allowed = client.get("/v1/devices/42", headers={**forged, **auth(token)})
        refused = client.delete("/v1/devices/42", headers={**forged, **dressed_up, **auth(token)})
        anonymous = client.get("/v1/devices/42", headers={**forged, **dressed_up})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["Identity"] == {
        "Accessgov-Tenant-Id": str(enabled_tenant.pk),
        "Accessgov-Partner-Id": enabled_tenant.partner_id,
        "Accessgov-Credential-Type": "ThirdPartyToken",
        "Accessgov-Credential-Id": token.token_id,
        "Accessgov-Organizations": str(contoso.pk),
        "Accessgov-Permission": "Devices.Read",
    }
    assert refusal_of(refused) == (403, "permission_missing")
    assert refusal_of(anonymous) == (401, "missing_credentials")
    assert upstream.hits() == 1


# When accessgov, its database or Redis, or the platform is down.


@pytest.mark.parametrize("kind", KINDS)
def test_when_accessgov_cannot_be_reached_the_gateway_fails_closed(
    kind, workdir, tls, gateway_key_row, upstream, enabled_tenant
):
    gateway = start_gateway(
        kind,
        workdir=workdir,
        tls=tls,
        key=gateway_key_row[0],
        accessgov_address=f"127.0.0.1:{free_port()}",  # nothing listens there: accessgov is down
        upstream_address=f"127.0.0.1:{upstream.port}",
    )
    try:
        with gateway.client() as client:
            # A client claiming an identity changes nothing either.
            down = client.get(
                "/v1/devices/1", headers={**auth(token_for(enabled_tenant)), "Accessgov-Tenant-Id": "1"}
            )
        assert refusal_of(down) == (503, "service_unavailable"), gateway.log()
        assert down.headers["Retry-After"] == "15"
        assert "nothing was passed on" in down.json()["Error"]["Message"]
    finally:
        gateway.stop()
    assert upstream.hits() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_when_accessgov_cannot_reach_its_database_the_gateway_fails_closed(
    kind, workdir, tls, gateway_key_row, upstream, enabled_tenant
):
    require_binary(kind)
    require_postgres_and_redis()
    token = token_for(enabled_tenant)
    # A fresh app server whose PostgreSQL is unreachable: it cannot check the gateway key or the
    # token, and answers 503 (nginx turns any such answer into its own 503; Caddy relays it).
    server = start_accessgov(
        workdir,
        tls,
        name=f"accessgov-without-postgres-{kind}",
        workers=1,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/accessgov",
    )
    try:
        gateway = start_gateway(
            kind,
            workdir=workdir,
            tls=tls,
            key=gateway_key_row[0],
            accessgov_address=f"127.0.0.1:{server.port}",
            upstream_address=f"127.0.0.1:{upstream.port}",
        )
        try:
            with gateway.client() as client:
                response = client.get("/v1/devices/1", headers=auth(token))
            assert refusal_of(response) == (503, "service_unavailable"), gateway.log() + server.log()[-2000:]
            assert response.headers["Retry-After"] == "15"
        finally:
            gateway.stop()
    finally:
        server.stop()
    assert upstream.hits() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_when_accessgov_cannot_reach_redis_decisions_are_still_made_and_revocations_apply(
    kind, workdir, tls, gateway_key_row, upstream, enabled_tenant, admin_user
):
    require_binary(kind)
    require_postgres_and_redis()
    token = token_for(enabled_tenant)
    # README: the limits and blocks fail open, credentials are checked against the database on
    # every request.
    server = start_accessgov(
        workdir,
        tls,
        name=f"accessgov-without-redis-{kind}",
        workers=1,
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    try:
        gateway = start_gateway(
            kind,
            workdir=workdir,
            tls=tls,
            key=gateway_key_row[0],
            accessgov_address=f"127.0.0.1:{server.port}",
            upstream_address=f"127.0.0.1:{upstream.port}",
        )
        try:
            with gateway.client() as client:
                allowed = client.get("/v1/devices/1", headers=auth(token))
                assert allowed.status_code == 200, allowed.text + gateway.log()
                assert allowed.json()["Identity"]["Accessgov-Credential-Id"] == token.token_id
                # No limits were counted, so none are told (and no placeholder text in their place).
                assert not [name for name in allowed.headers if name.lower().startswith("ratelimit")]
                revoke_token(token=token, by=admin_user, ip=None)
                assert refusal_of(client.get("/v1/devices/1", headers=auth(token))) == (401, "token_revoked")
        finally:
            gateway.stop()
    finally:
        server.stop()
    assert upstream.hits() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_when_the_platform_is_down_an_allowed_call_gets_a_502_in_the_envelope(
    kind, workdir, tls, gateway_key_row, accessgov, upstream, enabled_tenant
):
    gateway = start_gateway(
        kind,
        workdir=workdir,
        tls=tls,
        key=gateway_key_row[0],
        accessgov_address=f"127.0.0.1:{accessgov.port}",
        upstream_address=f"127.0.0.1:{free_port()}",
    )
    try:
        with gateway.client() as client:
            response = client.get("/v1/devices/1", headers=auth(token_for(enabled_tenant)))
        assert refusal_of(response) == (502, "bad_gateway"), gateway.log()
    finally:
        gateway.stop()
