"""An administrator sees why a delivery waits (Retry-After), the warning before a failing destination
is disabled, replays its failed deliveries, and enables it again after a 410 Gone: one click each."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import WebhookDeliveryFactory

# Imported so pytest finds the Webhook API fixtures here too.
from tests.webhooks.conftest import (  # noqa: F401
    RECEIVER_HOST,
    approved,
    destination,
    dns,
    loopback_settings,
    receiver,
)
from webhooks import events, queue
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination


def test_admin_sees_the_schedule_and_warning_replays_failures_and_enables_after_410(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant, request
):
    request.getfixturevalue("loopback_settings")
    hooks = request.getfixturevalue("receiver")
    found = request.getfixturevalue("destination")
    hooks.behaviour.mode = "status"
    hooks.behaviour.status = 503
    hooks.behaviour.headers = {"Retry-After": "120"}
    events.queue_deliveries(tenant=tenant, event_type="notify", data={"n": 1})
    queue.deliver_pending()
    earlier = WebhookDeliveryFactory(
        destination=found, failed=True, created_at=timezone.now() - timedelta(hours=20)
    )
    WebhookDestination.objects.filter(pk=found.pk).update(failing_since=timezone.now() - timedelta(days=4))

    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/webhooks/")
    expect(page.locator("#destinations")).to_contain_text("Failing")
    expect(page.locator("#destinations")).to_contain_text("unless a delivery succeeds")
    page.locator("#destinations").get_by_role("link", name=found.url).click()

    expect(page.locator("#retries")).to_contain_text("5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h")
    expect(page.locator("#next-attempt")).to_contain_text("Retry-After asked 120 s.")
    expect(page.locator("#disable-warning")).to_contain_text("accessgov disables this destination on")
    expect(page.locator("#delivery-log")).to_contain_text("The delivery log keeps 30 days")

    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Failed since (UTC)").fill(since)
    page.get_by_role("button", name="Replay failed deliveries").click()
    expect(page.get_by_text("1 failed delivery queued again, oldest first")).to_be_visible()
    earlier.refresh_from_db()
    assert earlier.state == DeliveryState.PENDING and earlier.next_attempt_reason == "Replayed."

    # The receiver says "gone": the worker disables the destination at once.
    hooks.behaviour.status = 410
    hooks.behaviour.headers = {}
    queue.deliver_pending()
    page.reload()
    expect(page.locator("#destination-status")).to_contain_text("The receiver answered 410 Gone.")
    page.get_by_role("button", name="Enable destination").click()
    expect(page.get_by_text("Destination enabled")).to_be_visible()
    expect(page.locator("#destination-status")).to_contain_text("Enabled")
    assert WebhookDestination.objects.get(pk=found.pk).is_enabled
    assert WebhookDelivery.objects.filter(state=DeliveryState.FAILED).exists()
