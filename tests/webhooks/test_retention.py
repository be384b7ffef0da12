"""`manage.py purge_deliveries`: the delivery log is kept 30 days, then deleted in batches, quietly."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import WebhookAttemptFactory, WebhookDeliveryFactory
from webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db


class CronOutput(StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def log(destination):
    now = timezone.now()
    old = [
        WebhookDeliveryFactory(
            destination=destination,
            state=state,
            created_at=now - timedelta(days=40),
            completed_at=now - timedelta(days=31),
        )
        for state in (DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.FAILED)
    ]
    for delivery in old:
        WebhookAttemptFactory(delivery=delivery, started_at=now - timedelta(days=31))
    # Replayed last week: created long ago, settled recently: kept.
    recent = WebhookDeliveryFactory(
        destination=destination,
        state=DeliveryState.FAILED,
        created_at=now - timedelta(days=40),
        completed_at=now,
    )
    WebhookAttemptFactory(delivery=recent, started_at=now)
    pending = WebhookDeliveryFactory(destination=destination, created_at=now - timedelta(days=90))
    return old, recent, pending


def test_purge_deletes_settled_deliveries_and_attempts_older_than_30_days_in_batches(log, caplog):
    old, recent, pending = log
    out = CronOutput()
    with caplog.at_level("INFO", logger="accessgov.ops"):
        call_command("purge_deliveries", "--batch-size", "2", stdout=out)
    assert out.getvalue().strip() == "Deleted 3 delivery(ies) with 3 attempt(s) in 2 batch(es)."
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert WebhookAttempt.objects.count() == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == "accessgov.ops"]
    assert line.startswith("purge_deliveries finished deliveries=3 attempts=3 batches=2 seconds=")
    # Run again (as cron would): nothing to do, nothing printed, nothing logged.
    caplog.clear()
    again = CronOutput()
    with caplog.at_level("INFO", logger="accessgov.ops"):
        call_command("purge_deliveries", stdout=again)
    assert again.getvalue() == "" and not [r for r in caplog.records if r.name == "accessgov.ops"]


def test_a_dry_run_counts_and_changes_nothing(log):
    out = CronOutput()
    call_command("purge_deliveries", "--dry-run", stdout=out)
    assert "Dry run: 3 delivery(ies) with 3 attempt(s) would be deleted." in out.getvalue()
    assert WebhookDelivery.objects.count() == 5


def test_the_age_is_a_setting_and_an_option(log, settings):
    settings.ACCESSGOV_WEBHOOKS_KEEP_DAYS = 60
    call_command("purge_deliveries", stdout=CronOutput())
    assert WebhookDelivery.objects.count() == 5
    call_command("purge_deliveries", "--days", "7", stdout=CronOutput())
    assert WebhookDelivery.objects.count() == 2
    with pytest.raises(CommandError):
        call_command("purge_deliveries", "--days", "0")
    with pytest.raises(CommandError):
        call_command("purge_deliveries", "--batch-size", "0")


def test_the_console_says_how_long_the_log_is_kept(admin_client, enabled_tenant, destination, settings):
    settings.ACCESSGOV_WEBHOOKS_KEEP_DAYS = 45
    assert "Delivery logs are kept 45 days." in admin_client.get("/t/acme/settings/api/webhooks/").text
    page = admin_client.get(f"/t/acme/settings/api/webhooks/destinations/{destination.pk}/").text
    assert "The delivery log keeps 45 days" in page
