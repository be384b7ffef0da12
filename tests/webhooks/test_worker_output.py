"""What `deliver_webhooks` prints on a terminal and under cron, and the one line it logs per run."""

import re
from io import StringIO

import pytest
from django.core.management import call_command

from webhooks import events, queue
from webhooks.models import DeliveryState, WebhookDelivery

pytestmark = pytest.mark.django_db

LOG_LINE = re.compile(
    r"^deliver_webhooks (finished|round) attempted=(\d+) delivered=(\d+) retrying=(\d+) failed=(\d+) "
    r"rounds=(\d+) seconds=\d+\.\d\d$"
)


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


class CronOutput(StringIO):
    def isatty(self) -> bool:
        return False


def _queue(tenant, count: int = 1) -> list[WebhookDelivery]:
    return [
        delivery
        for n in range(count)
        for delivery in events.queue_deliveries(tenant=tenant, event_type="notify", data={"n": n})
    ]


def _once(*args: str, tty: bool) -> str:
    out = Terminal() if tty else CronOutput()
    call_command("deliver_webhooks", "--once", *args, stdout=out)
    return out.getvalue()


def _ops_lines(caplog) -> list[tuple[str, ...]]:
    return [LOG_LINE.match(r.getMessage()).groups() for r in caplog.records if r.name == "accessgov.ops"]


def test_on_a_terminal_every_attempt_and_round_is_printed_then_the_summary(
    tenant, destination, receiver, loopback_settings
):
    # All 22 go to one destination: lift its throttle, which has its own tests.
    loopback_settings.ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = (
        loopback_settings.ACCESSGOV_WEBHOOKS_MAX_PER_SECOND
    ) = 100
    deliveries = _queue(tenant, 22)
    lines = _once(tty=True).splitlines()
    attempts = [line for line in lines if " attempt 1 to hooks.example.com: 200 (" in line]
    assert len(attempts) == 22
    assert all(line.startswith("acme: notify msg_") for line in attempts)
    # Rounds of queue.BATCH_SIZE claims, so leases are taken only shortly before sending.
    assert [line for line in lines if line.startswith("Round")] == [
        "Round 1: 20 attempted, 20 so far.",
        "Round 2: 2 attempted, 22 so far.",
    ]
    assert lines[-1] == "Attempted 22 webhook deliveries: 22 delivered, 0 to retry, 0 failed."
    assert {d.webhook_id for d in deliveries} == {r.headers["webhook-id"] for r in receiver.received}


def test_under_cron_only_the_summary_is_printed_and_nothing_when_nothing_was_due(
    tenant, destination, receiver, loopback_settings
):
    assert _once(tty=False) == ""
    assert _once(tty=True) == "Attempted 0 webhook deliveries: 0 delivered, 0 to retry, 0 failed.\n"
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 500
    [delivery] = _queue(tenant)
    assert _once(tty=False) == "Attempted 1 webhook deliveries: 0 delivered, 1 to retry, 0 failed.\n"
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.next_attempt_at is not None
    # The retry is 5 s away: a second run now has nothing to do and says nothing.
    assert _once(tty=False) == ""
    assert _once("-v", "0", tty=True) == ""


def test_each_run_logs_one_structured_line_and_the_worker_one_per_busy_round(
    tenant, destination, receiver, loopback_settings, caplog
):
    _queue(tenant, 2)
    with caplog.at_level("INFO", logger="accessgov.ops"):
        _once(tty=False)
        _once(tty=False)
    assert _ops_lines(caplog) == [
        ("finished", "2", "2", "0", "0", "1"),
        ("finished", "0", "0", "0", "0", "0"),
    ]
    caplog.clear()
    _queue(tenant, 1)
    naps = []
    with caplog.at_level("INFO", logger="accessgov.ops"):
        queue.run_worker(interval=3, max_loops=2, sleep=naps.append)
    # The idle round sleeps and logs nothing, so an idle worker does not fill the log.
    assert naps == [3]
    assert _ops_lines(caplog) == [("round", "1", "1", "0", "0", "1")]


def test_a_run_stops_at_its_limit_and_leaves_the_rest_for_the_next(
    tenant, destination, receiver, loopback_settings
):
    _queue(tenant, 5)
    run = queue.deliver_pending(limit=3)
    assert (run.attempted, run.delivered, run.rounds) == (3, 3, 1)
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 2
    assert queue.deliver_pending().attempted == 2
