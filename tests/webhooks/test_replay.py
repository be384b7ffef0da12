"""Replay failed deliveries since …: oldest first, once each, with the original webhook-id, audited."""

from datetime import UTC, datetime, timedelta

import pytest

from accessgov.audit.models import Action, AuditEvent
from tests.factories import WebhookDeliveryFactory
from webhooks import queue
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/webhooks/"
T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def failed(destination):
    """Four failed deliveries an hour apart (created out of id order), and one delivered."""
    rows = [
        WebhookDeliveryFactory(destination=destination, failed=True, created_at=T0 + timedelta(hours=hour))
        for hour in (3, 1, 2, 0)
    ]
    WebhookDeliveryFactory(destination=destination, state=DeliveryState.SUCCEEDED, created_at=T0)
    return sorted(rows, key=lambda row: row.created_at)


def test_replay_sends_every_failed_delivery_of_the_range_oldest_first_with_its_webhook_id(
    admin_client, enabled_tenant, destination, failed, receiver, sender
):
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/replay/",
        {"since": "2026-11-22T10:00", "until": "2026-11-22T12:30"},
        follow=True,
    )
    assert "3 failed deliveries queued again, oldest first" in response.text
    assert WebhookDelivery.objects.get(pk=failed[0].pk).state == DeliveryState.FAILED  # before the range
    event = AuditEvent.objects.get(action=Action.WEBHOOK_DELIVERIES_REPLAYED)
    assert event.details["queued"] == 3 and event.actor.username == "acme-admin"
    # Replaying the same range again queues nothing twice: they are queued, not failed.
    again = admin_client.post(
        URL + f"destinations/{destination.pk}/replay/", {"since": "2026-11-22T09:30"}, follow=True
    )
    assert again.status_code == 400 and "No delivery failed in that range" in again.text
    assert queue.deliver_due(sender=sender) == 3
    assert queue.deliver_due(sender=sender) == 0
    assert [r.headers["webhook-id"] for r in receiver.received] == [d.webhook_id for d in failed[1:]]
    for row in failed[1:]:
        row.refresh_from_db()
        assert row.state == DeliveryState.SUCCEEDED and row.attempts == 8


def test_replay_is_refused_for_a_disabled_destination_and_for_a_bad_range(
    admin_client, enabled_tenant, destination, failed
):
    bad = admin_client.post(
        URL + f"destinations/{destination.pk}/replay/",
        {"since": "2026-11-23T00:00", "until": "2026-11-22T00:00"},
    )
    assert bad.status_code == 400 and "The start of the range is after its end." in bad.text
    missing = admin_client.post(URL + f"destinations/{destination.pk}/replay/", {"since": ""})
    assert missing.status_code == 400 and "Enter when the range starts" in missing.text
    WebhookDestination.objects.filter(pk=destination.pk).update(is_enabled=False)
    off = admin_client.post(URL + f"destinations/{destination.pk}/replay/", {"since": "2026-11-01T00:00"})
    assert off.status_code == 400 and "Enable the destination first" in off.text
    assert not WebhookDelivery.objects.filter(state=DeliveryState.PENDING).exists()
    assert not AuditEvent.objects.filter(action=Action.WEBHOOK_DELIVERIES_REPLAYED).exists()


def test_replays_share_the_manual_send_budget(admin_client, enabled_tenant, destination, failed, settings):
    settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE = "1/m"
    path = URL + f"destinations/{destination.pk}/replay/"
    assert admin_client.post(path, {"since": "2026-11-22T12:00"}).status_code == 302
    refused = admin_client.post(path, {"since": "2026-11-22T09:00"}, follow=True)
    assert "too many test events, redeliveries and replays" in refused.text
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 1


def test_the_destination_page_costs_the_same_queries_however_long_its_log(
    admin_client, enabled_tenant, destination
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import WebhookAttemptFactory

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(URL + f"destinations/{destination.pk}/").status_code == 200
        return len(captured)

    WebhookAttemptFactory(delivery=WebhookDeliveryFactory(destination=destination), started_at=T0)
    few = queries()
    for n in range(30):
        delivery = WebhookDeliveryFactory(destination=destination, failed=n % 2 == 0)
        WebhookAttemptFactory(delivery=delivery, started_at=T0 + timedelta(minutes=n))
    assert queries() == few
