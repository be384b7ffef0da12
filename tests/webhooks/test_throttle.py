"""Per-destination throttle and lanes: a burst is paced, a slow receiver holds only its own deliveries."""

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import WebhookDeliveryFactory, WebhookDestinationFactory
from webhooks import queue
from webhooks.models import WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db


def _burst(destination, count: int) -> list[WebhookDelivery]:
    return [WebhookDeliveryFactory(destination=destination) for _ in range(count)]


def test_claiming_skips_a_destination_at_its_concurrency_limit_and_serves_the_others(tenant, settings):
    settings.ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = 3
    busy = WebhookDestinationFactory(tenant=tenant)
    calm = WebhookDestinationFactory(tenant=tenant)
    _burst(busy, 30)
    theirs = _burst(calm, 2)
    now = timezone.now()
    first = queue.claim_due(now=now, limit=20)
    assert sorted(d.destination_id for d in first).count(busy.pk) == 3
    assert {d.pk for d in first if d.destination_id == calm.pk} == {d.pk for d in theirs}
    # The three are still in flight (their outcome not recorded): nothing more of BUSY is claimed.
    assert queue.claim_due(now=now, limit=20) == []


def test_a_destinations_own_limits_override_the_settings(tenant, settings):
    settings.ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = 3
    wide = WebhookDestinationFactory(tenant=tenant, max_concurrency=10)
    _burst(wide, 30)
    assert len(queue.claim_due(now=timezone.now(), limit=20)) == 10


def test_the_rate_limit_counts_claims_in_the_last_second(tenant, settings):
    settings.ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = 100
    settings.ACCESSGOV_WEBHOOKS_MAX_PER_SECOND = 5
    destination = WebhookDestinationFactory(tenant=tenant)
    _burst(destination, 12)
    now = timezone.now()
    claimed = queue.claim_due(now=now, limit=20)
    assert len(claimed) == 5
    # Their outcome recorded at once: none in flight, but the second is used up.
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
        lease_expires_at=None, state="succeeded"
    )
    assert queue.claim_due(now=now, limit=20) == []
    assert len(queue.claim_due(now=now + timezone.timedelta(seconds=1.5), limit=20)) == 5


def test_the_healthy_lane_never_takes_a_destination_failing_for_over_a_minute(tenant):
    now = timezone.now()
    failing = WebhookDestinationFactory(tenant=tenant, failing_since=now - timezone.timedelta(minutes=2))
    blip = WebhookDestinationFactory(tenant=tenant, failing_since=now - timezone.timedelta(seconds=5))
    healthy = WebhookDestinationFactory(tenant=tenant)
    bad = WebhookDeliveryFactory(destination=failing)
    good = {WebhookDeliveryFactory(destination=blip).pk, WebhookDeliveryFactory(destination=healthy).pk}
    now = timezone.now()
    assert {d.pk for d in queue.claim_due(now=now, lane=queue.HEALTHY_LANE)} == good
    assert [d.pk for d in queue.claim_due(now=now, lane=queue.FAILING_LANE)] == [bad.pk]


def test_a_worker_adds_a_quarter_more_threads_for_failing_destinations():
    assert queue.lanes_of_threads(1) == [(queue.ANY_LANE,)]
    lanes = queue.lanes_of_threads(8)
    assert lanes.count((queue.HEALTHY_LANE,)) == 8
    assert lanes.count((queue.FAILING_LANE,)) == 2
    assert queue.lanes_of_threads(2).count((queue.FAILING_LANE,)) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="threads writing at once need PostgreSQL")
def test_several_worker_threads_send_everything_once(tenant, destination, receiver, loopback_settings):
    from webhooks import events

    loopback_settings.ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = 10
    queued = [
        d
        for n in range(12)
        for d in events.queue_deliveries(tenant=tenant, event_type="notify", data={"n": n})
    ]
    queue.run_worker(workers=3, max_loops=6, interval=0.05)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(d.webhook_id for d in queued)
    assert not WebhookDestination.objects.filter(pk=destination.pk, failing_since__isnull=False).exists()
