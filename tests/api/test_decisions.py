"""The decision endpoint, through Django's test client: the gateway's questions and every answer.

Real nginx and Caddy in front of a sample upstream are in tests/gateway/.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accessgov.api import limits
from accessgov.core import catalogue
from accessgov.core.catalogue.loading import read_catalogue
from accessgov.gateway.actions import issue_gateway_key
from accessgov.policy import actions as policy_actions
from tests.conftest import basic_auth
from tests.factories import ApiUserFactory, ThirdPartyTokenFactory

DECIDE = "/gateway/v1/decide"
REFUSAL = "/gateway/v1/refusal"
CLIENT = "198.51.100.7"

CATALOGUE = """
[catalogue]
service = "Test RMM"
limits = ["100/1h"]

[[permission]]
name = "Devices.Read"
group = "Devices"
label = "Read devices"

[[permission]]
name = "Devices.Write"
group = "Devices"
label = "Change devices"

[[permission]]
name = "Scripts.Run"
group = "Scripts"
label = "Run scripts"

[[endpoint]]
method = "GET"
path = "/v1/devices"
permission = "Devices.Read"
organization = "query:OrganizationId"

[[endpoint]]
method = "GET"
path = "/v1/devices/export"
permission = "Devices.Read"
limits = ["2/1h"]

[[endpoint]]
method = "GET"
path = "/v1/devices/{DeviceId}"
permission = "Devices.Read"

[[endpoint]]
method = "DELETE"
path = "/v1/devices/{DeviceId}"
permission = "Devices.Write"

[[endpoint]]
method = "GET"
path = "/v1/organizations/{OrganizationId}/devices"
permission = "Devices.Read"
organization = "path:OrganizationId"

[[endpoint]]
method = "POST"
path = "/v1/scripts/{ScriptId}/run"
permission = "Scripts.Run"
organization = "header:X-Organization-Id"
"""


@pytest.fixture(autouse=True)
def platform(settings):
    settings.ACCESSGOV_GATEWAY_NETWORKS = ""
    settings.ACCESSGOV_GATEWAY_REQUIRE_KEY = True
    own = frozenset(p.name for p in catalogue.OWN_PERMISSIONS)
    with catalogue.using(catalogue.Catalogue(read_catalogue(CATALOGUE, source="test", own_permissions=own))):
        yield


@pytest.fixture
def gateway_key(db):
    return issue_gateway_key(name="test gateway", by=None)[1]


@pytest.fixture
def token(enabled_tenant, contoso):
    return ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Devices.Read", "Scripts.Run"])


def _basic(token) -> str:
    return basic_auth(token.token_id, token.secret)


def ask(client, gateway_key, method, uri, *, authorization=None, client_ip=CLIENT, proto="https", **headers):
    """Ask the decision endpoint as a gateway would (Caddy's header names)."""
    sent = {
        "X-Forwarded-Method": method,
        "X-Forwarded-Uri": uri,
        "X-Forwarded-For": client_ip,
        "X-Forwarded-Proto": proto,
        **headers,
    }
    if gateway_key:
        sent["Accessgov-Gateway-Key"] = gateway_key
    if authorization:
        sent["Authorization"] = authorization
    return client.get(DECIDE, headers=sent, secure=True)


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.json()["Error"]["Code"]


def test_an_allowed_request_gets_the_identity_headers_and_never_the_secret(client, gateway_key, token):
    response = ask(client, gateway_key, "GET", "/v1/devices/42?expand=all", authorization=_basic(token))
    assert response.status_code == 200, response.content
    assert response["Accessgov-Tenant-Id"] == str(token.tenant_id)
    assert response["Accessgov-Partner-Id"] == token.tenant.partner_id
    assert response["Accessgov-Credential-Type"] == "ThirdPartyToken"
    assert response["Accessgov-Credential-Id"] == token.token_id
    assert response["Accessgov-Organizations"] == "All"
    assert response["Accessgov-Permission"] == "Devices.Read"
    assert token.secret not in str(response.headers) and token.secret not in response.content.decode()
    # No body, so nginx keeps the connection to accessgov alive (docs/gateway.md).
    assert response.content == b"" and response["Content-Length"] == "0"
    assert response["RateLimit-Policy"] == '"3600s";q=100;w=3600'
    assert response["RateLimit"].startswith('"3600s";r=99;t=')
    token.refresh_from_db()
    assert token.last_used_ip == CLIENT


def test_a_caller_that_is_not_a_gateway_learns_nothing(client, gateway_key, token):
    for key in (None, "agg_" + "A" * 55, gateway_key[:-1] + ("B" if gateway_key[-1] != "B" else "C")):
        response = ask(client, key, "GET", "/v1/devices/42", authorization=_basic(token))
        assert error_of(response) == (404, "not_found")
        assert "Accessgov-Tenant-Id" not in response


def test_from_outside_the_gateway_networks_even_a_good_key_is_refused(client, gateway_key, token, settings):
    settings.ACCESSGOV_GATEWAY_NETWORKS = "10.9.0.0/16"
    response = ask(client, gateway_key, "GET", "/v1/devices/42", authorization=_basic(token))
    assert error_of(response) == (404, "not_found")


def test_networks_alone_can_admit_a_gateway_when_keys_are_not_required(client, token, settings):
    settings.ACCESSGOV_GATEWAY_NETWORKS = "127.0.0.0/8"
    settings.ACCESSGOV_GATEWAY_REQUIRE_KEY = False
    assert ask(client, None, "GET", "/v1/devices/42", authorization=_basic(token)).status_code == 200


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"authorization": None}, (401, "missing_credentials")),
        ({"authorization": "Basic !!!"}, (401, "malformed_credentials")),
        (
            {"authorization": basic_auth("agt_AAAAAAAAAAAA", "x")},
            (401, "invalid_credentials"),
        ),
        ({"proto": "http"}, (403, "https_required")),
        ({"uri": "/v1/nothing-here"}, (404, "not_found")),
        ({"uri": "/v1//devices/42"}, (400, "invalid_path")),
        ({"uri": "/v1/devices/../devices/42"}, (400, "invalid_path")),
        ({"uri": "/v1/devices/%2e%2e/42"}, (400, "invalid_path")),
        ({"uri": "/v1/devices%2F42"}, (400, "invalid_path")),
        ({"uri": "/v1/devices/42/"}, (400, "invalid_path")),
        ({"method": "DELETE"}, (403, "permission_missing")),
        ({"X-HTTP-Method-Override": "DELETE"}, (400, "method_override_refused")),
    ],
)
def test_each_bad_request_is_refused_with_the_api_envelope(client, gateway_key, token, change, expected):
    """Attack catalogue cases 1, 4 and 19 through the gateway."""
    arguments = {"method": "GET", "uri": "/v1/devices/42", "authorization": _basic(token), **change}
    method, uri = arguments.pop("method"), arguments.pop("uri")
    response = ask(client, gateway_key, method, uri, **arguments)
    assert error_of(response) == expected
    assert "Accessgov-Tenant-Id" not in response
    if expected[0] == 401:
        assert response["WWW-Authenticate"].startswith("Basic")


def test_a_wrong_secret_and_an_unknown_token_read_the_same(client, gateway_key, token):
    wrong = basic_auth(token.token_id, "agts_wrong")
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1", authorization=wrong)) == (
        401,
        "invalid_credentials",
    )


@pytest.mark.parametrize(
    ("token_fields", "expected"),
    [
        ({"revoked_at": timezone.now()}, (401, "token_revoked")),
        (
            {
                "expires_at": timezone.now() - timedelta(seconds=1),
                "starts_at": timezone.now() - timedelta(days=2),
            },
            (401, "token_expired"),
        ),
        ({"starts_at": timezone.now() + timedelta(days=1)}, (401, "token_not_yet_valid")),
        ({"allowed_ips": ["192.0.2.0/24"]}, (403, "ip_not_allowed")),
    ],
)
def test_a_tokens_own_rules_refuse_it_at_the_gateway(
    client, gateway_key, enabled_tenant, token_fields, expected
):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Devices.Read"], **token_fields)
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token))) == expected


def test_api_access_off_refuses_every_credential(client, gateway_key, token, enabled_tenant, admin_user):
    policy_actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token))) == (
        401,
        "api_access_off",
    )


def test_a_deactivated_tenant_is_refused_at_the_gateway_and_an_operator_key_never_passes(
    client, gateway_key, token, enabled_tenant, make_operator_key
):
    operator_key = make_operator_key("Tenants.Read")
    refused = ask(client, gateway_key, "GET", "/v1/devices/1", authorization=f"Bearer {operator_key.raw}")
    assert error_of(refused) == (401, "operator_key_not_accepted")
    enabled_tenant.is_active = False
    enabled_tenant.save()
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token))) == (
        401,
        "tenant_deactivated",
    )


def test_the_organization_scope_holds_wherever_the_request_names_its_organization(
    client, gateway_key, enabled_tenant, contoso, fabrikam
):
    """Attack catalogue case 20 on the platform's endpoints: path, query and header."""
    scoped = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        permissions=["Devices.Read", "Scripts.Run"],
        all_organizations=False,
        organization_ids=[contoso.pk],
    )
    auth = _basic(scoped)
    allowed = [
        ("GET", f"/v1/devices?OrganizationId={contoso.pk}", {}),
        ("GET", f"/v1/organizations/{contoso.pk}/devices", {}),
        ("POST", "/v1/scripts/9/run", {"X-Organization-Id": str(contoso.pk)}),
    ]
    for method, uri, headers in allowed:
        response = ask(client, gateway_key, method, uri, authorization=auth, **headers)
        assert response.status_code == 200, uri
        assert response["Accessgov-Organizations"] == str(contoso.pk)
    refused = [
        ("GET", f"/v1/devices?OrganizationId={fabrikam.pk}", {}),
        ("GET", f"/v1/devices?OrganizationId={contoso.pk}&OrganizationId={fabrikam.pk}", {}),
        ("GET", "/v1/devices?OrganizationId=contoso", {}),
        ("GET", f"/v1/organizations/{fabrikam.pk}/devices", {}),
        ("POST", "/v1/scripts/9/run", {"X-Organization-Id": str(fabrikam.pk)}),
    ]
    for method, uri, headers in refused:
        response = ask(client, gateway_key, method, uri, authorization=auth, **headers)
        assert response.status_code in (403, 404) and "Accessgov-Tenant-Id" not in response, uri
    # Naming no organization where one is needed: the scope cannot be checked, so it is refused.
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices", authorization=auth)) == (
        403,
        "organization_required",
    )
    # A token for every organization needs none named, and passes any.
    everything = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Devices.Read"])
    assert ask(client, gateway_key, "GET", "/v1/devices", authorization=_basic(everything)).status_code == 200


def test_a_literal_route_wins_over_a_parameter_and_keeps_its_own_limits(client, gateway_key, token):
    for _ in range(2):
        assert (
            ask(client, gateway_key, "GET", "/v1/devices/export", authorization=_basic(token)).status_code
            == 200
        )
    response = ask(client, gateway_key, "GET", "/v1/devices/export", authorization=_basic(token))
    assert error_of(response) == (429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    # Another endpoint of the same permission has its own budget.
    assert ask(client, gateway_key, "GET", "/v1/devices/7", authorization=_basic(token)).status_code == 200


def test_head_is_judged_as_get(client, gateway_key, token):
    assert ask(client, gateway_key, "HEAD", "/v1/devices/7", authorization=_basic(token)).status_code == 200


def test_failures_count_against_the_client_never_the_gateway(client, gateway_key, token, settings):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 60)]
    wrong = basic_auth(token.token_id, "agts_wrong")
    for _ in range(3):
        ask(client, gateway_key, "GET", "/v1/devices/1", authorization=wrong, client_ip="203.0.113.66")
    blocked = ask(
        client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token), client_ip="203.0.113.66"
    )
    assert error_of(blocked) == (429, "ip_blocked") and int(blocked["Retry-After"]) > 0
    # The same gateway, for another client, is not blocked, nor is the gateway's own address.
    assert ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token)).status_code == 200
    assert limits.blocked_for("127.0.0.1") == 0


def test_for_nginx_every_refusal_is_a_403_whose_real_answer_the_refusal_endpoint_renders(
    client, gateway_key, token
):
    for _ in range(2):
        ask(client, gateway_key, "GET", "/v1/devices/export", authorization=_basic(token))
    folded = ask(
        client,
        gateway_key,
        "GET",
        "/v1/devices/export",
        authorization=_basic(token),
        **{"Accessgov-Auth-Request": "1"},
    )
    assert folded.status_code == 403 and folded["Accessgov-Status"] == "429"
    refusal = client.get(
        REFUSAL,
        headers={"Accessgov-Gateway-Key": gateway_key, "Accessgov-Refusal": folded["Accessgov-Refusal"]},
        secure=True,
    )
    assert error_of(refusal) == (429, "rate_limited") and int(refusal["Retry-After"]) > 0
    # A forged or stale refusal cannot be made to say anything else.
    forged = client.get(
        REFUSAL,
        headers={"Accessgov-Gateway-Key": gateway_key, "Accessgov-Refusal": "eyJzIjoyMDB9:x"},
        secure=True,
    )
    assert error_of(forged) == (403, "forbidden")
    stranger = client.get(REFUSAL, headers={"Accessgov-Refusal": folded["Accessgov-Refusal"]}, secure=True)
    assert error_of(stranger) == (404, "not_found")


def test_another_tenants_credential_is_judged_as_its_own_tenant(
    client, gateway_key, token, other_tenant, other_admin, policy
):
    """Attack catalogue case 8 at the gateway: a decision names only the caller's own tenant."""
    policy_actions.agree_to_policy(tenant=other_tenant, version=policy, by=other_admin, ip=None)
    rival = ThirdPartyTokenFactory(tenant=other_tenant, permissions=["Devices.Read"])
    response = ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(rival))
    assert response["Accessgov-Tenant-Id"] == str(other_tenant.pk) != str(token.tenant_id)
    assert response["Accessgov-Partner-Id"] == other_tenant.partner_id


def test_an_api_key_and_its_expiry_free_identity_pass(client, gateway_key, enabled_tenant, admin_user):
    api_key, raw = policy_actions.issue_api_key(tenant=enabled_tenant, name="PSA", by=admin_user, ip=None)
    response = ask(client, gateway_key, "GET", "/v1/devices/1", authorization=f"Bearer {raw}")
    assert response.status_code == 200 and response["Accessgov-Credential-Type"] == "ApiKey"
    assert "Accessgov-Credential-Expires" not in response


def test_an_expiring_token_says_when_in_band(client, gateway_key, enabled_tenant):
    expires = timezone.now().replace(microsecond=0) + timedelta(days=3)
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Devices.Read"], expires_at=expires)
    response = ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token))
    assert response["Accessgov-Credential-Expires"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_without_a_catalogue_file_the_gateway_knows_no_endpoint(client, gateway_key, token):
    with catalogue.using(catalogue.Catalogue()):
        assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1", authorization=_basic(token))) == (
            404,
            "not_found",
        )


def test_the_decision_endpoint_needs_no_api_user_of_its_own(client, gateway_key, tenant):
    # A tenant that never agreed to the policy: its credentials cannot exist, so nothing passes.
    ApiUserFactory(tenant=tenant, is_active=False)
    assert error_of(ask(client, gateway_key, "GET", "/v1/devices/1")) == (401, "missing_credentials")


INTROSPECT = "/gateway/v1/introspect"


def test_introspection_tells_a_resource_server_about_a_live_credential(
    client, gateway_key, enabled_tenant, contoso
):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        permissions=["Devices.Read"],
        all_organizations=False,
        organization_ids=[contoso.pk],
        allowed_ips=["192.0.2.0/24"],
        expires_at=timezone.now() + timedelta(days=1),
    )
    response = client.post(
        INTROSPECT,
        {"token": f"{token.token_id}:{token.secret}"},
        headers={"Authorization": f"Bearer {gateway_key}"},
        secure=True,
    )
    answer = response.json()
    assert answer["active"] is True and answer["scope"] == "Devices.Read"
    assert answer["client_id"] == token.token_id and answer["exp"] == int(token.expires_at.timestamp())
    assert answer["accessgov_tenant_id"] == enabled_tenant.pk
    assert answer["accessgov_partner_id"] == enabled_tenant.partner_id
    assert answer["accessgov_organizations"] == [contoso.pk]
    assert answer["accessgov_allowed_ips"] == ["192.0.2.0/24"]


def test_introspecting_anything_refused_or_unknown_says_inactive_and_nothing_more(
    client, gateway_key, enabled_tenant, admin_user
):
    revoked = ThirdPartyTokenFactory(tenant=enabled_tenant, revoked_at=timezone.now())
    _, raw_key = policy_actions.issue_api_key(tenant=enabled_tenant, name="k", by=admin_user, ip=None)
    live_key = client.post(
        INTROSPECT, {"token": raw_key}, headers={"Accessgov-Gateway-Key": gateway_key}, secure=True
    ).json()
    assert live_key["active"] is True and live_key["token_type"] == "ApiKey"
    tampered = raw_key[:-1] + ("y" if raw_key[-1] != "y" else "z")
    for value in [f"{revoked.token_id}:{revoked.secret}", tampered, "", "nonsense", "agt_x:y"]:
        response = client.post(
            INTROSPECT, {"token": value}, headers={"Accessgov-Gateway-Key": gateway_key}, secure=True
        )
        assert response.status_code == 200 and response.json() == {"active": False}, value


def test_introspection_needs_a_resource_servers_key(client, token):
    response = client.post(INTROSPECT, {"token": f"{token.token_id}:{token.secret}"}, secure=True)
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}


def test_the_api_docs_list_the_platforms_endpoints_with_their_limits_and_organization(client):
    body = client.get("/api/", secure=True).content.decode()
    assert "Test RMM, through the gateway" in body
    assert "GET /v1/devices/export" in body and "2 per 3600 s" in body
    assert "query:OrganizationId" in body


def test_me_lists_the_platforms_windows_for_the_platform_permissions_it_holds(client, enabled_tenant):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant, permissions=["Me.Read", "Devices.Read", "Scripts.Run"]
    )
    body = client.get("/api/v1/Me", HTTP_AUTHORIZATION=_basic(token), secure=True).json()
    rows = {(r["Permission"], r["Limit"], r["WindowSeconds"]) for r in body["Data"]["RateLimits"]}
    assert {("Devices.Read", 100, 3600), ("Devices.Read", 2, 3600), ("Scripts.Run", 100, 3600)} <= rows
    assert ("Me.Read", 3600, 3600) in rows and body["Data"]["Permissions"] == [
        "Devices.Read",
        "Me.Read",
        "Scripts.Run",
    ]


def test_api_answers_carry_the_draft_limit_fields_the_older_three_and_the_expiry(client, enabled_tenant):
    expires = timezone.now().replace(microsecond=0) + timedelta(days=9)
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Notify.Send"], expires_at=expires)
    response = client.post(
        "/api/v1/Notify",
        {"Message": "hello"},
        content_type="application/json",
        HTTP_AUTHORIZATION=_basic(token),
        secure=True,
    )
    assert response.status_code == 202
    assert response["RateLimit-Policy"] == (
        '"5s";q=10;w=5, "60s";q=50;w=60, "300s";q=200;w=300, "3600s";q=500;w=3600, "86400s";q=2000;w=86400'
    )
    assert response["RateLimit"].startswith('"5s";r=9;t=') and response["RateLimit"].count(";r=") == 5
    assert (response["RateLimit-Limit"], response["RateLimit-Remaining"]) == ("10", "9")
    assert response["Accessgov-Credential-Expires"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_redis_that_never_answers_does_not_hold_the_gateways_decisions(
    client, gateway_key, token, hung_redis, caplog
):
    """SECURITY.md: a hung Redis fails open quickly at the gateway too."""
    started = time.monotonic()
    answers = [
        ask(client, gateway_key, "GET", "/v1/devices/42", authorization=_basic(token)) for _ in range(3)
    ]
    elapsed = time.monotonic() - started
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert elapsed < 1, f"three decisions took {elapsed:.2f} s"
    assert "limits are off" in caplog.text
