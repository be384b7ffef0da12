"""An administrator approves a domain, adds a destination on it, sends a test event that a real
HTTPS receiver verifies, then removes the domain and sees the destination blocked."""

from playwright.sync_api import expect

# Imported so pytest finds the Webhook API fixtures here too.
from tests.webhooks.conftest import RECEIVER_HOST, dns, loopback_settings, receiver  # noqa: F401
from webhooks import queue
from webhooks.models import WebhookDelivery, WebhookDestination


def test_admin_adds_a_domain_and_destination_sends_a_test_event_then_removal_blocks_it(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant, request
):
    # The loopback receiver, its CA trusted and DNS answering hooks.example.com with 127.0.0.1.
    request.getfixturevalue("loopback_settings")
    hooks = request.getfixturevalue("receiver")
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    page.get_by_role("link", name="Webhook API").click()
    expect(page.get_by_role("heading", name="Approved Webhook Domains")).to_be_visible()

    page.get_by_role("link", name="+ Add new domain").click()
    page.get_by_label("Domain", exact=True).fill("Hooks.Example.com.")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("hooks.example.com is approved for webhook destinations.")).to_be_visible()
    expect(page.locator("#domains").get_by_role("cell", name="hooks.example.com")).to_be_visible()

    page.get_by_role("link", name="+ Add destination").click()
    page.get_by_label("Destination URL").fill(f"https://{RECEIVER_HOST}:{hooks.port}/hooks")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#destination-status")).to_contain_text("Enabled")

    page.get_by_role("button", name="Reveal signing secret").click()
    secret = page.locator("#revealed-secret")
    expect(secret).to_have_text(WebhookDestination.objects.get().signing_secret)
    hooks.secret = secret.inner_text()

    # A marker on the window survives only if the result arrives without a page load.
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#test-outcome")).to_contain_text("Sending…")
    assert hooks.received == []  # the request answered without sending
    queue.deliver_pending()  # the worker's pass; the page polls every 2 s and shows the result
    expect(page.locator("#test-outcome")).to_contain_text("Delivered: HTTP 200")
    expect(page.locator("#test-outcome")).to_contain_text('{"received": true}')
    expect(page.locator("#delivery-log")).to_contain_text("test")
    assert page.evaluate("window.__noReload") is True
    [received] = hooks.received
    assert received.verified and received.payload["type"] == "test"
    assert received.headers["webhook-id"] == WebhookDelivery.objects.get().webhook_id

    page.get_by_role("link", name="← Webhook API").click()
    page.locator("#domains").get_by_role("link", name="Remove").click()
    expect(page.get_by_text("blocked at once")).to_be_visible()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("1 destination(s) on it are blocked and receive nothing.")).to_be_visible()
    expect(page.locator("#destinations")).to_contain_text("Blocked")
    page.locator("#destinations").get_by_role(
        "link", name=f"https://{RECEIVER_HOST}:{hooks.port}/hooks"
    ).click()
    expect(page.locator("#destination-status")).to_contain_text("Blocked")
