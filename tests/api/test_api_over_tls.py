"""The governed REST API through a real HTTP client against a live HTTPS server."""

import base64
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.policy import actions
from tests.api.conftest import basic, trusting
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory, UserFactory


def test_me_answers_a_token_in_pascal_case_with_limit_headers(http, token, tenant):
    response = http.get("Me", auth=basic(token))
    assert response.status_code == 200
    body = response.json()
    assert body["Meta"] == {"ResponseCode": 200}
    assert body["Data"]["Tenant"] == {"Name": "Acme MSP", "PartnerId": tenant.partner_id}
    assert body["Data"]["Credential"]["Type"] == "ThirdPartyToken"
    assert body["Data"]["Credential"]["Id"] == token.token_id
    assert "Me.Read" in body["Data"]["Permissions"]
    assert {"Permission": "Notify.Send", "Limit": 10, "WindowSeconds": 5} in body["Data"]["RateLimits"]
    assert response.headers["RateLimit-Limit"] == "3600"
    assert response.headers["RateLimit-Remaining"] == "3599"
    assert 0 < int(response.headers["RateLimit-Reset"]) <= 3600
    assert response.headers["Cache-Control"] == "no-store"


def test_me_answers_an_api_key_sent_as_bearer(http, api_key):
    response = http.get("Me", headers={"Authorization": f"Bearer {api_key.raw}"})
    assert response.status_code == 200
    assert response.json()["Data"]["Credential"] == {
        "Type": "ApiKey",
        "Id": api_key.prefix,
        "Name": "Server",
        "ExpiresAt": None,
    }
    assert response.json()["Data"]["Organizations"] == "All"


def test_using_a_token_records_when_and_from_where_it_was_last_used(http, token):
    http.get("Me", auth=basic(token))
    token.refresh_from_db()
    assert token.last_used_ip == "127.0.0.1"
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["Meta"]["ResponseCode"] == response.status_code
    assert body["Error"]["Message"]
    return response.status_code, body["Error"]["Code"]


def test_an_unknown_token_and_a_wrong_secret_get_the_same_answer(http, token):
    unknown = http.get("Me", auth=("agt_000000000999", token.secret))
    wrong = http.get(
        "Me", auth=(token.token_id, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.headers["WWW-Authenticate"] == wrong.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"agt_000000000001:").decode(),
        "Digest abc",
        "Bearer agk_short",
    ],
)
def test_missing_or_garbled_credentials_get_401_with_www_authenticate(http, enabled_tenant, header):
    response = http.get("Me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json()["Error"]["Code"] in {
        "missing_credentials",
        "malformed_credentials",
        "invalid_credentials",
        "unsupported_scheme",
    }


def test_a_secret_with_a_trailing_newline_is_not_normalised(http, token):
    assert http.get("Me", auth=(token.token_id, token.secret + "\n")).status_code == 401
    assert http.get("Me", auth=(token.token_id, token.secret + " ")).status_code == 401


def test_an_oversized_authorization_header_is_refused_before_hashing(http, token):
    response = http.get("Me", headers={"Authorization": "Basic " + "A" * 5000})
    assert response.status_code == 400
    assert error_of(response) == (400, "authorization_too_long")


def test_a_revoked_token_stops_at_once(http, token, admin_user):
    assert http.get("Me", auth=basic(token)).status_code == 200
    token.revoke(by=admin_user, now=timezone.now())
    assert error_of(http.get("Me", auth=basic(token))) == (401, "token_revoked")


def test_a_token_before_its_start_date_and_after_its_expiry_is_refused(http, enabled_tenant):
    scheduled = ThirdPartyTokenFactory(tenant=enabled_tenant, scheduled=True)
    expired = ThirdPartyTokenFactory(tenant=enabled_tenant, expired=True)
    assert error_of(http.get("Me", auth=basic(scheduled))) == (401, "token_not_yet_valid")
    assert error_of(http.get("Me", auth=basic(expired))) == (401, "token_expired")


def test_a_token_from_an_ip_outside_its_allowlist_gets_403(http, enabled_tenant):
    outside = ThirdPartyTokenFactory(tenant=enabled_tenant, allowed_ips=["192.0.2.0/24"])
    inside = ThirdPartyTokenFactory(tenant=enabled_tenant, allowed_ips=["127.0.0.0/8"])
    assert error_of(http.get("Me", auth=basic(outside))) == (403, "ip_not_allowed")
    assert http.get("Me", auth=basic(inside)).status_code == 200


def test_a_missing_permission_gets_403_naming_it(http, enabled_tenant):
    me_only = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    response = http.get("Organizations", auth=basic(me_only))
    assert error_of(response) == (403, "permission_missing")
    assert "Organizations.Read" in response.json()["Error"]["Message"]


def test_turning_api_access_off_stops_tokens_and_keys_with_401(
    http, token, api_key, enabled_tenant, admin_user
):
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert error_of(http.get("Me", auth=basic(token))) == (401, "api_access_off")
    assert error_of(http.get("Me", headers={"Authorization": f"Bearer {api_key.raw}"})) == (
        401,
        "api_access_off",
    )


def test_a_deleted_api_key_stops_at_once(http, api_key, admin_user):
    assert http.get("Me", headers={"Authorization": f"Bearer {api_key.raw}"}).status_code == 200
    actions.delete_api_key(api_key=api_key, by=admin_user, ip=None)
    assert error_of(http.get("Me", headers={"Authorization": f"Bearer {api_key.raw}"})) == (
        401,
        "invalid_credentials",
    )


def test_organizations_are_filtered_by_the_tokens_scope_and_another_is_not_found(
    http, enabled_tenant, contoso, fabrikam, other_tenant
):
    scoped = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        permissions=["Organizations.Read"],
        selected_organizations=True,
        organization_ids=[contoso.pk],
    )
    rival = OrganizationFactory(tenant=other_tenant, name="Rival Org")
    listing = http.get("Organizations", auth=basic(scoped)).json()
    assert [row["Name"] for row in listing["Data"]] == ["Contoso"]
    assert listing["Meta"]["TotalCount"] == 1
    assert http.get(f"Organizations/{contoso.pk}", auth=basic(scoped)).json()["Data"]["Name"] == "Contoso"
    assert error_of(http.get(f"Organizations/{fabrikam.pk}", auth=basic(scoped))) == (404, "not_found")
    assert error_of(http.get(f"Organizations/{rival.pk}", auth=basic(scoped))) == (404, "not_found")


def test_another_tenants_credential_never_sees_this_tenants_rows(
    http, enabled_tenant, contoso, other_tenant, policy
):
    actions.agree_to_policy(tenant=other_tenant, version=policy, by=UserFactory(), ip=None)
    rival_token = ThirdPartyTokenFactory(
        tenant=other_tenant,
        permissions=["Organizations.Read", "AuditEvents.Read", "Me.Read", "WebhookDomains.Read"],
    )
    assert http.get("Organizations", auth=basic(rival_token)).json()["Data"] == []
    assert error_of(http.get(f"Organizations/{contoso.pk}", auth=basic(rival_token))) == (404, "not_found")
    events = http.get("AuditEvents", auth=basic(rival_token)).json()["Data"]
    assert all(event["Action"] == "policy.agreed" for event in events)
    assert len(events) == 1
    assert http.get("Me", auth=basic(rival_token)).json()["Data"]["Tenant"]["Name"] == "Rival MSP"


def test_odata_paging_filtering_sorting_and_count(http, token, enabled_tenant):
    for index in range(7):
        OrganizationFactory(tenant=enabled_tenant, name=f"Org {index}")
    OrganizationFactory(tenant=enabled_tenant, name="Contoso")
    first = http.get(
        "Organizations", auth=basic(token), params={"$top": 3, "$orderby": "Name desc", "$count": "true"}
    )
    body = first.json()
    assert [row["Name"] for row in body["Data"]] == ["Org 6", "Org 5", "Org 4"]
    assert body["Meta"]["TotalCount"] == 8
    assert body["Meta"]["NextLink"].startswith("/api/v1/Organizations?")
    second = http.get(body["Meta"]["NextLink"].removeprefix("/api/v1/"), auth=basic(token)).json()
    assert [row["Name"] for row in second["Data"]] == ["Org 3", "Org 2", "Org 1"]
    filtered = http.get(
        "Organizations",
        auth=basic(token),
        params={"$filter": "startswith(Name,'Org') and not (Name eq 'Org 0')"},
    ).json()
    assert len(filtered["Data"]) == 6
    assert filtered["Meta"]["NextLink"] is None
    contains = http.get(
        "Organizations", auth=basic(token), params={"$filter": "contains(Name,'onto')"}
    ).json()
    assert [row["Name"] for row in contains["Data"]] == ["Contoso"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"$filter": "Secret eq 'x'"}, "cannot use the field 'Secret'"),
        ({"$filter": "Name eq"}, "not valid OData"),
        ({"$filter": "tolower(Name) eq 'x'"}, "cannot call 'tolower'"),
        ({"$orderby": "Name sideways"}, "asc or desc"),
        ({"$orderby": "TenantId"}, "cannot use the field 'TenantId'"),
        ({"$top": "501"}, "$top must be between 0 and 500"),
        ({"$top": "-1"}, "$top must be a whole number"),
        ({"$skip": "x"}, "$skip must be a whole number"),
        ({"$count": "maybe"}, "$count must be true or false"),
        ({"$expand": "Tenant"}, "Unknown query option $expand"),
    ],
)
def test_bad_odata_options_get_400_naming_the_problem(http, token, params, fragment):
    response = http.get("Organizations", auth=basic(token), params=params)
    assert error_of(response) == (400, "invalid_query")
    assert fragment in response.json()["Error"]["Message"]


def test_notify_is_accepted_and_audited(http, token, enabled_tenant):
    response = http.post("Notify", auth=basic(token), json={"Message": "Backup finished"})
    assert response.status_code == 202
    assert response.json()["Data"]["DeliveriesQueued"] == 0
    event = AuditEvent.objects.filter(tenant=enabled_tenant, action="webhook.notification_sent").get()
    assert token.token_id in event.actor_label
    assert event.ip_address == "127.0.0.1"


def test_a_bad_notify_body_gets_400_in_the_envelope(http, token):
    response = http.post(
        "Notify", auth=basic(token), content="{not json", headers={"Content-Type": "application/json"}
    )
    assert error_of(response)[0] == 400
    assert error_of(http.post("Notify", auth=basic(token), json={"Message": "   "}))[0] == 400


def test_unknown_paths_and_wrong_methods_answer_json_not_html(http, token):
    assert error_of(http.get("NoSuchThing", auth=basic(token))) == (404, "not_found")
    response = http.delete("Me", auth=basic(token))
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"


def test_a_console_session_cookie_is_not_a_credential(http, admin_client, enabled_tenant):
    session_cookie = admin_client.cookies["sessionid"].value
    response = http.get("Me", headers={"Cookie": f"sessionid={session_cookie}"})
    assert error_of(response) == (401, "missing_credentials")


def test_a_key_in_the_query_string_is_ignored(http, api_key):
    response = http.get("Me", params={"api_key": api_key.raw})
    assert error_of(response) == (401, "missing_credentials")


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(3, 3600)], "Notify.Send": [(2, 5), (50, 60)]})
def test_over_the_rate_limit_the_answer_is_429_with_retry_after(http, token):
    # Fixed windows are aligned to the clock: start 10 s into an hour so no window edge is crossed.
    start = timezone.now().replace(minute=0, second=10, microsecond=0) + timedelta(hours=1)
    with time_machine.travel(start, tick=True):
        _exhaust_the_limits(http, token)


def _exhaust_the_limits(http, token):
    remaining = [http.get("Me", auth=basic(token)).headers["RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    limited = http.get("Me", auth=basic(token))
    assert error_of(limited) == (429, "rate_limited")
    assert 0 < int(limited.headers["Retry-After"]) <= 3600
    # Each endpoint's limit is its own: Notify counts separately, in all its windows at once.
    assert http.post("Notify", auth=basic(token), json={"Message": "a"}).status_code == 202
    assert http.post("Notify", auth=basic(token), json={"Message": "b"}).status_code == 202
    third = http.post("Notify", auth=basic(token), json={"Message": "c"})
    assert third.status_code == 429
    assert int(third.headers["Retry-After"]) <= 5


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_after_repeated_failures_the_ip_is_blocked_even_with_a_valid_token(http, token):
    for _ in range(2):
        assert http.get("Me", auth=(token.token_id, "wrong")).status_code == 401
    assert http.get("Me", auth=basic(token)).status_code == 200
    assert http.get("NoSuchThing", auth=basic(token)).status_code == 404  # the third failure
    blocked = http.get("Me", auth=basic(token))
    assert error_of(blocked) == (429, "ip_blocked")
    assert 55 <= int(blocked.headers["Retry-After"]) <= 60
    assert http.get("NoSuchThing").status_code == 429


def test_plain_http_is_refused_with_403_before_credentials_and_never_redirected(live_server, token):
    response = httpx.get(f"{live_server.url}/api/v1/Me", auth=basic(token), follow_redirects=False)
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "https_required"


def test_the_docs_and_the_schema_are_served(tls_server, ca_file):
    docs = httpx.get(f"{tls_server}/api/", verify=trusting(ca_file))
    assert docs.status_code == 200
    assert "Invoke-RestMethod" in docs.text and "curl -sS -u" in docs.text and "requests.get(" in docs.text
    schema = httpx.get(f"{tls_server}/api/openapi.json", verify=trusting(ca_file)).json()
    assert set(schema["paths"]) >= {"/api/v1/Me", "/api/v1/Organizations", "/api/v1/Notify"}
    assert schema["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
