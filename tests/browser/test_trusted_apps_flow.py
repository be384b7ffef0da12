"""An administrator consents to a trusted application, sees it authorized, and revokes it."""

from urllib.parse import parse_qs, urlsplit

from django.test import Client
from playwright.sync_api import expect

from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.factories import OAUTH_REDIRECT_URI, OrganizationFactory, TrustedApplicationFactory
from tests.trusted.conftest import consent_url, exchange, make_pkce


def test_admin_authorizes_a_trusted_application_and_revokes_it(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant
):
    OrganizationFactory(tenant=tenant, name="Contoso")
    OrganizationFactory(tenant=tenant, name="Fabrikam")
    app = TrustedApplicationFactory(name="PSA Connector", vendor="Kaseya")
    landed = []

    def application_callback(route):
        # The application's own server, which the test does not have: record where the browser went.
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Connected</p>")

    page.route(f"{OAUTH_REDIRECT_URI}**", application_callback)
    sign_in("acme-admin")
    pkce = make_pkce()
    page.goto(live_server.url + consent_url(app, pkce))

    expect(page.get_by_role("heading", name="Authorize PSA Connector?")).to_be_visible()
    expect(page.get_by_text("asks to use the API of Acme MSP")).to_be_visible()
    expect(page.get_by_text("Read the calling credential, its tenant and limits")).to_be_visible()
    expect(page.get_by_text("List and read organizations")).to_be_visible()
    page.get_by_label("Contoso").check()
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("Connected")).to_be_visible()

    params = parse_qs(urlsplit(landed[0]).query)
    assert params["state"] == ["state-123"]
    tokens = exchange(Client(), app, params["code"][0], pkce.verifier).json()
    assert tokens["access_token"].startswith("agat_")

    page.goto(f"{live_server.url}/t/acme/settings/api/")
    page.get_by_role("link", name="Trusted Applications", exact=True).click()
    authorized = page.locator("#authorization-list")
    expect(authorized).to_contain_text("PSA Connector")
    expect(authorized).to_contain_text("by acme-admin")
    expect(authorized).to_contain_text("Contoso")
    expect(authorized).not_to_contain_text("Fabrikam")

    authorized.get_by_role("link", name="Revoke authorization").click()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Revoke authorization").click()
    expect(page.get_by_text("is no longer authorized")).to_be_visible()
    expect(page.locator("#authorization-list")).to_contain_text("Revoked")
    assert TrustedApplicationAuthorization.objects.get().revoked_at is not None
