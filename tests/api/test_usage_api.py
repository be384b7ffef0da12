"""GET /api/v1/Usage and Usage/Addresses: the console's numbers for integrators, the tenant's only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accessgov.usage import reading
from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage
from tests.api.conftest import error_of
from tests.conftest import basic_auth, bearer_auth, enable_api
from tests.factories import (
    ThirdPartyTokenFactory,
    TrustedApplicationAuthorizationFactory,
    TrustedApplicationFactory,
    UserFactory,
)
from tests.trusted.conftest import tokens_for

OFFICE = "203.0.113.10"
HOME = "2001:db8::7"


def _call(api, path, authorization, ip=OFFICE, **params):
    return api.client.get(
        "/api/v1/" + path, params, secure=True, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=authorization
    )


def _auth(token) -> str:
    return basic_auth(token.token_id, token.secret)


@pytest.fixture
def reader(enabled_tenant):
    """A token of the tenant that may read its usage and the addresses in it, and nothing else."""
    return ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="Usage reader", permissions=["Usage.Read", "Usage.ReadAddresses"]
    )


@pytest.fixture
def worker(enabled_tenant):
    return ThirdPartyTokenFactory(tenant=enabled_tenant, name="Backup sync", permissions=["Me.Read"])


def _usage(api, reader, **params) -> list[dict]:
    response = _call(api, "Usage", _auth(reader), **params)
    assert response.status_code == 200, response.content
    return response.json()["Data"]


def _counts(rows) -> dict[tuple[str, str, str, str], int]:
    return {(r["CredentialType"], r["CredentialId"], r["Endpoint"], r["Outcome"]): r["Calls"] for r in rows}


def _add_usage(
    credential_type, credential, *, day=None, endpoint="GET Me", outcome="allowed", calls=1, tenant=None
):
    return CredentialUsage.objects.create(
        tenant=tenant or credential.tenant,
        credential_type=credential_type,
        credential_id=credential.pk,
        day=day or reading.today(),
        endpoint=endpoint,
        permission="Me.Read",
        outcome=outcome,
        calls=calls,
    )


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(1000, 60)], "Me.Read": [(3, 60)]})
def test_usage_counts_the_calls_made_through_the_api_as_the_console_does(store, api, reader, worker, api_key):
    for _ in range(4):
        _call(api, "Me", _auth(worker))
    assert _call(api, "Organizations", _auth(worker)).status_code == 403
    assert _call(api, "Me", basic_auth(worker.token_id, "not-the-secret")).status_code == 401
    for _ in range(2):
        me = _call(api, "Me", bearer_auth(api_key.raw), ip=HOME)
        assert me.status_code == 200
    assert (me.json()["Data"]["Credential"]["Type"], me.json()["Data"]["Credential"]["Id"]) == (
        "ApiKey",
        api_key.prefix,
    )

    rows = _usage(api, reader)
    today = reading.today().isoformat()
    assert {row["Day"] for row in rows} == {today}
    assert _counts(rows) == {
        ("ThirdPartyToken", worker.token_id, "GET Me", "allowed"): 3,
        ("ThirdPartyToken", worker.token_id, "GET Me", "rate_limited"): 1,
        ("ThirdPartyToken", worker.token_id, "GET Organizations", "permission_missing"): 1,
        ("ThirdPartyToken", worker.token_id, "GET Me", "invalid_credentials"): 1,
        ("ApiKey", api_key.prefix, "GET Me", "allowed"): 2,
        # The call that reads the usage is counted before it is answered, like any other.
        ("ThirdPartyToken", reader.token_id, "GET Usage", "allowed"): 1,
    }
    by_id = {row["CredentialId"]: row for row in rows}
    assert by_id[worker.token_id]["CredentialName"] == "Backup sync"
    assert by_id[api_key.prefix]["CredentialName"] == "Server"
    assert by_id[api_key.prefix]["Permission"] == "Me.Read"
    # The console's page of each credential shows the same lines.
    for kind, credential, api_id in (
        (CredentialType.TOKEN, worker, worker.token_id),
        (CredentialType.API_KEY, api_key, api_key.prefix),
    ):
        lines = reading.report(kind, credential.pk, credential.tenant_id).lines
        assert {(line.endpoint, line.outcome): line.calls for line in lines} == {
            (endpoint, outcome): calls
            for (_, credential_id, endpoint, outcome), calls in _counts(rows).items()
            if credential_id == api_id
        }
    again = _counts(_usage(api, reader))
    assert again[("ThirdPartyToken", reader.token_id, "GET Usage", "allowed")] == 2


def test_usage_filters_by_credential_outcome_and_endpoint(api, reader, worker, api_key):
    _add_usage(CredentialType.TOKEN, worker, calls=5)
    _add_usage(CredentialType.TOKEN, worker, outcome="ip_not_allowed", calls=2)
    _add_usage(CredentialType.API_KEY, api_key, endpoint="GET Organizations", calls=7)
    mine = _usage(api, reader, **{"$filter": f"CredentialId eq '{worker.token_id}'"})
    assert sorted((r["Outcome"], r["Calls"]) for r in mine) == [("allowed", 5), ("ip_not_allowed", 2)]
    refused = _usage(api, reader, **{"$filter": "Outcome ne 'allowed'"})
    assert [(r["CredentialId"], r["Outcome"]) for r in refused] == [(worker.token_id, "ip_not_allowed")]
    keys = _usage(
        api, reader, **{"$filter": "CredentialType eq 'ApiKey' and Endpoint eq 'GET Organizations'"}
    )
    assert [(r["CredentialId"], r["Calls"]) for r in keys] == [(api_key.prefix, 7)]
    named = _usage(api, reader, **{"$filter": "contains(CredentialName,'Backup')"})
    assert {r["CredentialId"] for r in named} == {worker.token_id}


def test_without_a_day_in_the_filter_the_last_30_days_are_listed_newest_first(api, reader, worker):
    today = reading.today()
    for age in (0, 29, 30):
        _add_usage(CredentialType.TOKEN, worker, day=today - timedelta(days=age), calls=age + 1)
    shown = _usage(api, reader, **{"$filter": f"CredentialId eq '{worker.token_id}'"})
    assert [(r["Day"], r["Calls"]) for r in shown] == [
        (today.isoformat(), 1),
        ((today - timedelta(days=29)).isoformat(), 30),
    ]
    since = (today - timedelta(days=31)).isoformat()
    longer = _usage(
        api,
        reader,
        **{"$filter": f"CredentialId eq '{worker.token_id}' and Day ge {since}", "$orderby": "Day"},
    )
    assert [r["Calls"] for r in longer] == [31, 30, 1]
    one = _usage(api, reader, **{"$filter": f"Day eq {(today - timedelta(days=30)).isoformat()}"})
    assert [r["Calls"] for r in one] == [31]


def test_a_trusted_application_is_named_by_its_client_id_and_its_authorizations_add_up(
    api, reader, enabled_tenant, admin_client, contoso
):
    app = TrustedApplicationFactory(name="PSA Connector", permissions=["Me.Read", "Organizations.Read"])
    access_token = tokens_for(admin_client, app, [contoso])["access_token"]
    me = _call(api, "Me", bearer_auth(access_token)).json()["Data"]["Credential"]
    assert _call(api, "Organizations", bearer_auth(access_token)).status_code == 200
    # An earlier authorization of the same application, revoked since: the same credential to the tenant.
    earlier = TrustedApplicationAuthorizationFactory(tenant=enabled_tenant, application=app, revoked=True)
    _add_usage(CredentialType.AUTHORIZATION, earlier, calls=4)
    CredentialAddress.objects.create(
        tenant=enabled_tenant,
        credential_type=CredentialType.AUTHORIZATION,
        credential_id=earlier.pk,
        address=OFFICE,
        first_seen=timezone.now() - timedelta(days=3),
        last_seen=timezone.now() - timedelta(days=2),
        last_endpoint="GET Organizations",
    )
    client_id = app.oauth_application.client_id
    rows = _usage(api, reader, **{"$filter": "CredentialType eq 'TrustedApplication'"})
    assert _counts(rows) == {
        ("TrustedApplication", client_id, "GET Me", "allowed"): 5,
        ("TrustedApplication", client_id, "GET Organizations", "allowed"): 1,
    }
    assert {row["CredentialName"] for row in rows} == {"PSA Connector"}
    # Named as GET Me names the caller.
    assert {(row["CredentialType"], row["CredentialId"]) for row in rows} == {(me["Type"], me["Id"])}
    response = _call(api, "Usage/Addresses", _auth(reader), **{"$filter": f"CredentialId eq '{client_id}'"})
    [address] = response.json()["Data"]
    assert (address["Address"], address["CredentialType"]) == (OFFICE, "TrustedApplication")
    assert address["LastEndpoint"] == "GET Organizations"  # the newer authorization's last call
    assert address["FirstSeen"] < address["LastSeen"]
    since = (timezone.now() - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    recent = _call(
        api, "Usage/Addresses", _auth(reader), **{"$filter": f"LastSeen ge {since}", "$orderby": "LastSeen"}
    )
    assert [(row["CredentialId"], row["LastEndpoint"]) for row in recent.json()["Data"]] == [
        (client_id, "GET Organizations"),
        (reader.token_id, "GET Usage/Addresses"),
    ]


def test_addresses_are_listed_last_seen_first_as_the_console_shows_them(store, api, reader, worker):
    _call(api, "Me", _auth(worker), ip=HOME)
    _call(api, "Me", _auth(worker), ip=OFFICE)
    response = _call(
        api, "Usage/Addresses", _auth(reader), **{"$filter": f"CredentialId eq '{worker.token_id}'"}
    )
    assert response.status_code == 200
    rows = response.json()["Data"]
    report = reading.report(CredentialType.TOKEN, worker.pk, worker.tenant_id)
    assert [row["Address"] for row in rows] == [a.address for a in report.addresses] == [OFFICE, HOME]
    assert all(row["LastEndpoint"] == "GET Me" and row["CredentialName"] == "Backup sync" for row in rows)
    assert all(row["FirstSeen"] <= row["LastSeen"] for row in rows)
    everyone = _call(api, "Usage/Addresses", _auth(reader)).json()["Data"]
    assert {(row["CredentialId"], row["Address"]) for row in everyone} == {
        (worker.token_id, OFFICE),
        (worker.token_id, HOME),
        (reader.token_id, OFFICE),
    }
    assert (
        everyone[0]["CredentialId"] == reader.token_id
        and everyone[0]["LastEndpoint"] == "GET Usage/Addresses"
    )


def test_another_tenants_credential_never_sees_this_tenants_usage(api, reader, worker, other_tenant):
    """Attack catalogue case 8: another tenant's rows are not found, by list or by id."""
    _add_usage(CredentialType.TOKEN, worker, calls=3)
    CredentialAddress.objects.create(
        tenant=worker.tenant,
        credential_type=CredentialType.TOKEN,
        credential_id=worker.pk,
        address=OFFICE,
        first_seen=timezone.now(),
        last_seen=timezone.now(),
        last_endpoint="GET Me",
    )
    enable_api(other_tenant, by=UserFactory())
    rival = ThirdPartyTokenFactory(tenant=other_tenant, permissions=["Usage.Read"])
    # A row of the rival tenant that names this tenant's token by its primary key (no such row is
    # ever written): a row is named only by a credential of its own tenant.
    _add_usage(CredentialType.TOKEN, worker, tenant=other_tenant, endpoint="GET Organizations", calls=9)
    for path in ("Usage", "Usage/Addresses"):
        seen = _call(api, path, _auth(rival)).json()["Data"]
        assert {row["CredentialId"] for row in seen} <= {rival.token_id}
        for credential_id in (worker.token_id, "agt_000000000000"):
            response = _call(api, path, _auth(rival), **{"$filter": f"CredentialId eq '{credential_id}'"})
            assert response.status_code == 200
            assert response.json()["Data"] == [] and response.json()["Meta"]["TotalCount"] == 0
    assert _counts(_usage(api, reader))[("ThirdPartyToken", worker.token_id, "GET Me", "allowed")] == 3


@pytest.mark.parametrize("path", ["Usage", "Usage/Addresses"])
def test_a_credential_without_usage_read_is_refused_naming_the_permission(api, worker, path):
    response = _call(api, path, _auth(worker))
    assert error_of(response) == (403, "permission_missing")
    assert response.json()["Error"]["Message"] == (
        "This token lacks the permission Usage.Read (Read how often each credential called the API). "
        "An administrator can add it under Edit Permissions."
    )


def test_addresses_are_shown_only_with_the_widening_permission(api, enabled_tenant, worker):
    """Client addresses are personal data: Usage.Read alone lists when and what, never where from."""
    _call(api, "Me", _auth(worker), ip=HOME)
    plain = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Usage.Read"])
    response = _call(
        api, "Usage/Addresses", _auth(plain), **{"$filter": f"CredentialId eq '{worker.token_id}'"}
    )
    [row] = response.json()["Data"]
    assert row["Address"] is None and row["LastEndpoint"] == "GET Me"
    assert HOME not in response.content.decode()
    refused = _call(api, "Usage/Addresses", _auth(plain), **{"$filter": f"Address eq '{HOME}'"})
    assert error_of(refused)[0] == 400


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("Usage", {"$filter": "Calls gt 3"}, "cannot use the field 'Calls'"),
        ("Usage", {"$filter": "TenantId eq 1"}, "cannot use the field 'TenantId'"),
        ("Usage", {"$filter": "Day ge 2026-11-01T00:00:00Z"}, "compares Day with a date such as 2026-11-30"),
        ("Usage", {"$filter": "Day eq 'yesterday'"}, "compares Day with a date such as 2026-11-30"),
        ("Usage", {"$filter": "CredentialId eq 7"}, "compares CredentialId with a 'quoted string'"),
        ("Usage", {"$filter": "Outcome eq"}, "not valid OData"),
        ("Usage", {"$orderby": "Calls desc"}, "cannot use the field 'Calls'"),
        ("Usage/Addresses", {"$filter": "LastEndpoint eq 'GET Me'"}, "cannot use the field 'LastEndpoint'"),
        ("Usage/Addresses", {"$filter": "LastSeen ge 'today'"}, "compares LastSeen with a date or date-time"),
    ],
)
def test_a_bad_query_gets_400_naming_the_problem(api, reader, path, params, fragment):
    response = _call(api, path, _auth(reader), **params)
    assert error_of(response) == (400, "invalid_query")
    assert fragment in response.json()["Error"]["Message"]


def _many_credentials(tenant, count: int) -> list:
    tokens = ThirdPartyTokenFactory.create_batch(count, tenant=tenant, permissions=["Me.Read"])
    for token in tokens:
        for age in (0, 1):
            _add_usage(CredentialType.TOKEN, token, day=reading.today() - timedelta(days=age))
            _add_usage(
                CredentialType.TOKEN, token, day=reading.today() - timedelta(days=age), outcome="rate_limited"
            )
    return tokens


def test_pages_follow_next_links_without_overlap(api, reader, enabled_tenant):
    tokens = _many_credentials(enabled_tenant, 6)
    seen, path, pages = [], "Usage?$top=5&$filter=Endpoint eq 'GET Me'", 0
    while path:
        body = _call(api, path, _auth(reader)).json()
        assert body["Meta"]["TotalCount"] == 24
        seen += [(r["Day"], r["CredentialId"], r["Outcome"]) for r in body["Data"]]
        path = (body["Meta"]["NextLink"] or "").removeprefix("/api/v1/")
        pages += 1
    assert pages == 5 and len(seen) == len(set(seen)) == 24
    assert {credential_id for _, credential_id, _ in seen} == {token.token_id for token in tokens}
    assert [day for day, _, _ in seen] == sorted((day for day, _, _ in seen), reverse=True)


def _seen_from(tokens, address: str) -> None:
    for token in tokens:
        CredentialAddress.objects.create(
            tenant=token.tenant,
            credential_type=CredentialType.TOKEN,
            credential_id=token.pk,
            address=address,
            first_seen=timezone.now(),
            last_seen=timezone.now(),
            last_endpoint="GET Me",
        )


@pytest.mark.parametrize(("path", "reads"), [("Usage", 2), ("Usage/Addresses", 3)])
def test_the_query_count_is_pinned_whatever_the_rows_credentials_or_page(
    store, api, reader, enabled_tenant, path, reads
):
    """The list costs its count, its page and (addresses) the page's last endpoints; the rest is the
    gate and bringing the caller's own counts up to date, which differ between Redis and the
    database cache but never grow with the rows."""

    def queries(top: int) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            assert _call(api, f"{path}?$top={top}", _auth(reader)).status_code == 200
        # The list's own queries name credentials as the API does; nothing else does.
        listing = [query for query in captured.captured_queries if "'ThirdPartyToken'" in query["sql"]]
        return len(captured.captured_queries), len(listing)

    _seen_from(_many_credentials(enabled_tenant, 2), OFFICE)
    _call(api, path, _auth(reader))  # the first read writes what was counted before it
    few = queries(2)
    assert few[1] == reads
    _seen_from(_many_credentials(enabled_tenant, 20), HOME)
    assert queries(100) == few
    assert queries(2) == few


def test_a_real_http_client_reads_the_usage_over_tls(http, reader, worker):
    assert http.get("Me", headers={"Authorization": _auth(worker)}).status_code == 200
    response = http.get(
        "Usage",
        params={"$filter": f"CredentialId eq '{worker.token_id}'"},
        headers={"Authorization": _auth(reader)},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["Meta"] == {"ResponseCode": 200, "TotalCount": 1, "NextLink": None}
    assert body["Data"] == [
        {
            "CredentialType": "ThirdPartyToken",
            "CredentialId": worker.token_id,
            "CredentialName": "Backup sync",
            "Day": reading.today().isoformat(),
            "Endpoint": "GET Me",
            "Permission": "Me.Read",
            "Outcome": "allowed",
            "Calls": 1,
        }
    ]
