"""Settings > API › Trusted Applications: the list, Revoke authorization, and who may see them."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken, RefreshToken

from accessgov.audit.models import AuditEvent
from accessgov.policy import actions
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.conftest import counted_queries
from tests.factories import TrustedApplicationAuthorizationFactory, TrustedApplicationFactory
from tests.trusted.conftest import refresh, tokens_for

TAB = "/t/acme/settings/api/trusted-apps/"


def test_the_tab_lists_the_applications_with_what_they_ask_and_the_authorizations(
    admin_client, admin_user, enabled_tenant, app, contoso
):
    TrustedApplicationFactory(name="Hidden", is_enabled=False)
    tokens_for(admin_client, app, [contoso])
    body = admin_client.get(TAB).content.decode()
    assert "Trusted Applications" in body and 'aria-current="page">Trusted Applications' in body
    assert "PSA Connector" in body and "Organizations you choose" in body
    assert "List and read organizations" in body
    assert "Hidden" not in body
    assert "by acme-admin" in body and "Contoso" in body and "Revoke authorization" in body


def test_the_tab_says_why_authorizing_is_off_until_the_policy_is_agreed(admin_client, tenant, app):
    body = admin_client.get(TAB).content.decode()
    assert "Authorizing is disabled until an administrator agrees to the API Policy" in body


def test_the_authorization_list_is_a_fragment_with_htmx(admin_client, enabled_tenant, app):
    response = admin_client.get(TAB, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="authorization-list">')
    assert "<html" not in body


def _queries_for(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(TAB).status_code == 200
    return len(counted_queries(queries.captured_queries))


def test_the_tab_costs_the_same_queries_for_one_row_and_thirty(admin_client, enabled_tenant, contoso):
    TrustedApplicationAuthorizationFactory(
        tenant=enabled_tenant, all_organizations=False, organization_ids=[contoso.pk]
    )
    one = _queries_for(admin_client)
    for _ in range(29):
        TrustedApplicationAuthorizationFactory(
            tenant=enabled_tenant, all_organizations=False, organization_ids=[contoso.pk], revoked=True
        )
    assert _queries_for(admin_client) == one


def test_the_list_is_paginated(admin_client, enabled_tenant):
    for _ in range(30):
        TrustedApplicationAuthorizationFactory(tenant=enabled_tenant)
    body = admin_client.get(TAB).content.decode()
    assert "Page 1 of 2" in body
    assert "Page 2 of 2" in admin_client.get(TAB + "?page=2").content.decode()


def test_revoke_asks_first_then_stops_the_tokens_and_audits(
    admin_client, admin_user, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    authorization = TrustedApplicationAuthorization.objects.get()
    url = f"{TAB}{authorization.pk}/revoke/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "Revoke the authorization of PSA Connector?" in page.content.decode()
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None
    assert admin_client.post(url, {}).status_code == 400
    response = admin_client.post(url, {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == TAB
    authorization.refresh_from_db()
    assert authorization.revoked_at is not None and authorization.revoked_by == admin_user
    assert not AccessToken.objects.exists()
    assert RefreshToken.objects.get().revoked is not None
    assert refresh(Client(), app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    event = AuditEvent.objects.get(action="trusted_app.revoked")
    assert event.actor == admin_user and event.details["access_tokens_revoked"] == 1
    assert "Revoked" in admin_client.get(TAB).content.decode()
    # A second revocation changes nothing.
    admin_client.post(url, {"confirm": "on"})
    assert AuditEvent.objects.filter(action="trusted_app.revoked").count() == 1


def test_turning_api_access_off_refuses_refresh(admin_client, admin_user, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    assert refresh(Client(), app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.fixture
def authorization(enabled_tenant):
    return TrustedApplicationAuthorizationFactory(tenant=enabled_tenant)


def _urls(authorization) -> list[tuple[str, str]]:
    return [
        ("get", TAB),
        ("get", f"{TAB}authorize/"),
        ("get", f"{TAB}{authorization.pk}/"),
        ("get", f"{TAB}{authorization.pk}/revoke/"),
        ("post", f"{TAB}{authorization.pk}/revoke/"),
    ]


def test_another_tenants_administrator_gets_404_on_every_trusted_apps_url(other_admin_client, authorization):
    for method, url in _urls(authorization):
        assert getattr(other_admin_client, method)(url, {"confirm": "on"}).status_code == 404, url
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None


def test_an_administrator_cannot_reach_another_tenants_authorization_through_their_own_tenant(
    other_admin_client, authorization, other_tenant
):
    assert (
        other_admin_client.get(f"/t/rival/settings/api/trusted-apps/{authorization.pk}/").status_code == 404
    )
    url = f"/t/rival/settings/api/trusted-apps/{authorization.pk}/revoke/"
    assert other_admin_client.get(url).status_code == 404
    assert other_admin_client.post(url, {"confirm": "on"}).status_code == 404
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None


def test_a_technician_gets_403_on_every_trusted_apps_url(tech_client, authorization):
    for method, url in _urls(authorization):
        response = getattr(tech_client, method)(url, {"confirm": "on"})
        assert response.status_code == 403, url
        assert "Administrators only" in response.content.decode()
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None


def test_revoke_by_get_changes_nothing(admin_client, authorization):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    admin_client.get(f"{TAB}{authorization.pk}/revoke/?confirm=on")
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None


def test_revoke_needs_the_csrf_token(admin_user, authorization):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(f"{TAB}{authorization.pk}/revoke/", {"confirm": "on"}).status_code == 403
    assert TrustedApplicationAuthorization.objects.get().revoked_at is None


def test_a_logo_is_escaped_and_only_https(admin_client, enabled_tenant):
    """Attack catalogue case 41: markup is escaped, never a link."""
    TrustedApplicationFactory(name="<script>alert(1)</script>", logo_url="https://cdn.example.com/logo.png")
    body = admin_client.get(TAB).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert 'src="https://cdn.example.com/logo.png"' in body
