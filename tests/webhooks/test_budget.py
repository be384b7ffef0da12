"""The budget of governance-event deliveries per tenant: past it deliveries wait, none is lost."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accessgov.audit.models import Action
from tests.conftest import enable_api
from tests.factories import ApprovedWebhookDomainFactory, WebhookDestinationFactory
from tests.webhooks.conftest import RECEIVER_HOST
from webhooks import events, queue
from webhooks.models import DeliveryState, WebhookDelivery

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)  # a whole minute and hour


def _governance_events(tenant, count: int) -> list[WebhookDelivery]:
    queued = []
    for n in range(count):
        queued += events.queue_deliveries(
            tenant=tenant, event_type=Action.WEBHOOK_DOMAIN_ADDED, data={"n": n}
        )
    return queued


def test_governance_deliveries_past_the_tenants_budget_wait_for_the_next_window_and_none_is_lost(
    tenant, destination, receiver, sender, settings
):
    settings.ACCESSGOV_TENANT_WEBHOOK_RATE = [(3, 60), (100, 3600)]
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False) as clock:
        queued = _governance_events(tenant, 5)
        notify = events.queue_deliveries(tenant=tenant, event_type=events.NOTIFY, data={"n": 1})
        run = queue.deliver_pending(sender=sender)
        assert run.delivered == 4  # three governance events, and Notify (its own budget is at the API)
        waiting = WebhookDelivery.objects.filter(state=DeliveryState.PENDING)
        assert waiting.count() == 2
        # Deferred, not retried: no attempt counted, due when the minute window starts again.
        assert {(d.attempts, d.next_attempt_at) for d in waiting} == {(0, T0 + timedelta(seconds=60))}
        clock.shift(timedelta(seconds=49))
        assert queue.deliver_pending(sender=sender).attempted == 0
        clock.shift(timedelta(seconds=1))
        assert queue.deliver_pending(sender=sender).delivered == 2
    assert all(r.verified for r in receiver.received)
    assert {r.headers["webhook-id"] for r in receiver.received} == {d.webhook_id for d in queued + notify}
    assert not WebhookDelivery.objects.exclude(state=DeliveryState.SUCCEEDED).exists()


def test_a_tenant_past_its_budget_does_not_hold_back_another_tenants_governance_events(
    tenant, other_tenant, other_admin, destination, receiver, sender, settings
):
    settings.ACCESSGOV_TENANT_WEBHOOK_RATE = [(2, 3600)]
    enable_api(other_tenant, by=other_admin)
    ApprovedWebhookDomainFactory(tenant=other_tenant, domain=RECEIVER_HOST)
    WebhookDestinationFactory(
        tenant=other_tenant,
        url=destination.url,
        host=RECEIVER_HOST,
        events=[Action.WEBHOOK_DOMAIN_ADDED],
        signing_secret=destination.signing_secret,
    )
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        flood = _governance_events(tenant, 40)
        theirs = _governance_events(other_tenant, 2)
        run = queue.deliver_pending(sender=sender)
    assert run.delivered == 4
    assert {d.state for d in WebhookDelivery.objects.filter(pk__in=[d.pk for d in theirs])} == {
        DeliveryState.SUCCEEDED
    }
    held = WebhookDelivery.objects.filter(pk__in=[d.pk for d in flood], state=DeliveryState.PENDING)
    assert held.count() == 38
    assert set(held.values_list("next_attempt_at", flat=True)) == {T0 + timedelta(hours=1)}
