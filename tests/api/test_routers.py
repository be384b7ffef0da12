"""What the endpoints of /api/v1/ answer through HTTP: organization scope, tenants kept apart, OData,
Notify, and JSON answers for unknown paths and methods.

Django's test client marked secure stands in for the TLS terminator (tests/api/conftest.py says
why); tests/api/test_api_over_tls.py keeps the proof over a real HTTPS socket.
"""

import pytest

from accessgov.audit.models import AuditEvent
from tests.api.conftest import error_of
from tests.conftest import basic_auth, enable_api
from tests.factories import AuditEventFactory, OrganizationFactory, ThirdPartyTokenFactory, UserFactory


def test_organizations_are_filtered_by_the_tokens_scope_and_another_is_not_found(
    api, enabled_tenant, contoso, fabrikam, other_tenant
):
    """Attack catalogue case 20: an organization-scoped credential sees only its organizations."""
    scoped = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        permissions=["Organizations.Read"],
        selected_organizations=True,
        organization_ids=[contoso.pk],
    )
    auth = basic_auth(scoped.token_id, scoped.secret)
    rival = OrganizationFactory(tenant=other_tenant, name="Rival Org")
    listing = api.get("Organizations", auth).json()
    assert [row["Name"] for row in listing["Data"]] == ["Contoso"]
    assert listing["Meta"]["TotalCount"] == 1
    assert api.get(f"Organizations/{contoso.pk}", auth).json()["Data"]["Name"] == "Contoso"
    assert error_of(api.get(f"Organizations/{fabrikam.pk}", auth)) == (404, "not_found")
    assert error_of(api.get(f"Organizations/{rival.pk}", auth)) == (404, "not_found")


def test_another_tenants_credential_never_sees_this_tenants_rows(api, enabled_tenant, contoso, other_tenant):
    """Attack catalogue case 8: another tenant's rows are not found."""
    enable_api(other_tenant, by=UserFactory())
    rival_token = ThirdPartyTokenFactory(
        tenant=other_tenant,
        permissions=["Organizations.Read", "AuditEvents.Read", "Me.Read", "WebhookDomains.Read"],
    )
    auth = basic_auth(rival_token.token_id, rival_token.secret)
    assert api.get("Organizations", auth).json()["Data"] == []
    assert error_of(api.get(f"Organizations/{contoso.pk}", auth)) == (404, "not_found")
    events = api.get("AuditEvents", auth).json()["Data"]
    assert all(event["Action"] == "policy.agreed" for event in events)
    assert len(events) == 1
    assert api.get("Me", auth).json()["Data"]["Tenant"]["Name"] == "Rival MSP"


def test_odata_paging_filtering_sorting_and_count(api, token, enabled_tenant):
    auth = basic_auth(token.token_id, token.secret)
    for index in range(7):
        OrganizationFactory(tenant=enabled_tenant, name=f"Org {index}")
    OrganizationFactory(tenant=enabled_tenant, name="Contoso")
    first = api.get("Organizations", auth, params={"$top": 3, "$orderby": "Name desc", "$count": "true"})
    body = first.json()
    assert [row["Name"] for row in body["Data"]] == ["Org 6", "Org 5", "Org 4"]
    assert body["Meta"]["TotalCount"] == 8
    assert body["Meta"]["NextLink"].startswith("/api/v1/Organizations?")
    second = api.get(body["Meta"]["NextLink"].removeprefix("/api/v1/"), auth).json()
    assert [row["Name"] for row in second["Data"]] == ["Org 3", "Org 2", "Org 1"]
    filtered = api.get(
        "Organizations", auth, params={"$filter": "startswith(Name,'Org') and not (Name eq 'Org 0')"}
    ).json()
    assert len(filtered["Data"]) == 6
    assert filtered["Meta"]["NextLink"] is None
    contains = api.get("Organizations", auth, params={"$filter": "contains(Name,'onto')"}).json()
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
def test_bad_odata_options_get_400_naming_the_problem(api, token, params, fragment):
    response = api.get("Organizations", basic_auth(token.token_id, token.secret), params=params)
    assert error_of(response) == (400, "invalid_query")
    assert fragment in response.json()["Error"]["Message"]


def test_notify_is_accepted_and_audited(api, token, enabled_tenant):
    response = api.post(
        "Notify", basic_auth(token.token_id, token.secret), json={"Message": "Backup finished"}
    )
    assert response.status_code == 202
    assert response.json()["Data"]["DeliveriesQueued"] == 0
    event = AuditEvent.objects.filter(tenant=enabled_tenant, action="webhook.notification_sent").get()
    assert token.token_id in event.actor_label
    assert event.ip_address == "127.0.0.1"


def test_a_bad_notify_body_gets_400_in_the_envelope(api, token):
    auth = basic_auth(token.token_id, token.secret)
    response = api.post("Notify", auth, content="{not json")
    assert error_of(response)[0] == 400
    assert error_of(api.post("Notify", auth, json={"Message": "   "}))[0] == 400


def test_unknown_paths_and_wrong_methods_answer_json_not_html(api, token):
    auth = basic_auth(token.token_id, token.secret)
    assert error_of(api.get("NoSuchThing", auth)) == (404, "not_found")
    response = api.delete("Me", auth)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("permissions", "shown"),
    [
        (["AuditEvents.Read"], None),
        (["AuditEvents.Read", "AuditEvents.ReadAddresses"], "203.0.113.7"),
    ],
)
def test_audit_events_show_administrators_addresses_only_with_the_permission_that_says_so(
    api, enabled_tenant, permissions, shown
):
    AuditEventFactory(tenant=enabled_tenant, action="token.created", ip_address="203.0.113.7")
    reader = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=permissions)
    response = api.get("AuditEvents", basic_auth(reader.token_id, reader.secret), params={"$top": 50})
    assert response.status_code == 200
    [event] = [row for row in response.json()["Data"] if row["Action"] == "token.created"]
    assert "IpAddress" in event and event["IpAddress"] == shown


def test_the_address_permission_alone_does_not_open_audit_events(api, enabled_tenant):
    reader = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["AuditEvents.ReadAddresses"])
    response = api.get("AuditEvents", basic_auth(reader.token_id, reader.secret))
    assert error_of(response) == (403, "permission_missing")
    assert "AuditEvents.Read " in response.json()["Error"]["Message"]
