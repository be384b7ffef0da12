"""An administrator rolls a token's secret with an overlap while a script keeps calling the API
(over real HTTPS) with the old secret, retires the old secret, then renews the token."""

import re
from datetime import timedelta

import httpx
from django.utils import timezone
from playwright.sync_api import expect

from accessgov.policy import actions
from accessgov.policy.models import ApiKey
from tests.conftest import basic_auth, bearer_auth, trusting
from tests.factories import ThirdPartyTokenFactory, UserFactory
from tokens.models import ThirdPartyToken

SECRET = re.compile(r"^agts_[0-9A-Za-z]{61}$")
HEADER = "Accessgov-Secret-Retires"


def _api(tls_server, ca_file) -> httpx.Client:
    return httpx.Client(base_url=f"{tls_server}/api/v1/", verify=trusting(ca_file), timeout=10)


def test_admin_rolls_a_token_with_an_overlap_retires_the_old_secret_and_renews_it(
    live_server, tls_server, ca_file, page, sign_in, admin_user, enabled_tenant, organizations
):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        name="PSA sync",
        permissions=["Me.Read", "Organizations.Read"],
        allowed_ips=["127.0.0.0/8"],
        all_organizations=False,
        organization_ids=[organizations[0].pk],
        expires_at=timezone.now() + timedelta(days=20),
    )
    old = token.secret
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/{token.pk}/")
    page.get_by_role("link", name="Regenerate Token Secret").click()
    page.get_by_label("1 hour").check()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Regenerate Token Secret").click()
    expect(page.get_by_role("heading", name="New secret for “PSA sync”")).to_be_visible()
    expect(page.locator("#old-secret-note")).to_contain_text("The old secret keeps working until")
    new = page.locator("#token-secret").inner_text()
    assert SECRET.match(new) and new != old

    with _api(tls_server, ca_file) as api:
        answer = api.get("Me", headers={"Authorization": basic_auth(token.token_id, old)})
        assert answer.status_code == 200 and re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", answer.headers[HEADER]
        )
        answer = api.get("Me", headers={"Authorization": basic_auth(token.token_id, new)})
        assert answer.status_code == 200 and HEADER not in answer.headers

        page.get_by_role("link", name="Go to the token’s details").click()
        expect(page.locator("#old-secret")).to_contain_text("The old secret still works until")
        assert new not in page.content()
        page.get_by_role("link", name="Retire old secret now").click()
        page.get_by_label("I understand").check()
        page.get_by_role("button", name="Retire old secret now").click()
        expect(page.get_by_text("only the new one works")).to_be_visible()
        expect(page.locator("#old-secret")).to_have_count(0)

        refused = api.get("Me", headers={"Authorization": basic_auth(token.token_id, old)})
        assert refused.status_code == 401 and refused.json()["Error"]["Code"] == "invalid_credentials"
        assert api.get("Me", headers={"Authorization": basic_auth(token.token_id, new)}).status_code == 200

    # Renew: Create Token prefilled for review, nothing in the URL but the source token's id.
    page.get_by_role("link", name="Renew").click()
    assert re.search(rf"/tokens/{token.pk}/renew/$", page.url)
    renewed_name = f"PSA sync (renewed {timezone.now():%Y-%m-%d})"
    expect(page.get_by_label("Name")).to_have_value(renewed_name)
    expect(page.get_by_label("Whitelisted IP addresses")).to_have_value("127.0.0.0/8")
    expect(page.get_by_label("Selected organizations")).to_be_checked()
    expect(page.get_by_label("Contoso")).to_be_checked()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    renewed = ThirdPartyToken.objects.get(name=renewed_name)
    assert renewed.token_id != token.token_id and renewed.permissions == token.permissions
    assert renewed.allowed_ips == token.allowed_ips and renewed.organization_ids == token.organization_ids
    assert renewed.expires_at > token.expires_at


def test_admin_regenerates_an_api_key_whose_old_secret_retires_on_the_new_ones_first_use(
    live_server, tls_server, ca_file, page, sign_in, admin_user, enabled_tenant
):
    key, old = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=UserFactory(), ip=None)
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    page.get_by_role("row").filter(has_text="Server").get_by_role("link", name="Regenerate key").click()
    page.get_by_label("Until the new secret is first used").check()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Regenerate key").click()
    new = page.locator("#revealed-secret").inner_text()
    assert new.startswith(key.prefix) and new != old
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    expect(page.locator(f"#old-key-{key.pk}")).to_contain_text("or the new one's first use")
    with _api(tls_server, ca_file) as api:
        assert api.get("Me", headers={"Authorization": bearer_auth(old)}).headers[HEADER]
        assert api.get("Me", headers={"Authorization": bearer_auth(new)}).status_code == 200
        assert api.get("Me", headers={"Authorization": bearer_auth(old)}).status_code == 401
    page.reload()
    expect(page.locator(f"#old-key-{key.pk}")).to_have_count(0)
    assert ApiKey.objects.get(pk=key.pk).previous_digest == ""
