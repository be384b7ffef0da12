"""The consent page and DOT's token endpoint: the authorization code flow with PKCE, and every refusal."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from accessgov.audit.models import AuditEvent
from accessgov.policy.actions import disable_api_access
from accessgov.trusted.models import TrustedApplicationAuthorization, TrustedApplicationToken
from tests.factories import (
    OAUTH_REDIRECT_URI,
    TrustedApplicationAuthorizationFactory,
    TrustedApplicationFactory,
)
from tests.trusted.conftest import (
    authorize,
    consent_url,
    exchange,
    make_pkce,
    redirect_params,
    refresh,
    tokens_for,
)


def test_the_consent_page_shows_the_tenant_the_permissions_and_the_organizations(
    admin_client, enabled_tenant, app, pkce, contoso, fabrikam
):
    response = admin_client.get(consent_url(app, pkce))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Authorize PSA Connector?" in body and "Kaseya" in body
    assert "Acme MSP" in body and enabled_tenant.partner_id in body
    assert "Me.Read" in body and "Read the calling credential, its tenant and limits" in body
    assert "Organizations.Read" in body and "Notify.Send" not in body
    assert "Contoso" in body and "Fabrikam" in body
    assert "app.example.com" in body
    assert "no-store" in response["Cache-Control"]
    # The form's answer redirects to the application: only its origin is added to form-action.
    assert "form-action 'self' https://app.example.com" in response["Content-Security-Policy"]
    assert not Grant.objects.exists() and not TrustedApplicationAuthorization.objects.exists()


def test_authorize_records_the_consent_audits_it_and_redirects_with_a_code(
    admin_client, admin_user, enabled_tenant, app, pkce, contoso, fabrikam
):
    code = authorize(admin_client, app, pkce, [contoso])
    authorization = TrustedApplicationAuthorization.objects.get()
    assert authorization.tenant == enabled_tenant and authorization.authorized_by == admin_user
    assert authorization.permissions == ["Me.Read", "Organizations.Read"]
    assert (authorization.all_organizations, authorization.organization_ids) == (False, [contoso.pk])
    grant = Grant.objects.get()
    assert grant.code == code and grant.code_challenge_method == "S256"
    assert TrustedApplicationToken.objects.get(code=grant).authorization == authorization
    event = AuditEvent.objects.get(action="trusted_app.authorized")
    assert event.tenant == enabled_tenant and event.actor == admin_user
    assert event.details["organizations"] == [contoso.pk]
    assert code not in str(event.details)


def test_the_code_exchanges_for_typed_tokens_stored_only_as_checksums(
    admin_client, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    assert tokens["token_type"] == "Bearer"
    assert tokens["access_token"].startswith("agat_") and tokens["refresh_token"].startswith("agrt_")
    assert set(tokens["scope"].split()) == {"Me.Read", "Organizations.Read"}
    access_token = AccessToken.objects.get()
    assert access_token.token == "" and RefreshToken.objects.get().token == ""
    assert (
        TrustedApplicationToken.objects.get(access_token=access_token).authorization.tenant == enabled_tenant
    )
    # The code was used up: its row (and its link) are gone.
    assert not Grant.objects.exists()


def test_deny_redirects_with_access_denied_and_authorizes_nothing(admin_client, enabled_tenant, app, pkce):
    response = admin_client.post(consent_url(app, pkce), {"decision": "deny"})
    assert redirect_params(response)["error"] == "access_denied"
    assert not TrustedApplicationAuthorization.objects.exists() and not Grant.objects.exists()


def test_an_unregistered_redirect_uri_is_refused_on_the_page_and_never_redirected(
    admin_client, enabled_tenant, app, pkce
):
    for uri in ["https://evil.example.net/callback", "https://app.example.com/callback/../x"]:
        url = consent_url(app, pkce, redirect_uri=uri)
        for response in [admin_client.get(url), admin_client.post(url, {"decision": "authorize"})]:
            assert response.status_code == 400
            assert "Location" not in response
            assert "cannot be completed" in response.content.decode()
    assert not Grant.objects.exists() and not TrustedApplicationAuthorization.objects.exists()


def test_an_unknown_client_is_refused_on_the_page(admin_client, enabled_tenant, app, pkce):
    response = admin_client.get(consent_url(app, pkce, client_id="no-such-client"))
    assert response.status_code == 400 and "Location" not in response


def test_an_oauth_application_that_is_not_a_trusted_application_is_refused(
    admin_client, enabled_tenant, app, pkce
):
    app.is_enabled = False
    app.save()
    response = admin_client.get(consent_url(app, pkce))
    assert response.status_code == 400
    assert "not a trusted application" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unauthorized_client"),  # the implicit grant
        ({"scope": "Me.Read Notify.Send"}, "invalid_scope"),
    ],
)
def test_a_request_without_s256_pkce_or_asking_too_much_is_sent_back_with_the_oauth_error(
    admin_client, enabled_tenant, app, pkce, contoso, overrides, error
):
    url = consent_url(app, pkce, **overrides)
    get = admin_client.get(url)
    assert redirect_params(get)["error"] == error
    post = admin_client.post(url, {"decision": "authorize", "organizations": [str(contoso.pk)]})
    assert redirect_params(post)["error"] == error
    assert not Grant.objects.exists() and not TrustedApplicationAuthorization.objects.exists()


def test_a_narrower_scope_is_granted_as_asked(admin_client, enabled_tenant, app, pkce, contoso):
    code = authorize(admin_client, app, pkce, [contoso], scope="Me.Read")
    assert TrustedApplicationAuthorization.objects.get().permissions == ["Me.Read"]
    assert exchange(Client(), app, code, pkce.verifier).json()["scope"] == "Me.Read"


def test_a_missing_or_wrong_pkce_verifier_is_refused(admin_client, enabled_tenant, app, pkce, contoso):
    code = authorize(admin_client, app, pkce, [contoso])
    missing = exchange(Client(), app, code, None)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    wrong = exchange(Client(), app, code, make_pkce().verifier)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_a_code_works_once(admin_client, enabled_tenant, app, pkce, contoso):
    code = authorize(admin_client, app, pkce, [contoso])
    assert exchange(Client(), app, code, pkce.verifier).status_code == 200
    again = exchange(Client(), app, code, pkce.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # No second token; and the first use's token is revoked too (the replay test below).
    assert not AccessToken.objects.exists()


def test_an_expired_code_is_refused(admin_client, enabled_tenant, app, pkce, contoso):
    code = authorize(admin_client, app, pkce, [contoso])
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        response = exchange(Client(), app, code, pkce.verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_code_is_refused_with_another_redirect_uri_or_another_clients_secret(
    admin_client, enabled_tenant, app, pkce, contoso
):
    code = authorize(admin_client, app, pkce, [contoso])
    other = TrustedApplicationFactory()
    assert exchange(Client(), other, code, pkce.verifier).json()["error"] == "invalid_grant"
    response = exchange(Client(), app, code, pkce.verifier, redirect_uri=OAUTH_REDIRECT_URI + "/x")
    assert response.status_code == 400 and response.json()["error"] in {"invalid_request", "invalid_grant"}


def test_refresh_rotates_and_scope_escalation_on_refresh_is_refused(
    admin_client, enabled_tenant, app, pkce, contoso
):
    code = authorize(admin_client, app, pkce, [contoso], scope="Me.Read")
    tokens = exchange(Client(), app, code, pkce.verifier).json()
    escalated = refresh(Client(), app, tokens["refresh_token"], scope="Me.Read Organizations.Read")
    assert escalated.status_code == 400 and escalated.json()["error"] == "invalid_scope"
    renewed = refresh(Client(), app, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != tokens["refresh_token"]
    assert renewed.json()["scope"] == "Me.Read"
    # A replayed (rotated) refresh token is refused, and revokes its family.
    assert refresh(Client(), app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(Client(), app, renewed.json()["refresh_token"]).status_code == 400


def test_consent_is_refused_server_side_until_the_api_policy_is_agreed(
    admin_client, tenant, app, pkce, contoso
):
    """Attack catalogue case 13: nothing is issued before the API Policy is agreed."""
    page = admin_client.get(consent_url(app, pkce))
    assert page.status_code == 200 and "agree to the API Policy" in page.content.decode()
    response = admin_client.post(
        consent_url(app, pkce), {"decision": "authorize", "organizations": [contoso.pk]}
    )
    assert response.status_code == 400
    assert "Agree to the API Policy" in response.content.decode()
    assert not Grant.objects.exists() and not TrustedApplicationAuthorization.objects.exists()


def test_an_application_asking_for_chosen_organizations_needs_at_least_one(
    admin_client, enabled_tenant, app, pkce, contoso
):
    response = admin_client.post(consent_url(app, pkce), {"decision": "authorize"})
    assert response.status_code == 400
    assert "Choose at least one organization" in response.content.decode()
    assert not Grant.objects.exists()


def test_another_tenants_organization_cannot_be_granted(
    admin_client, enabled_tenant, app, pkce, contoso, other_tenant
):
    """Attack catalogue case 10: another tenant's organization cannot be granted."""
    from tests.factories import OrganizationFactory

    rival = OrganizationFactory(tenant=other_tenant)
    response = admin_client.post(
        consent_url(app, pkce), {"decision": "authorize", "organizations": [contoso.pk, rival.pk]}
    )
    assert response.status_code == 400
    assert not TrustedApplicationAuthorization.objects.exists() and not Grant.objects.exists()


def test_an_application_asking_for_all_organizations_gets_all(admin_client, enabled_tenant, pkce):
    everything = TrustedApplicationFactory(all_organizations=True)
    authorize(admin_client, everything, pkce)
    assert TrustedApplicationAuthorization.objects.get().all_organizations is True


def test_consenting_again_updates_the_live_authorization(
    admin_client, enabled_tenant, app, contoso, fabrikam
):
    authorize(admin_client, app, make_pkce(), [contoso])
    authorize(admin_client, app, make_pkce(), [fabrikam])
    authorization = TrustedApplicationAuthorization.objects.get()
    assert authorization.organization_ids == [fabrikam.pk]
    assert AuditEvent.objects.filter(action="trusted_app.authorized").count() == 2


def test_a_technician_gets_a_403_page_saying_why(tech_client, enabled_tenant, app, pkce):
    response = tech_client.get(consent_url(app, pkce))
    assert response.status_code == 403
    assert "administrators of Acme MSP" in response.content.decode()
    assert tech_client.post(consent_url(app, pkce), {"decision": "authorize"}).status_code == 403
    assert not Grant.objects.exists()


def test_consent_for_another_tenant_is_not_found(other_admin_client, enabled_tenant, app, pkce):
    """Attack catalogue case 8: another tenant's rows are not found."""
    assert other_admin_client.get(consent_url(app, pkce)).status_code == 404
    assert other_admin_client.post(consent_url(app, pkce), {"decision": "authorize"}).status_code == 404
    assert not Grant.objects.exists()


def test_signed_out_the_consent_page_asks_to_sign_in_first(client, enabled_tenant, app, pkce):
    response = client.get(consent_url(app, pkce))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_o_authorize_sends_a_single_tenant_administrator_to_the_tenants_consent_page(
    admin_client, enabled_tenant, app, pkce
):
    query = consent_url(app, pkce).split("?", 1)[1]
    response = admin_client.get(f"/o/authorize/?{query}")
    assert response.status_code == 302
    assert response["Location"] == f"/t/acme/settings/api/trusted-apps/authorize/?{query}"


def test_o_authorize_refuses_someone_who_administers_no_tenant(tech_client, enabled_tenant, app, pkce):
    query = consent_url(app, pkce).split("?", 1)[1]
    response = tech_client.get(f"/o/authorize/?{query}")
    assert response.status_code == 403 and "Only an administrator" in response.content.decode()


def test_dots_management_pages_are_not_exposed(admin_client):
    for path in ["/o/applications/", "/o/authorized_tokens/", "/o/introspect/", "/o/register/"]:
        assert admin_client.get(path).status_code == 404


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
@pytest.mark.django_db
def test_the_token_endpoint_blocks_an_ip_that_keeps_failing(client):
    for _ in range(3):
        response = client.post(
            "/o/token/",
            {"grant_type": "authorization_code", "code": "guess", "client_id": "nobody"},
            secure=True,
        )
        assert response.status_code in {400, 401}
    blocked = client.post("/o/token/", {"grant_type": "refresh_token", "refresh_token": "x"}, secure=True)
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "too_many_failed_requests"
    assert 55 <= int(blocked["Retry-After"]) <= 60
    assert client.post("/o/revoke_token/", {"token": "x"}, secure=True).status_code == 429
    assert client.post("/o/token/", {}, secure=True, REMOTE_ADDR="192.0.2.77").status_code != 429


def test_a_replayed_code_is_refused_and_revokes_the_tokens_issued_from_it(
    admin_client, enabled_tenant, app, pkce, contoso
):
    """RFC 6749 4.1.2: a code used twice revokes the tokens issued from it, refreshed ones too."""
    code = authorize(admin_client, app, pkce, [contoso])
    first = exchange(Client(), app, code, pkce.verifier)
    assert first.status_code == 200
    tokens = first.json()
    renewed = refresh(Client(), app, tokens["refresh_token"]).json()
    unrelated = tokens_for(admin_client, app, [contoso])
    replay = exchange(Client(), app, code, pkce.verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    assert Client().get("/api/v1/Me", headers=bearer, secure=True).status_code == 401
    assert refresh(Client(), app, renewed["refresh_token"]).status_code == 400
    # Tokens of another code of the same authorization are not touched.
    other = {"Authorization": f"Bearer {unrelated['access_token']}"}
    assert Client().get("/api/v1/Me", headers=other, secure=True).status_code == 200
    event = AuditEvent.objects.get(action="trusted_app.code_replayed")
    assert event.tenant == enabled_tenant and event.actor_label == "system"
    assert code not in str(event.details)


def test_a_first_consent_shows_no_changes(admin_client, enabled_tenant, app, pkce, contoso):
    body = admin_client.get(consent_url(app, pkce)).content.decode()
    assert "What changes" not in body and "already authorized" not in body


def test_an_unchanged_re_consent_ticks_the_live_organizations_and_changes_nothing(
    admin_client, enabled_tenant, app, contoso, fabrikam
):
    authorize(admin_client, app, make_pkce(), [contoso])
    response = admin_client.get(consent_url(app, make_pkce()))
    body = response.content.decode()
    assert "What changes" in body and "Authorizing replaces that authorization" in body
    assert "Nothing changes" in body
    assert response.context["form"]["organizations"].value() == [contoso.pk]
    assert f'value="{contoso.pk}"' in body and "checked" in body


def test_a_re_consent_with_a_narrower_scope_lists_the_removed_permission(
    admin_client, enabled_tenant, app, contoso
):
    authorize(admin_client, app, make_pkce(), [contoso])
    body = admin_client.get(consent_url(app, make_pkce(), scope="Me.Read")).content.decode()
    assert "Permissions removed" in body and "Permissions added" not in body
    removed = body.split("Permissions removed", 1)[1].split("</ul>", 1)[0]
    assert "Organizations.Read" in removed and "Me.Read" not in removed
    assert "Nothing changes" not in body


def test_a_re_consent_with_a_wider_scope_lists_the_added_permission(
    admin_client, enabled_tenant, app, contoso
):
    authorize(admin_client, app, make_pkce(), [contoso], scope="Me.Read")
    body = admin_client.get(consent_url(app, make_pkce())).content.decode()
    added = body.split("Permissions added", 1)[1].split("</ul>", 1)[0]
    assert "Organizations.Read" in added and "Permissions removed" not in body


def test_a_re_consent_lists_the_organizations_added_and_removed(
    admin_client, enabled_tenant, admin_user, app, contoso, fabrikam
):
    authorize(admin_client, app, make_pkce(), [contoso])
    # Refused (API access off), the page comes back comparing the live choice with the one submitted.
    disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    response = admin_client.post(
        consent_url(app, make_pkce()), {"decision": "authorize", "organizations": [fabrikam.pk]}
    )
    body = response.content.decode()
    assert response.status_code == 400
    added = body.split("Organizations added", 1)[1].split("</ul>", 1)[0]
    removed = body.split("Organizations removed", 1)[1].split("</ul>", 1)[0]
    assert "Fabrikam" in added and "Contoso" not in added
    assert "Contoso" in removed and "Fabrikam" not in removed
    assert TrustedApplicationAuthorization.objects.get().organization_ids == [contoso.pk]


def test_a_re_consent_after_the_application_asks_for_all_organizations_says_so(
    admin_client, enabled_tenant, app, pkce, contoso
):
    authorize(admin_client, app, make_pkce(), [contoso])
    app.all_organizations = True
    app.save()
    body = admin_client.get(consent_url(app, pkce)).content.decode()
    added = body.split("Organizations added", 1)[1].split("</ul>", 1)[0]
    removed = body.split("Organizations removed", 1)[1].split("</ul>", 1)[0]
    assert "All organizations of Acme MSP" in added and "Contoso" in removed


def test_another_tenants_live_authorization_is_not_shown_as_replaced(
    admin_client, enabled_tenant, other_tenant, app, pkce, contoso
):
    TrustedApplicationAuthorizationFactory(tenant=other_tenant, application=app)
    body = admin_client.get(consent_url(app, pkce)).content.decode()
    assert "What changes" not in body and "already authorized" not in body
