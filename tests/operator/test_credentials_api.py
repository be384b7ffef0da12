"""GET /api/operator/v1/Credentials: the inventory over the API, with OData, for Inventory.Read only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.api.conftest import error_of
from tests.conftest import basic_auth, bearer_auth
from tests.factories import (
    ApiKeyFactory,
    ApiUserFactory,
    ThirdPartyTokenFactory,
    TrustedApplicationAuthorizationFactory,
    WebhookDestinationFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate(tenant, other_tenant, admin_user):
    now = timezone.now()
    ApiUserFactory(tenant=tenant)
    return {
        "key": ApiKeyFactory(tenant=tenant, name="PSA sync", created_by=admin_user),
        "expiring": ThirdPartyTokenFactory(
            tenant=tenant, name="Backup export", expires_at=now + timedelta(days=5)
        ),
        "other": ThirdPartyTokenFactory(tenant=other_tenant, name="Rival sync", expires_at=None),
        "authorization": TrustedApplicationAuthorizationFactory(tenant=other_tenant),
        "destination": WebhookDestinationFactory(tenant=tenant, description="SIEM"),
    }


def test_every_credential_of_every_tenant_without_a_secret(operator_api, make_operator_key, estate, tenant):
    key = make_operator_key("Inventory.Read")
    response = operator_api.get("Credentials", bearer_auth(key.raw))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["Meta"]["TotalCount"] == 5
    by_name = {row["Name"]: row for row in body["Data"]}
    assert set(by_name) == {
        "PSA sync",
        "Backup export",
        "Rival sync",
        estate["authorization"].application.name,
        "SIEM",
    }
    backup = by_name["Backup export"]
    assert backup["Type"] == "token" and backup["TenantId"] == tenant.pk and backup["Status"] == "active"
    assert backup["Identifier"] == estate["expiring"].token_id
    text = response.content.decode()
    assert estate["expiring"].digest not in text and estate["destination"].signing_secret not in text


def test_odata_filter_order_and_paging(operator_api, make_operator_key, estate, tenant):
    auth = bearer_auth(make_operator_key("Inventory.Read").raw)
    soon = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = operator_api.get(
        "Credentials", auth, params={"$filter": f"Status eq 'active' and ExpiresAt le {soon}"}
    )
    assert [row["Name"] for row in response.json()["Data"]] == ["Backup export"]

    response = operator_api.get(
        "Credentials", auth, params={"$filter": f"TenantId eq {tenant.pk}", "$orderby": "Name desc"}
    )
    assert [row["Name"] for row in response.json()["Data"]] == ["SIEM", "PSA sync", "Backup export"]

    response = operator_api.get("Credentials", auth, params={"$top": "2", "$orderby": "Name"})
    page = response.json()
    assert len(page["Data"]) == 2 and page["Meta"]["TotalCount"] == 5
    assert "%24skip=2" in page["Meta"]["NextLink"] or "$skip=2" in page["Meta"]["NextLink"]

    response = operator_api.get("Credentials", auth, params={"$filter": "contains(Name,'sync')"})
    assert {row["Name"] for row in response.json()["Data"]} == {"PSA sync", "Rival sync"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"$filter": "Secret eq 'x'"}, "$filter cannot use the field 'Secret'"),
        ({"$filter": "ExpiresAt le 'tomorrow'"}, "$filter compares ExpiresAt with a date or date-time."),
        ({"$filter": "PermissionCount eq 'all'"}, "$filter compares PermissionCount with a whole number."),
        ({"$orderby": "Digest"}, "$orderby cannot use the field 'Digest'"),
        ({"$expand": "Tenant"}, "Unknown query option $expand"),
    ],
)
def test_bad_options_get_a_clear_400(operator_api, make_operator_key, estate, options, message):
    response = operator_api.get(
        "Credentials", bearer_auth(make_operator_key("Inventory.Read").raw), params=options
    )
    assert error_of(response) == (400, "invalid_query")
    assert message in response.json()["Error"]["Message"]


def test_without_inventory_read_the_list_is_refused(operator_api, make_operator_key, estate):
    response = operator_api.get("Credentials", bearer_auth(make_operator_key("Tenants.Read").raw))
    assert error_of(response) == (403, "permission_missing")


def test_a_tenants_credential_never_reaches_the_inventory(operator_api, enabled_tenant, other_tenant):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    ThirdPartyTokenFactory(tenant=other_tenant, name="Rival sync")
    response = operator_api.get("Credentials", basic_auth(token.token_id, token.secret))
    assert response.status_code == 401
    assert "Rival sync" not in response.content.decode()


def test_query_count_does_not_grow_with_the_credentials(operator_api, make_operator_key, estate, tenant):
    auth = bearer_auth(make_operator_key("Inventory.Read").raw)
    operator_api.get("Credentials", auth)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = operator_api.get("Credentials", auth, params={"$top": "10"})
        assert response.status_code == 200
        return len(captured)

    few = queries()
    for _ in range(30):
        ThirdPartyTokenFactory(tenant=tenant)
    assert queries() == few
    # Of them, the inventory itself is two: the count and the page.
    with CaptureQueriesContext(connection) as captured:
        operator_api.get("Credentials", auth)
    assert sum("UNION ALL" in query["sql"] for query in captured.captured_queries) == 2
