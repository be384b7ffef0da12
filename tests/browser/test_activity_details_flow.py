"""An administrator edits a token, opens Activity, expands the row and reads the old and new values."""

from playwright.sync_api import expect

from tests.factories import ThirdPartyTokenFactory


def test_admin_sees_a_token_edits_old_and_new_values_in_activity(
    live_server, browser, page, sign_in, enabled_tenant
):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="PSA sync", permissions=["Me.Read"], allowed_ips=["192.0.2.0/24"]
    )
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/{token.pk}/")
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Name").fill("PSA sync v2")
    page.get_by_label("Whitelisted IP addresses").fill("198.51.100.0/24")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("networkidle")

    page.get_by_role("link", name="Activity", exact=True).click()
    row = page.locator("tr", has_text="Third-party token changed")
    expect(row).to_have_count(1)
    changes = row.locator("details.event-details")
    # Closed until asked: the values are not on screen yet.
    expect(changes.locator("dl")).to_be_hidden()
    changes.locator("summary", has_text="Old and new values").click()
    name = changes.locator("dt", has_text="Name").locator("xpath=following-sibling::dd[1]")
    expect(name.locator("del")).to_have_text("PSA sync")
    expect(name.locator("ins")).to_have_text("PSA sync v2")
    allowlist = changes.locator("dt", has_text="Whitelisted IP addresses").locator(
        "xpath=following-sibling::dd[1]"
    )
    expect(allowlist.locator("del")).to_have_text("192.0.2.0/24")
    expect(allowlist.locator("ins")).to_have_text("198.51.100.0/24")

    # Without JavaScript the same row opens: <details> is plain HTML.
    no_js = browser.new_context(java_script_enabled=False)
    no_js.add_cookies(page.context.cookies())
    plain = no_js.new_page()
    plain.goto(f"{live_server.url}/t/acme/settings/api/activity/")
    row = plain.locator("tr", has_text="Third-party token changed")
    row.locator("summary").click()
    expect(row.locator("ins", has_text="PSA sync v2")).to_be_visible()
    no_js.close()
