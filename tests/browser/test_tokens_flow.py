"""An administrator creates a restricted token, copies its secret, revokes it and reinstates it.

Attack catalogue case 45: a revealed secret is gone after reload, back and forward.
"""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from accessgov.core.credentials import Refusal
from tokens.auth import check_token
from tokens.models import ThirdPartyToken

SECRET = re.compile(r"^agts_[0-9A-Za-z]{61}$")


def test_admin_creates_revokes_and_reinstates_a_token(
    live_server, page, sign_in, tenant, admin_user, organizations, enabled_tenant, settings
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    page.get_by_role("link", name="Third-Party Tokens", exact=True).click()
    expect(page.get_by_text("No tokens yet.")).to_be_visible()

    page.get_by_role("link", name="Create Token").click()
    page.get_by_label("Name").fill("PSA sync")
    page.get_by_label("Whitelisted IP addresses").fill("192.0.2.0/24\n2001:db8::1")
    page.get_by_label("Selected organizations").check()
    page.get_by_label("Contoso").check()
    page.get_by_text("Edit Permissions").click()
    page.get_by_label("Read the calling credential").check()
    page.get_by_label("List and read organizations").check()
    page.get_by_role("button", name="Create", exact=True).click()

    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    token = ThirdPartyToken.objects.get(name="PSA sync")
    expect(page.locator("#token-id")).to_have_text(token.token_id)
    secret = page.locator("#token-secret").inner_text()
    assert SECRET.match(secret)
    expect(page.locator("#basic-header")).to_contain_text("Authorization: Basic ")
    expect(page.locator("#curl-example")).to_contain_text("/api/v1/Me")
    page.locator("#token-secret + button").click()
    expect(page.locator("#token-secret + button")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    assert token.allowed_ips == ["192.0.2.0/24", "2001:db8::1/128"]
    assert token.organization_ids == [organizations[0].pk]
    assert token.permissions == ["Me.Read", "Organizations.Read"]
    allowed = check_token(
        token_id=token.token_id,
        secret=secret,
        client_ip="::ffff:192.0.2.7",
        permission="Organizations.Read",
        organization_id=organizations[0].pk,
    )
    assert allowed.allowed

    # Reloading the list never shows the secret again.
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/")
    assert secret not in page.content()
    row = page.get_by_role("row").filter(has_text="PSA sync")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Contoso")

    row.get_by_role("link", name="Revoke").click()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Revoke").click()
    deleted_on = (timezone.now() + timedelta(days=settings.ACCESSGOV_REVOKE_GRACE_DAYS)).strftime("%Y-%m-%d")
    expect(page.locator("#token-status")).to_have_text(f"Revoked — deleted on {deleted_on}")
    revoked = check_token(token_id=token.token_id, secret=secret, client_ip="192.0.2.7", permission=None)
    assert revoked.reason == Refusal.REVOKED
    page.get_by_role("link", name="Third-Party Tokens", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="PSA sync")).to_contain_text(
        f"Revoked — deleted on {deleted_on}"
    )

    page.get_by_role("link", name="PSA sync").click()
    page.get_by_role("link", name="Regenerate Token Secret").click()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Regenerate Token Secret").click()
    expect(page.get_by_role("heading", name="Token “PSA sync” reinstated")).to_be_visible()
    new_secret = page.locator("#token-secret").inner_text()
    assert SECRET.match(new_secret) and new_secret != secret
    common = {"token_id": token.token_id, "client_ip": "192.0.2.7", "permission": "Me.Read"}
    assert check_token(secret=new_secret, **common).allowed
    assert check_token(secret=secret, **common).reason == Refusal.WRONG_SECRET

    page.get_by_role("link", name="Go to the token’s details").click()
    expect(page.locator("#token-status")).to_have_text("Active")
    assert new_secret not in page.content()
    # Back to the reveal: Chromium will not show a no-store POST response again (ERR_CACHE_MISS)
    # and resubmits nothing on its own; either way the secret is gone.
    try:
        page.go_back()
    except PlaywrightError as error:
        assert "ERR_CACHE_MISS" in str(error)
    expect(page.locator("#token-secret")).to_have_count(0)
    expect(page.get_by_text(new_secret)).to_have_count(0)


def test_search_and_status_filter_update_the_list_in_place(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant
):
    from tests.factories import ThirdPartyTokenFactory

    ThirdPartyTokenFactory(tenant=tenant, name="Alpha sync")
    ThirdPartyTokenFactory(tenant=tenant, name="Beta export", revoked=True)
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search").fill("alpha")
    expect(page.get_by_role("link", name="Beta export")).to_have_count(0)
    expect(page.get_by_role("link", name="Alpha sync")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=alpha$"))
    page.get_by_label("Search").fill("")
    page.get_by_label("Status").select_option("revoked")
    expect(page.get_by_role("link", name="Alpha sync")).to_have_count(0)
    expect(page.get_by_role("link", name="Beta export")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the list; no page load
