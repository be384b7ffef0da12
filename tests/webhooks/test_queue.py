"""The delivery queue: retries on schedule, at-least-once after a killed worker, send-time checks."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import time_machine
from django.core import checks
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accessgov.policy.models import ApiUser
from tests.factories import WebhookDeliveryFactory, WebhookDestinationFactory
from webhooks import actions, events, queue
from webhooks.models import ApprovedWebhookDomain, DeliveryState, WebhookDelivery
from webhooks.schedule import MAX_ATTEMPTS, RETRY_DELAYS

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 22, 9, 0, 0, tzinfo=UTC)


def _queue_notify(tenant, data=None) -> WebhookDelivery:
    [delivery] = events.queue_deliveries(tenant=tenant, event_type="notify", data=data or {"n": 1})
    return delivery


def test_a_queued_delivery_is_sent_signed_and_marked_delivered(tenant, destination, receiver, sender):
    delivery = _queue_notify(tenant, {"hello": "world"})
    assert queue.deliver_due(sender=sender) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 1
    [received] = receiver.received
    assert received.verified and received.headers["webhook-id"] == delivery.webhook_id
    assert received.payload["type"] == "notify" and received.payload["data"] == {"hello": "world"}
    attempt = delivery.attempt_log.get()
    assert attempt.succeeded and attempt.status_code == 200 and attempt.number == 1
    assert ApprovedWebhookDomain.objects.get(tenant=tenant).last_delivery_at is not None
    assert queue.deliver_due(sender=sender) == 0


def test_failures_are_retried_after_5s_5min_30min_2h_5h_10h_then_every_12h_for_3_days(
    tenant, destination, receiver, sender, settings
):
    settings.ACCESSGOV_WEBHOOKS_RETRY_JITTER = 0  # the jitter has its own test
    settings.ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS = 30  # not disabled half-way
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 500
    assert [d.total_seconds() for d in RETRY_DELAYS] == [5, 300, 1800, 7200, 18000, 36000] + [43200] * 4
    assert timedelta(days=2.5) < sum(RETRY_DELAYS, timedelta()) < timedelta(days=3)
    with time_machine.travel(T0, tick=False) as clock:
        delivery = _queue_notify(tenant)
        assert queue.deliver_due(sender=sender) == 1
        for delay in RETRY_DELAYS:
            clock.shift(delay - timedelta(seconds=1))
            assert queue.deliver_due(sender=sender) == 0, "not due one second early"
            clock.shift(timedelta(seconds=1))
            assert queue.deliver_due(sender=sender) == 1
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.FAILED and delivery.attempts == MAX_ATTEMPTS == 11
        clock.shift(timedelta(days=2))
        assert queue.deliver_due(sender=sender) == 0
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {delivery.webhook_id} and len(receiver.received) == 11
    assert all(r.verified for r in receiver.received)
    assert [a.number for a in delivery.attempt_log.order_by("started_at")] == list(range(1, 12))


def test_a_worker_killed_mid_delivery_is_recovered_with_the_same_webhook_id(
    tenant, destination, receiver, sender
):
    class KilledAfterSending:
        """The real sender, then the process dies before the outcome is written."""

        allow_loopback = True

        def post(self, **kwargs):
            sender.post(**kwargs)
            raise KeyboardInterrupt("worker killed")

    with time_machine.travel(T0, tick=False) as clock:
        delivery = _queue_notify(tenant)
        with pytest.raises(KeyboardInterrupt):
            queue.deliver_due(sender=KilledAfterSending())
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
        assert queue.deliver_due(sender=sender) == 0, "the dead worker's lease still holds"
        clock.shift(timedelta(minutes=2))
        assert queue.deliver_due(sender=sender) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.webhook_id] * 2


def test_a_claimed_delivery_cannot_be_claimed_twice(tenant, destination):
    delivery = _queue_notify(tenant)
    now = delivery.next_attempt_at
    assert [d.pk for d in queue.claim_due(now=now)] == [delivery.pk]
    assert queue.claim_due(now=now) == []
    assert queue.claim(delivery.pk, now=now) is None


def test_claiming_uses_skip_locked_where_the_database_has_it(tenant, destination):
    from django.test.utils import CaptureQueriesContext

    _queue_notify(tenant)
    with CaptureQueriesContext(connection) as queries:
        queue.claim_due(now=datetime.now(tz=UTC) + timedelta(seconds=1))
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert any("SKIP LOCKED" in select for select in selects) == (
        connection.features.has_select_for_update_skip_locked
    )


def test_one_tenants_flood_does_not_delay_another_tenants_delivery(tenant, other_tenant, capsys):
    # Disabled destinations: every attempt is recorded at once ("Not sent"), no network needed.
    flooded = WebhookDestinationFactory(tenant=tenant, is_enabled=False)
    other = WebhookDestinationFactory(tenant=other_tenant, is_enabled=False)
    earlier = timezone.now() - timedelta(minutes=5)
    WebhookDelivery.objects.bulk_create(
        WebhookDeliveryFactory.build(destination=flooded, tenant=tenant, next_attempt_at=earlier)
        for _ in range(500)
    )
    theirs = WebhookDeliveryFactory(destination=other)
    call_command("deliver_webhooks", "--once", verbosity=2)
    output = capsys.readouterr().out
    first_round = output[: output.index("Round 1:")]
    assert f"{other_tenant.slug}: notify {theirs.webhook_id} attempt 1" in first_round
    assert first_round.count(f"{tenant.slug}: notify") < queue.BATCH_SIZE


def test_case_28_removing_the_domain_blocks_queued_deliveries_at_send(
    tenant, destination, receiver, sender, admin_user
):
    delivery = _queue_notify(tenant)
    ApprovedWebhookDomain.objects.filter(tenant=tenant).delete()
    assert queue.deliver_due(sender=sender) == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "no longer on the approved domain list" in delivery.attempt_log.get().error
    assert receiver.received == []


def test_a_name_rebound_to_a_private_address_after_saving_is_blocked_at_send(
    tenant, destination, receiver, sender, dns
):
    """Attack catalogue case 28: a name rebound to a private address is blocked at send."""
    delivery = _queue_notify(tenant)
    dns.table["hooks.example.com"] = ["10.0.0.5"]
    queue.deliver_due(sender=sender)
    attempt = delivery.attempt_log.get()
    assert not attempt.succeeded and "10.0.0.5" in attempt.error
    assert receiver.received == []


def test_nothing_is_sent_while_api_access_is_off_or_the_destination_is_disabled(
    tenant, destination, receiver, sender
):
    first = _queue_notify(tenant)
    ApiUser.objects.filter(tenant=tenant).update(is_active=False)
    queue.deliver_due(sender=sender)
    assert "API access is off" in first.attempt_log.get().error
    ApiUser.objects.filter(tenant=tenant).update(is_active=True)
    second = _queue_notify(tenant)
    type(destination).objects.filter(pk=destination.pk).update(is_enabled=False)
    queue.deliver_due(sender=sender)
    assert "disabled" in second.attempt_log.get().error
    assert receiver.received == []


def test_the_command_with_once_delivers_what_is_due(tenant, destination, receiver, loopback_settings, capsys):
    delivery = _queue_notify(tenant)
    call_command("deliver_webhooks", "--once")
    assert "Attempted 1 webhook deliveries: 1 delivered, 0 to retry, 0 failed." in capsys.readouterr().out
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert receiver.received[0].verified


def test_the_worker_loop_sleeps_when_nothing_is_due(tenant, destination, receiver, loopback_settings):
    _queue_notify(tenant)
    naps = []
    queue.run_worker(interval=7, max_loops=2, sleep=naps.append)
    assert naps == [7]
    assert len(receiver.received) == 1


def test_send_notification_queues_notify_to_subscribed_enabled_destinations_only(
    tenant, destination, enabled_tenant
):
    from tests.factories import WebhookDestinationFactory

    WebhookDestinationFactory(tenant=tenant, url="https://hooks.example.com/b", events=["test"])
    WebhookDestinationFactory(tenant=tenant, url="https://hooks.example.com/c", disabled=True)
    count = actions.send_notification(
        tenant=tenant, payload={"alert": "disk"}, actor_label="token agt_x", ip="192.0.2.9"
    )
    assert count == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.destination == destination and delivery.event_type == "notify"
    assert '"notification":{"alert":"disk"}' in delivery.body and "token agt_x" in delivery.body


def test_send_notification_is_refused_when_api_access_is_off(tenant, destination):
    ApiUser.objects.filter(tenant=tenant).update(is_active=False)
    tenant.refresh_from_db()  # the factory left the active API user on this object
    with pytest.raises(actions.ActionRefused):
        actions.send_notification(tenant=tenant, payload={}, actor_label="t", ip=None)
    assert not WebhookDelivery.objects.exists()


def test_governance_events_are_queued_after_commit_without_secrets(
    tenant, destination, admin_user, django_capture_on_commit_callbacks
):
    from accessgov.policy import actions as api_actions

    with django_capture_on_commit_callbacks(execute=True):
        api_key, raw = api_actions.issue_api_key(
            tenant=tenant, name="PSA sync", by=admin_user, ip="192.0.2.1"
        )
    delivery = WebhookDelivery.objects.get(event_type="api_key.created")
    assert raw not in delivery.body and api_key.digest not in delivery.body
    assert "192.0.2.1" not in delivery.body
    assert '"action":"api_key.created"' in delivery.body and "PSA sync" in delivery.body


def test_turning_api_access_off_still_announces_it_and_nothing_after(
    tenant, destination, admin_user, django_capture_on_commit_callbacks
):
    from accessgov.policy import actions as api_actions

    with django_capture_on_commit_callbacks(execute=True):
        api_actions.disable_api_access(tenant=tenant, by=admin_user, ip=None)
    assert WebhookDelivery.objects.filter(event_type="api_access.disabled").count() == 1
    from accessgov.audit.actions import Action, record_event

    with django_capture_on_commit_callbacks(execute=True):
        record_event(tenant=tenant, actor=admin_user, action=Action.WEBHOOK_DOMAIN_ADDED)
    assert not WebhookDelivery.objects.filter(event_type="domain.added").exists()


def test_the_event_announcing_api_access_off_is_still_delivered(tenant, destination, receiver, sender):
    ApiUser.objects.filter(tenant=tenant).update(is_active=False)
    [delivery] = events.queue_deliveries(tenant=tenant, event_type="api_access.disabled", data={})
    queue.deliver_due(sender=sender)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert receiver.received[0].payload["type"] == "api_access.disabled"


def test_the_loopback_setting_is_off_by_default(settings):
    from webhooks.delivery import loopback_allowed, sender_from_settings

    assert not hasattr(settings, "ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY") or not (
        settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY
    )
    assert not loopback_allowed()
    assert not sender_from_settings().allow_loopback


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the run lock is a PostgreSQL advisory lock")
def test_a_second_once_run_exits_quietly_while_the_first_holds_the_lock(tenant, destination, caplog):
    delivery = _queue_notify(tenant)
    settings_dict = connection.settings_dict
    # Another process's session, as a still-running cron job would hold it.
    with psycopg.connect(
        dbname=settings_dict["NAME"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"] or 5432,
        user=settings_dict["USER"],
        autocommit=True,
    ) as first:
        first.execute("SELECT pg_advisory_lock(%s)", [queue.ONCE_LOCK_KEY])
        with caplog.at_level("INFO", logger="accessgov.ops"):
            call_command("deliver_webhooks", "--once")  # returns: exit status 0
        lines = [r.getMessage() for r in caplog.records if r.name == "accessgov.ops"]
        assert lines == ["deliver_webhooks skipped: another --once run is still going"]
        delivery.refresh_from_db()
        assert delivery.attempts == 0 and delivery.state == DeliveryState.PENDING
    caplog.clear()
    with caplog.at_level("INFO", logger="accessgov.ops"):
        call_command("deliver_webhooks", "--once")
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_check_deploy_warns_while_the_loopback_switch_is_on(settings):
    settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = True
    found = [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "webhooks.W001" in found
    settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = False
    assert "webhooks.W001" not in [m.id for m in checks.run_checks(include_deployment_checks=True)]
    assert "webhooks.W001" not in [m.id for m in checks.run_checks()]
