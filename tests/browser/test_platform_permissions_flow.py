"""With the platform's catalogue in force, an administrator gives a token two of the platform's
permissions and one organization, and the gateway's decisions hold the token to exactly that."""

from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from accessgov.core import catalogue
from accessgov.core.catalogue.loading import load_catalogue
from accessgov.gateway.actions import issue_gateway_key
from tests.conftest import basic_auth
from tokens.models import ThirdPartyToken

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalogue" / "rmm.toml"


@pytest.fixture
def rmm_catalogue():
    own = frozenset(p.name for p in catalogue.OWN_PERMISSIONS)
    with catalogue.using(catalogue.Catalogue(load_catalogue(EXAMPLE, own_permissions=own))):
        yield


def test_admin_grants_two_platform_permissions_for_one_organization(
    live_server, page, sign_in, enabled_tenant, admin_user, organizations, rmm_catalogue
):
    contoso, fabrikam = organizations[0], organizations[1]
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/new/")
    page.get_by_label("Name").fill("RMM sync")
    page.get_by_label("Selected organizations").check()
    page.get_by_label(contoso.name).check()
    page.get_by_text("Edit Permissions").click()
    expect(page.get_by_text("Example RMM API")).to_be_visible()
    page.get_by_label("List and read devices").check()
    page.get_by_label("List and read assets and their software").check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    secret = page.locator("#token-secret").inner_text()
    token = ThirdPartyToken.objects.get(name="RMM sync")
    assert token.permissions == ["Assets.Read", "Devices.Read"]
    assert token.organization_ids == [contoso.pk]

    gateway_key = issue_gateway_key(name="browser test gateway", by=None)[1]
    basic = basic_auth(token.token_id, secret)

    def ask(method: str, uri: str) -> int:
        return (
            Client()
            .get(
                "/gateway/v1/decide",
                headers={
                    "Accessgov-Gateway-Key": gateway_key,
                    "Authorization": basic,
                    "X-Forwarded-Method": method,
                    "X-Forwarded-Uri": uri,
                    "X-Forwarded-For": "198.51.100.4",
                    "X-Forwarded-Proto": "https",
                },
                secure=True,
            )
            .status_code
        )

    assert ask("GET", f"/v1/devices?OrganizationId={contoso.pk}") == 200
    assert ask("GET", "/v1/assets/77") == 200
    assert ask("GET", f"/v1/devices?OrganizationId={fabrikam.pk}") == 404
    assert ask("DELETE", "/v1/devices/5") == 403  # Devices.Write was not granted
    assert ask("GET", "/v1/alerts/1") == 403
