"""Auto-disable with notice: warned after 3 days of failing, disabled after 5, enabled again in one click."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accessgov.audit.models import Action, AuditEvent
from accessgov.core.models import OutgoingMail
from tests.factories import WebhookDeliveryFactory, WebhookDestinationFactory
from webhooks import events, health, queue
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)
URL = "/t/acme/settings/api/webhooks/"


def _page(client, user, path: str = "") -> str:
    """Return the console page at PATH, signed in afresh (days pass in these tests: sessions expire)."""
    client.force_login(user)
    response = client.get(URL + path)
    assert response.status_code == 200
    return response.text


def _queue_notify(tenant) -> WebhookDelivery:
    [delivery] = events.queue_deliveries(tenant=tenant, event_type="notify", data={"n": 1})
    return delivery


@pytest.fixture
def failing_receiver(receiver, settings):
    settings.ACCESSGOV_WEBHOOKS_RETRY_JITTER = 0
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 500
    return receiver


def test_a_destination_failing_for_days_is_warned_then_disabled_and_announced(
    tenant,
    enabled_tenant,
    admin_user,
    destination,
    failing_receiver,
    sender,
    admin_client,
    django_capture_on_commit_callbacks,
):
    admin_user.email = "boss@acme.example"
    admin_user.save(update_fields=["email"])
    listener = WebhookDestinationFactory(
        tenant=tenant, url="https://hooks.example.com/listener", events=["destination.disabled"]
    )
    with time_machine.travel(T0, tick=False) as clock:
        _queue_notify(tenant)
        queue.deliver_pending(sender=sender)
        destination.refresh_from_db()
        assert destination.failing_since == T0 and destination.is_enabled
        # Day 2: still failing (the retries go on), no warning yet.
        clock.shift(timedelta(days=2))
        queue.deliver_pending(sender=sender)
        assert not OutgoingMail.objects.exists()
        assert "disable-warning" in _page(admin_client, admin_user, f"destinations/{destination.pk}/")
        assert "Failing</strong>" not in _page(admin_client, admin_user)
        # Day 3: the worker's review warns once, by mail and in the console.
        clock.shift(timedelta(days=1))
        queue.deliver_pending(sender=sender)
        queue.deliver_pending(sender=sender)
        [warning] = OutgoingMail.objects.filter(kind="webhook_destination_failing")
        # No security contact: the administrators are told.
        assert warning.to == ["boss@acme.example"]
        assert "2026-11-27 09:00" in warning.text_body and destination.url in warning.html_body
        assert AuditEvent.objects.filter(action=Action.WEBHOOK_DESTINATION_FAILING).count() == 1
        page = _page(admin_client, admin_user, f"destinations/{destination.pk}/")
        assert "accessgov disables this destination on <strong>2026-11-27 09:00 UTC</strong>" in page
        assert "disabled on 2026-11-27 09:00 UTC unless a delivery succeeds" in _page(
            admin_client, admin_user
        )
        # Day 5: disabled though no delivery is due any more (the last retry was before).
        clock.shift(timedelta(days=2))
        with django_capture_on_commit_callbacks(execute=True):
            queue.deliver_pending(sender=sender)
    destination.refresh_from_db()
    assert not destination.is_enabled
    assert destination.disabled_reason == "No delivery succeeded for 5 days (since 2026-11-22 09:00 UTC)."
    assert OutgoingMail.objects.filter(kind="webhook_destination_disabled").count() == 1
    assert WebhookDelivery.objects.get(event_type="destination.disabled").destination == listener
    page = _page(admin_client, admin_user, f"destinations/{destination.pk}/")
    assert "by accessgov on 2026-11-27 09:00 UTC: No delivery succeeded for 5 days" in page
    assert "Enable destination" in page


def test_a_success_ends_the_failure_streak_and_the_warning(tenant, destination, failing_receiver, sender):
    with time_machine.travel(T0, tick=False) as clock:
        _queue_notify(tenant)
        queue.deliver_pending(sender=sender)
        clock.shift(timedelta(days=4))
        health.review_failing(now=T0 + timedelta(days=4))
        destination.refresh_from_db()
        assert destination.disable_warned_at is not None
        failing_receiver.behaviour.mode = "ok"
        _queue_notify(tenant)
        queue.deliver_pending(sender=sender)
        clock.shift(timedelta(days=2))
        queue.deliver_pending(sender=sender)
    destination.refresh_from_db()
    assert (
        destination.is_enabled and destination.failing_since is None and destination.disable_warned_at is None
    )


def test_the_days_before_warning_and_disabling_are_settings(
    tenant, destination, failing_receiver, sender, settings
):
    settings.ACCESSGOV_WEBHOOKS_WARN_AFTER_DAYS = 0.5
    settings.ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS = 1
    with time_machine.travel(T0, tick=False):
        _queue_notify(tenant)
        queue.deliver_pending(sender=sender)
    assert health.review_failing(now=T0 + timedelta(hours=13)) == {"warned": 1, "disabled": 0}
    assert health.review_failing(now=T0 + timedelta(hours=24)) == {"warned": 0, "disabled": 1}


def test_enabling_again_is_one_click_audited_and_clears_the_streak(
    admin_client, tenant, enabled_tenant, destination
):
    WebhookDestination.objects.filter(pk=destination.pk).update(
        is_enabled=False, failing_since=T0, disabled_at=T0, disabled_reason="The receiver answered 410 Gone."
    )
    response = admin_client.post(URL + f"destinations/{destination.pk}/enable/", follow=True)
    assert "Destination enabled" in response.text
    destination.refresh_from_db()
    assert destination.is_enabled and destination.failing_since is None and destination.disabled_reason == ""
    event = AuditEvent.objects.get(action=Action.WEBHOOK_DESTINATION_ENABLED)
    assert event.actor.username == "acme-admin"
    assert event.details["was_disabled"]["reason"] == "The receiver answered 410 Gone."
    again = admin_client.post(URL + f"destinations/{destination.pk}/enable/", follow=True)
    assert "already enabled" in again.text
    assert admin_client.get(URL + f"destinations/{destination.pk}/enable/").status_code == 405


def test_enabling_through_the_edit_form_also_clears_the_streak(
    admin_client, enabled_tenant, destination, loopback_settings
):
    WebhookDestination.objects.filter(pk=destination.pk).update(
        is_enabled=False, failing_since=T0 - timedelta(days=6), disabled_reason="x"
    )
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/edit/",
        {"url": destination.url, "events": destination.events, "is_enabled": "on"},
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.is_enabled and destination.failing_since is None
    assert health.review_failing(now=T0) == {"warned": 0, "disabled": 0}


def test_governance_refusals_do_not_count_as_the_receiver_failing(tenant, destination, receiver, sender):
    WebhookDestination.objects.filter(pk=destination.pk).update(is_enabled=False)
    delivery = WebhookDeliveryFactory(destination=destination)
    queue.deliver_due(sender=sender)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    destination.refresh_from_db()
    assert destination.failing_since is None and receiver.received == []
