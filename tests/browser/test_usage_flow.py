"""An administrator opens a token, calls the API with it (real HTTPS), reloads and sees the chart and
table fill; then narrows the token to the permissions it used, and Activity shows it (issue 15 §1)."""

import re
from datetime import timedelta

import httpx
from django.utils import timezone
from playwright.sync_api import expect

from accessgov.policy import actions
from tests.conftest import basic_auth, bearer_auth, trusting
from tests.factories import ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken


def test_admin_sees_a_tokens_chart_fill_as_calls_are_made_then_removes_what_it_never_used(
    live_server, tls_server, ca_file, browser, page, sign_in, enabled_tenant
):
    made = timezone.now() - timedelta(days=40)
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        name="PSA sync",
        permissions=["AuditEvents.Read", "Me.Read", "Organizations.Read"],
        created_at=made,
        starts_at=made,
    )
    token_page = f"{live_server.url}/t/acme/settings/api/tokens/{token.pk}/"
    sign_in("acme-admin")
    page.goto(token_page)
    usage = page.locator("#usage")
    expect(usage.locator(".usage-bar")).to_have_count(30)
    expect(usage.locator(".usage-bar rect.allowed")).to_have_count(0)
    expect(usage.locator(".usage-lines")).to_contain_text("No calls in the last 30 days.")

    with httpx.Client(base_url=f"{tls_server}/api/v1/", verify=trusting(ca_file), timeout=10) as api:
        auth = {"Authorization": basic_auth(token.token_id, token.secret)}
        for _ in range(3):
            assert api.get("Me", headers=auth).status_code == 200
        assert api.get("Organizations", headers=auth).status_code == 200
        wrong = {"Authorization": basic_auth(token.token_id, "agts_not-the-secret")}
        assert api.get("Me", headers=wrong).status_code == 401

    page.reload()
    today = timezone.now().date().isoformat()
    bar = usage.locator(f'.usage-bar[data-day="{today}"]')
    expect(bar).to_have_attribute("data-calls", "5")
    expect(bar.locator("rect.allowed")).to_have_count(1)
    expect(bar.locator("rect.refused")).to_have_count(1)
    expect(bar.locator("title")).to_have_text(f"{today}: 5 calls (4 allowed, 1 refused, 0 rate-limited)")
    expect(usage.get_by_role("img", name="Calls per day over the last 30 days")).to_be_visible()
    lines = usage.locator(".usage-lines tbody tr")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("GET Me")
    expect(lines.nth(0)).to_contain_text("Allowed")
    expect(lines.nth(0)).to_contain_text("3")
    expect(usage.locator(".usage-lines")).to_contain_text("Refused: invalid credentials")
    expect(usage.locator(".usage-addresses tbody tr")).to_have_count(1)
    expect(usage.locator(".usage-addresses")).to_contain_text("127.0.0.1")
    # The wrong secret came last, but proves nothing: the last endpoint is the last real call's.
    expect(page.locator("#last-endpoint")).to_contain_text("GET Organizations")

    # The list: a sparkline and "Last used" per token.
    page.get_by_role("link", name="← Third-Party Tokens").click()
    row = page.get_by_role("row").filter(has_text="PSA sync")
    expect(row.get_by_role("img", name=re.compile(r"^5 calls in the last 30 days"))).to_be_visible()
    expect(row).to_contain_text("from 127.0.0.1")

    # Least privilege from real use: AuditEvents.Read was never used.
    row.get_by_role("link", name="PSA sync").click()
    unused = page.locator("#unused-permissions")
    expect(unused.locator("li")).to_have_count(1)
    expect(unused.locator("li")).to_contain_text("AuditEvents.Read")
    unused.get_by_role("link", name="Review narrowing").click()
    expect(page.locator("#permissions-removed li")).to_have_count(1)
    expect(page.locator("#permissions-removed")).to_contain_text("AuditEvents.Read")
    expect(page.locator("#permissions-kept")).to_contain_text("Me.Read")
    expect(page.locator("#permissions-kept")).to_contain_text("Organizations.Read")
    page.get_by_role("button", name="Remove unused permissions").click()
    expect(
        page.get_by_text("Removed 1 unused permission(s) from “PSA sync”: AuditEvents.Read.")
    ).to_be_visible()
    expect(page.locator("#authorization")).not_to_contain_text("AuditEvents.Read")
    expect(page.locator("#unused-permissions")).to_contain_text("Every permission of this token was used")
    assert ThirdPartyToken.objects.get(pk=token.pk).permissions == ["Me.Read", "Organizations.Read"]

    page.get_by_role("link", name="Activity", exact=True).click()
    event = page.locator("tr", has_text="Third-party token changed")
    expect(event).to_have_count(1)
    event.locator("summary").click()
    removed = event.locator("dt", has_text="Permissions removed").locator("xpath=following-sibling::dd[1]")
    expect(removed).to_have_text("AuditEvents.Read")
    expect(event).to_contain_text("Narrowed from usage")

    # Without JavaScript the chart is the same server-drawn SVG.
    no_js = browser.new_context(java_script_enabled=False)
    no_js.add_cookies(page.context.cookies())
    plain = no_js.new_page()
    plain.goto(token_page)
    expect(plain.locator(f'#usage .usage-bar[data-day="{today}"] rect.allowed')).to_be_visible()
    no_js.close()


def test_admin_opens_an_api_keys_usage_on_manage_api_in_place(
    live_server, tls_server, ca_file, page, sign_in, admin_user, enabled_tenant
):
    api_key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Billing sync", by=admin_user, ip=None)
    with httpx.Client(base_url=f"{tls_server}/api/v1/", verify=trusting(ca_file), timeout=10) as api:
        for _ in range(2):
            assert api.get("Me", headers={"Authorization": bearer_auth(raw)}).status_code == 200
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    row = page.get_by_role("row").filter(has_text="Billing sync")
    expect(row.get_by_role("img", name=re.compile(r"^2 calls in the last 30 days"))).to_be_visible()
    page.evaluate("window.notReloaded = true")
    row.get_by_role("link", name="Usage").click()
    panel = page.locator("#api-key-usage")
    expect(panel.get_by_role("heading", name=re.compile("Usage of “Billing sync”"))).to_be_visible()
    expect(panel.locator(".usage-chart.small .usage-bar rect.allowed")).to_have_count(1)
    expect(panel.locator(".usage-addresses")).to_contain_text("127.0.0.1")
    expect(panel.locator("#last-endpoint")).to_contain_text("GET Me")
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    panel.get_by_role("link", name="Hide usage").click()
    expect(panel.get_by_role("heading")).to_have_count(0)
