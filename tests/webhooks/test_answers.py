"""What a receiver's answers make accessgov do: 410 stops, Retry-After is honoured, the schedule jitters."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accessgov.audit.models import Action, AuditEvent
from accessgov.core.models import OutgoingMail
from tests.factories import WebhookDestinationFactory
from tests.webhooks.conftest import RECEIVER_HOST
from webhooks import events, queue, schedule
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


def _queue_notify(tenant, data=None) -> WebhookDelivery:
    [delivery] = events.queue_deliveries(tenant=tenant, event_type="notify", data=data or {"n": 1})
    return delivery


@pytest.fixture
def no_jitter(settings):
    settings.ACCESSGOV_WEBHOOKS_RETRY_JITTER = 0
    return settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Sun, 22 Nov 2026 09:05:00 GMT", timedelta(minutes=5)),
        ("Sun, 22 Nov 2026 08:00:00 GMT", timedelta(0)),  # a date in the past asks for no wait
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value, expected):
    assert schedule.parse_retry_after(value, now=T0) == expected


def test_jitter_only_lengthens_a_delay_by_at_most_its_share(settings):
    settings.ACCESSGOV_WEBHOOKS_RETRY_JITTER = 0.1
    rng = random.Random(7)
    waits = {
        schedule.judge(
            ok=False, status_code=500, retry_after="", attempts=3, max_attempts=11, now=T0, rng=rng
        ).retry_at
        - T0
        for _ in range(200)
    }
    assert len(waits) > 100, "receivers failing together are spread out"
    assert all(timedelta(minutes=30) <= wait <= timedelta(minutes=33) for wait in waits)


def test_a_410_gone_disables_the_destination_at_once_with_notice_and_a_signed_event(
    tenant, enabled_tenant, destination, receiver, sender, django_capture_on_commit_callbacks
):
    tenant.security_contacts = ["security@acme.example"]
    tenant.save(update_fields=["security_contacts"])
    other = WebhookDestinationFactory(
        tenant=tenant, url=f"https://{RECEIVER_HOST}:{receiver.port}/other", events=["destination.disabled"]
    )
    WebhookDestinationFactory(
        tenant=tenant, url=f"https://{RECEIVER_HOST}:{receiver.port}/quiet", events=["test"]
    )
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 410
    first, second = _queue_notify(tenant), _queue_notify(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        queue.deliver_due(sender=sender, limit=1)
    destination.refresh_from_db()
    assert not destination.is_enabled and destination.disabled_reason == "The receiver answered 410 Gone."
    first.refresh_from_db()
    assert first.state == DeliveryState.FAILED, "not retried"
    event = AuditEvent.objects.get(action=Action.WEBHOOK_DESTINATION_DISABLED)
    assert event.actor_label == "accessgov" and event.details["reason"] == destination.disabled_reason
    [notice] = OutgoingMail.objects.filter(kind="webhook_destination_disabled")
    assert notice.to == ["security@acme.example"] and destination.url in notice.text_body
    assert "410 Gone" in notice.text_body and "410 Gone" in notice.html_body
    # The signed event goes to the other destination that subscribes, not to the quiet one.
    [announced] = WebhookDelivery.objects.filter(event_type="destination.disabled")
    assert announced.destination == other
    receiver.behaviour.mode = "ok"
    receiver.secret = other.signing_secret
    queue.deliver_due(sender=sender)
    received = [r for r in receiver.received if r.path == "/other"]
    assert len(received) == 1 and received[0].verified
    assert received[0].payload["type"] == "destination.disabled"
    assert received[0].payload["data"]["details"]["url"] == destination.url
    # The second delivery to the disabled destination is not sent.
    second.refresh_from_db()
    assert second.state == DeliveryState.FAILED
    assert "disabled" in second.attempt_log.get().error
    assert len([r for r in receiver.received if r.path == "/hooks"]) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured_no_sooner_than_asked(
    tenant, destination, receiver, sender, no_jitter, status
):
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = status
    receiver.behaviour.headers = {"Retry-After": "120"}
    with time_machine.travel(T0, tick=False) as clock:
        delivery = _queue_notify(tenant)
        queue.deliver_due(sender=sender)
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + timedelta(seconds=120)
        assert delivery.next_attempt_reason == "Retry-After asked 120 s."
        clock.shift(timedelta(seconds=119))
        assert queue.deliver_due(sender=sender) == 0, "the schedule's 5 s would have been sooner"
        clock.shift(timedelta(seconds=1))
        receiver.behaviour.mode = "ok"
        assert queue.deliver_due(sender=sender) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.webhook_id] * 2


def test_retry_after_as_an_http_date_is_honoured_and_a_huge_one_is_capped(
    tenant, destination, receiver, sender, no_jitter
):
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 503
    receiver.behaviour.headers = {"Retry-After": "Sun, 22 Nov 2026 09:10:00 GMT"}
    with time_machine.travel(T0, tick=False):
        delivery = _queue_notify(tenant)
        queue.deliver_due(sender=sender)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + timedelta(minutes=10)
    receiver.behaviour.headers = {"Retry-After": str(30 * 86400)}
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        queue.deliver_due(sender=sender)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + timedelta(minutes=10, hours=12)
    assert delivery.next_attempt_reason == "Retry-After asked 2592000 s (capped)."


def test_retry_after_on_other_answers_is_ignored_and_the_schedule_is_followed(
    tenant, destination, receiver, sender, no_jitter
):
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 500
    receiver.behaviour.headers = {"Retry-After": "3600"}
    with time_machine.travel(T0, tick=False):
        delivery = _queue_notify(tenant)
        queue.deliver_due(sender=sender)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == T0 + timedelta(seconds=5)
    assert delivery.next_attempt_reason == "Retry 1 of 10 on the schedule (5 s)."
    assert WebhookDestination.objects.get(pk=destination.pk).failing_since == T0
