"""Trusted applications' access tokens on /api/v1/: permissions, organizations, limits, revocation."""

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accessgov.policy import actions
from accessgov.trusted import actions as trusted
from accessgov.trusted import oauth
from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.conftest import bearer_auth, enable_api
from tests.factories import OrganizationFactory, TrustedApplicationFactory
from tests.trusted.conftest import refresh, tokens_for

API = "/api/v1/"


def _get(path: str, access_token: str, **params):
    return Client().get(API + path, params, headers={"Authorization": bearer_auth(access_token)}, secure=True)


def test_me_says_the_caller_is_a_trusted_application(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    response = _get("Me", tokens["access_token"])
    assert response.status_code == 200
    data = response.json()["Data"]
    assert data["Credential"]["Type"] == "TrustedApplication"
    assert data["Credential"]["Name"] == "PSA Connector"
    assert data["Credential"]["Id"] == app.oauth_application.client_id
    assert data["Tenant"]["PartnerId"] == enabled_tenant.partner_id
    assert data["Permissions"] == ["Me.Read", "Organizations.Read"]
    assert data["Organizations"] == [contoso.pk]
    authorization = TrustedApplicationAuthorization.objects.get()
    assert authorization.last_used_at is not None and authorization.last_used_ip == "127.0.0.1"


def test_organizations_are_those_granted_and_another_is_not_found(
    admin_client, enabled_tenant, app, contoso, fabrikam, other_tenant
):
    """Attack catalogue case 20: an organization-scoped credential sees only its organizations."""
    tokens = tokens_for(admin_client, app, [contoso])
    rival = OrganizationFactory(tenant=other_tenant)
    listing = _get("Organizations", tokens["access_token"]).json()
    assert [row["Name"] for row in listing["Data"]] == ["Contoso"]
    assert _get(f"Organizations/{fabrikam.pk}", tokens["access_token"]).status_code == 404
    assert _get(f"Organizations/{rival.pk}", tokens["access_token"]).status_code == 404


def test_a_permission_not_granted_is_403_naming_it(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    response = _get("AuditEvents", tokens["access_token"])
    assert response.status_code == 403
    assert response.json()["Error"]["Code"] == "permission_missing"
    assert "AuditEvents.Read" in response.json()["Error"]["Message"]


def test_a_refreshed_narrower_token_has_only_its_scope(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    narrower = refresh(Client(), app, tokens["refresh_token"], scope="Me.Read").json()
    assert _get("Me", narrower["access_token"]).json()["Data"]["Permissions"] == ["Me.Read"]
    assert _get("Organizations", narrower["access_token"]).status_code == 403


@pytest.mark.parametrize(
    "header",
    ["Bearer agat_nope", "Bearer agat_" + "A" * 61, "Bearer " + "x" * 40],
)
def test_a_malformed_or_unknown_access_token_is_401(enabled_tenant, header):
    response = Client().get(API + "Me", headers={"Authorization": header}, secure=True)
    assert response.status_code == 401
    assert response.json()["Error"]["Code"] == "invalid_credentials"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_well_formed_access_token_is_401(enabled_tenant):
    response = _get("Me", oauth.generate_access_token())
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "invalid_credentials"


def test_an_expired_access_token_is_401(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    AccessToken.objects.update(expires=timezone.now())
    response = _get("Me", tokens["access_token"])
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "token_expired"


def test_revoking_the_authorization_stops_the_token_at_once(
    admin_client, admin_user, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    assert _get("Me", tokens["access_token"]).status_code == 200
    trusted.revoke_authorization(
        authorization=TrustedApplicationAuthorization.objects.get(), by=admin_user, ip=None
    )
    assert _get("Me", tokens["access_token"]).status_code == 401


def test_turning_api_access_off_stops_the_token_and_agreeing_again_restores_it(
    admin_client, admin_user, enabled_tenant, app, contoso, policy
):
    tokens = tokens_for(admin_client, app, [contoso])
    actions.disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    response = _get("Me", tokens["access_token"])
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "api_access_off"
    actions.agree_to_policy(tenant=enabled_tenant, version=policy, by=admin_user, ip=None)
    assert _get("Me", tokens["access_token"]).status_code == 200


def test_deactivating_the_tenant_stops_the_token_and_its_refresh_and_reactivating_restores_them(
    admin_client, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    enabled_tenant.is_active = False
    enabled_tenant.save()
    response = _get("Me", tokens["access_token"])
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "tenant_deactivated"
    assert refresh(Client(), app, tokens["refresh_token"]).status_code == 400
    enabled_tenant.is_active = True
    enabled_tenant.save()
    assert _get("Me", tokens["access_token"]).status_code == 200


def test_a_disabled_application_is_refused(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    app.is_enabled = False
    app.save()
    response = _get("Me", tokens["access_token"])
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "authorization_revoked"


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(2, 3600)]})
def test_refreshing_does_not_reset_the_rate_limit(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    assert _get("Me", tokens["access_token"]).status_code == 200
    renewed = refresh(Client(), app, tokens["refresh_token"]).json()
    assert _get("Me", renewed["access_token"]).status_code == 200
    limited = _get("Me", renewed["access_token"])
    assert limited.status_code == 429 and limited.json()["Error"]["Code"] == "rate_limited"


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_failed_access_tokens_count_towards_the_ip_block(admin_client, enabled_tenant, app, contoso):
    tokens = tokens_for(admin_client, app, [contoso])
    for _ in range(3):
        assert _get("Me", oauth.generate_access_token()).status_code == 401
    blocked = _get("Me", tokens["access_token"])
    assert blocked.status_code == 429 and blocked.json()["Error"]["Code"] == "ip_blocked"


def test_an_access_token_of_another_tenant_sees_only_its_tenant(
    admin_client, other_admin_client, enabled_tenant, other_tenant, app, contoso
):
    from accessgov.policy.models import ApiUser
    from tests.factories import UserFactory

    enable_api(other_tenant, by=UserFactory())
    assert ApiUser.objects.count() == 2
    everything = TrustedApplicationFactory(all_organizations=True)
    rival_org = OrganizationFactory(tenant=other_tenant, name="Rival Org")
    from tests.trusted.conftest import authorize, exchange, make_pkce

    pkce = make_pkce()
    code = authorize(other_admin_client, everything, pkce, slug="rival")
    tokens = exchange(Client(), everything, code, pkce.verifier).json()
    names = [row["Name"] for row in _get("Organizations", tokens["access_token"]).json()["Data"]]
    assert names == ["Rival Org"] and rival_org.pk
    assert _get(f"Organizations/{contoso.pk}", tokens["access_token"]).status_code == 404
