"""Regenerating a signing secret with an overlap: receivers holding either key verify every delivery."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accessgov.audit.models import AuditEvent
from accessgov.core.errors import ActionRefused
from tests.factories import UserFactory
from webhooks import actions, events, queue

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
URL = "/t/acme/settings/api/webhooks/"


def _verifies(secret: str, received) -> bool:
    """Return whether a receiver holding only SECRET accepts RECEIVED (the standardwebhooks library)."""
    try:
        Webhook(secret).verify(received.body, received.headers)
    except WebhookVerificationError:
        return False
    return True


def _deliver_one(tenant, sender, receiver):
    events.queue_deliveries(tenant=tenant, event_type="notify", data={"n": len(receiver.received)})
    assert queue.deliver_due(sender=sender) == 1
    return receiver.received[-1]


def test_during_the_overlap_old_key_and_new_key_receivers_both_verify_every_delivery(
    tenant, destination, receiver, sender
):
    old = destination.signing_secret
    with time_machine.travel(T0, tick=False) as clock:
        new = actions.rotate_secret(destination=destination, by=UserFactory(), ip=None, overlap="1h")
        receiver.secret = new
        deliveries = []
        for step in (timedelta(0), timedelta(minutes=30), timedelta(minutes=29, seconds=59)):
            clock.shift(step)
            received = _deliver_one(tenant, sender, receiver)
            assert len(received.headers["webhook-signature"].split(" ")) == 2
            assert _verifies(old, received) and _verifies(new, received), "both receivers accept it"
            deliveries.append(received)
        assert len(deliveries) == 3
        clock.shift(timedelta(seconds=1))  # T0 + 1 hour: the old secret no longer signs
        after = _deliver_one(tenant, sender, receiver)
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert _verifies(new, after) and not _verifies(old, after)
    event = AuditEvent.objects.get(action="destination.secret_rotated")
    assert event.details == {"overlap": "1h", "old_secret_signs_until": (T0 + timedelta(hours=1)).isoformat()}


def test_retiring_the_old_secret_now_leaves_only_the_new_signature(tenant, destination, receiver, sender):
    old = destination.signing_secret
    with time_machine.travel(T0, tick=False):
        new = actions.rotate_secret(destination=destination, by=None, ip=None, overlap="7d")
        receiver.secret = new
        assert _verifies(old, _deliver_one(tenant, sender, receiver))
        assert actions.retire_old_secret(destination=destination, by=None, ip="192.0.2.1") is True
        received = _deliver_one(tenant, sender, receiver)
        assert _verifies(new, received) and not _verifies(old, received)
        assert actions.retire_old_secret(destination=destination, by=None, ip=None) is False
    assert AuditEvent.objects.filter(action="destination.old_secret_retired").count() == 1


def test_no_overlap_stops_the_old_secret_at_once_and_first_use_is_refused(
    tenant, destination, receiver, sender
):
    old = destination.signing_secret
    new = actions.rotate_secret(destination=destination, by=None, ip=None, overlap="none")
    receiver.secret = new
    received = _deliver_one(tenant, sender, receiver)
    assert _verifies(new, received) and not _verifies(old, received)
    with pytest.raises(ActionRefused, match="none, 1 hour, 1 day or 7 days"):
        actions.rotate_secret(destination=destination, by=None, ip=None, overlap="first_use")


def test_the_console_shows_when_the_old_secret_stops_and_retires_it(admin_client, destination):
    with time_machine.travel(T0, tick=False):
        page = admin_client.get(URL + f"destinations/{destination.pk}/secret/rotate/").text
        assert "Until the new secret is first used" not in page and "7 days" in page
        response = admin_client.post(
            URL + f"destinations/{destination.pk}/secret/rotate/", {"confirm": "on", "overlap": "1d"}
        )
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        assert "2026-12-01 09:00 UTC" in response.text
        shown = admin_client.get(URL + f"destinations/{destination.pk}/").text
        assert "2026-12-01 09:00 UTC" in shown and "Retire old secret now" in shown
        assert destination.signing_secret not in shown
        retire = URL + f"destinations/{destination.pk}/secret/retire-old/"
        assert admin_client.get(retire).status_code == 200
        admin_client.post(retire, {"confirm": "on"})
    destination.refresh_from_db()
    assert destination.previous_signing_secret == "" and len(destination.secrets_in_use(T0)) == 1
