"""The database-backed delivery queue that `manage.py deliver_webhooks` works through.

A worker claims due deliveries (SELECT ... FOR UPDATE SKIP LOCKED where the database has it) by
giving each a lease and counting the attempt, commits, and only then sends, so no transaction
stays open across the network. A worker killed mid-delivery leaves the lease behind; when it
runs out the delivery is due again and goes out with the same webhook-id (at-least-once).
"""

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from itertools import zip_longest

from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from accessgov.audit.models import Action
from accessgov.core import mail
from accessgov.policy.access import access_on
from tenants.models import Tenant
from webhooks import budget, health, schedule, throttle
from webhooks.delivery import SafeSender, SendResult, sender_from_settings
from webhooks.destinations import InvalidUrl, parse_destination_url
from webhooks.models import (
    LEASE,
    ApprovedWebhookDomain,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDestination,
)
from webhooks.signing import signature_headers

logger = logging.getLogger(__name__)
ops_logger = logging.getLogger("accessgov.ops")
BATCH_SIZE = 20
MAX_PER_RUN = 1000  # attempts in one `deliver_webhooks --once`, so a cron run ends


def claim(delivery_id: int, *, now) -> WebhookDelivery | None:
    """Take the lease on one pending delivery and count the attempt; return it, or None if taken."""
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_expires_at=now + LEASE, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("destination", "tenant").get(pk=delivery_id)


# Lanes of a worker's threads (run_worker): a destination failing for longer than SLOW_LANE_AFTER
# goes to the slow lane, so receivers that hang hold only the threads kept for them. A single
# failure (a blip, a quick 500) does not move a destination: its first retry stays in its lane.
ANY_LANE = "any"
HEALTHY_LANE = "healthy"
FAILING_LANE = "failing"
SLOW_LANE_AFTER = timedelta(minutes=1)


def _in_lane(due, lane: str, now):
    slow = Q(destination__failing_since__lte=now - SLOW_LANE_AFTER)
    if lane == HEALTHY_LANE:
        return due.exclude(slow)
    if lane == FAILING_LANE:
        return due.filter(slow)
    return due


def _round_robin(queues: list[list]) -> list:
    """Return the first of each queue, then the second of each, and so on."""
    return [item for turn in zip_longest(*queues) for item in turn if item is not None]


def _without_full_destinations(due, usage: dict):
    """Return DUE without the destinations at their concurrency or rate limit (webhooks.throttle)."""
    if not usage:
        return due
    limits = WebhookDestination.objects.filter(pk__in=usage).values_list(
        "pk", "max_concurrency", "max_per_second"
    )
    full = [
        pk
        for pk, concurrency, per_second in limits
        if throttle.room(usage=usage[pk], max_concurrency=concurrency, max_per_second=per_second) <= 0
    ]
    return due.exclude(destination_id__in=full) if full else due


def _tenant_pks(due, tenant_id: int, share: int, usage: dict, room: budget.Room) -> list[int]:
    """Return up to SHARE due ids of TENANT_ID, its destinations taking turns within their throttle.

    Governance events beyond ROOM (the tenant's budget, webhooks.budget) are left due.
    """
    destinations = (
        due.filter(tenant_id=tenant_id)
        .values("destination_id")
        .annotate(
            oldest=Min("next_attempt_at"),
            concurrency=Max("destination__max_concurrency"),
            per_second=Max("destination__max_per_second"),
        )
        .order_by("oldest", "destination_id")[:share]
    )
    per_destination = []
    for row in destinations:
        free = throttle.room(
            usage=usage.get(row["destination_id"], throttle.Usage()),
            max_concurrency=row["concurrency"],
            max_per_second=row["per_second"],
        )
        # Equal times (a replay queues a range at once) go oldest message first.
        rows = due.filter(destination_id=row["destination_id"]).order_by(
            "next_attempt_at", "created_at", "pk"
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        per_destination.append(list(rows.values_list("pk", "event_type")[: min(free, share)]))
    picked, governance = [], 0
    for pk, event_type in _round_robin(per_destination):
        if event_type not in budget.UNBUDGETED:
            if governance >= room.remaining:
                continue  # past the budget: still due, deferred by the next round
            governance += 1
        picked.append(pk)
    return picked[:share]


def claim_due(*, now, limit: int = BATCH_SIZE, due_by=None, lane: str = ANY_LANE) -> list[WebhookDelivery]:
    """Claim up to LIMIT deliveries due by DUE_BY (default NOW) that no worker holds, shared fairly.

    Tenants take turns: each tenant with something due gets an equal share of the round (its
    oldest due first), so one tenant's flood or hanging receivers cannot push another's back.
    Within a tenant its destinations take turns too, each within its throttle (webhooks.throttle),
    and a destination at its limit is skipped. A tenant whose governance-event budget is used up
    has those deliveries deferred to when it has room again (webhooks.budget), not claimed. LANE
    picks healthy or failing destinations only.
    """
    usage = throttle.usage_by_destination(now)
    due = _without_full_destinations(_in_lane(WebhookDelivery.objects.due(due_by or now), lane, now), usage)
    with transaction.atomic():
        # Tenants whose oldest due delivery waited longest come first, at most LIMIT of them.
        tenant_ids = list(
            due.values("tenant_id")
            .annotate(oldest=Min("next_attempt_at"))
            .order_by("oldest", "tenant_id")
            .values_list("tenant_id", flat=True)[:limit]
        )
        if not tenant_ids:
            return []
        # Claim rounds of the same tenants take turns across workers (PostgreSQL), so two workers
        # cannot both spend what is left of one tenant's budget.
        list(Tenant.objects.select_for_update().filter(pk__in=tenant_ids).order_by("pk").values_list("pk"))
        rooms = budget.room_of(tenant_ids, now=now)
        share = max(1, -(-limit // len(tenant_ids)))
        per_tenant = []
        for tenant_id in tenant_ids:
            room = rooms[tenant_id]
            if room.free_at is not None:
                deferred = budget.defer_governance(due, tenant_id=tenant_id, until=room.free_at)
                logger.info(
                    "Deferred %d webhook deliveries of tenant %s to %s", deferred, tenant_id, room.free_at
                )
            per_tenant.append(_tenant_pks(due, tenant_id, share, usage, room))
        ids = _round_robin(per_tenant)[:limit]
        # The conditional update in claim() is what makes a claim exclusive where SKIP LOCKED is
        # missing (SQLite serialises writers, so the second claimer updates no row).
        return [delivery for delivery in (claim(pk, now=now) for pk in ids) if delivery is not None]


def _refusal_before_sending(delivery: WebhookDelivery, approved: list[str]) -> str:
    destination = delivery.destination
    # The one event allowed out while API access is off is the one announcing it.
    if delivery.event_type != Action.API_ACCESS_DISABLED and not access_on(delivery.tenant):
        return "Not sent: API access is off for this tenant."
    if not destination.is_enabled:
        return "Not sent: the destination is disabled."
    if destination.approved_by(approved) is None:
        return f"Blocked: {destination.host} is no longer on the approved domain list."
    return ""


def attempt_delivery(delivery: WebhookDelivery, *, sender: SafeSender) -> WebhookAttempt:
    """Make one attempt of the claimed DELIVERY, record it, and schedule a retry or finish it."""
    destination = delivery.destination
    started_at = timezone.now()
    approved = ApprovedWebhookDomain.objects.for_tenant(delivery.tenant).domain_names()
    refusal = _refusal_before_sending(delivery, approved)
    retryable = True
    if refusal:
        # Governance said no: retrying cannot change that, and "Redeliver" stays available.
        result = SendResult(status_code=None, error=refusal, duration_ms=0)
        retryable = False
    else:
        try:
            url = parse_destination_url(destination.url, allow_any_port=sender.allow_loopback)
        except InvalidUrl as error:
            result = SendResult(status_code=None, error=f"Not sent: {error}", duration_ms=0)
            retryable = False
        else:
            headers = signature_headers(
                secrets_in_use=destination.secrets_in_use(started_at),
                message_id=delivery.webhook_id,
                timestamp=started_at,
                body=delivery.body,
            )
            result = sender.post(
                host=url.host, port=url.port, path=url.path, headers=headers, body=delivery.body.encode()
            )
    return _record(delivery, result, started_at=started_at, retryable=retryable, approved=approved)


@transaction.atomic
def _record(
    delivery, result: SendResult, *, started_at, retryable: bool, approved: list[str]
) -> WebhookAttempt:
    now = timezone.now()
    attempt = WebhookAttempt.objects.create(
        tenant_id=delivery.tenant_id,
        delivery=delivery,
        destination_id=delivery.destination_id,
        number=delivery.attempts,
        started_at=started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        error=result.error[:500],
        response_excerpt=result.response_excerpt[:500],
        succeeded=result.ok,
    )
    delivery.lease_expires_at = None
    verdict = schedule.judge(
        ok=result.ok,
        status_code=result.status_code,
        retry_after=result.retry_after,
        attempts=delivery.attempts,
        max_attempts=delivery.max_attempts,
        now=now,
        retryable=retryable,
    )
    delivery.next_attempt_at = verdict.retry_at
    delivery.next_attempt_reason = verdict.reason[:200]
    if verdict.delivered:
        delivery.state = DeliveryState.SUCCEEDED
        delivery.completed_at = now
        matched = delivery.destination.approved_by(approved)
        ApprovedWebhookDomain.objects.for_tenant(delivery.tenant).filter(domain=matched).update(
            last_delivery_at=now
        )
    elif verdict.retry_at is None:
        delivery.state = DeliveryState.FAILED
        delivery.completed_at = now
    if retryable:
        # Only answers (or silence) of the receiver count for its health, never our own refusals.
        health.record_outcome(delivery.destination, ok=result.ok, gone=verdict.gone, now=now)
    delivery.save(
        update_fields=["state", "next_attempt_at", "next_attempt_reason", "completed_at", "lease_expires_at"]
    )
    return attempt


@dataclass
class DeliveryRun:
    """What one pass of `deliver_webhooks` did: attempts by outcome, rounds and time taken."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    rounds: int = 0
    seconds: float = 0.0

    def count(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Add one recorded ATTEMPT of DELIVERY to the tally."""
        self.attempted += 1
        if attempt.succeeded:
            self.delivered += 1
        elif delivery.state == DeliveryState.PENDING:
            self.retrying += 1
        else:
            self.failed += 1

    def describe(self) -> str:
        """Return the one-sentence summary a person reads at the end of a run."""
        return (
            f"Attempted {self.attempted} webhook deliveries: {self.delivered} delivered, "
            f"{self.retrying} to retry, {self.failed} failed."
        )

    def log_line(self, *, finished: bool = True) -> str:
        """Return the run (or one round of the worker) as one `key=value` line for the operations log."""
        return (
            f"deliver_webhooks {'finished' if finished else 'round'} attempted={self.attempted} delivered={self.delivered} "
            f"retrying={self.retrying} failed={self.failed} rounds={self.rounds} seconds={self.seconds:.2f}"
        )


def deliver_due(
    *,
    sender: SafeSender | None = None,
    limit: int = BATCH_SIZE,
    due_by=None,
    run: DeliveryRun | None = None,
    report: Callable[[str], None] | None = None,
    lane: str = ANY_LANE,
) -> int:
    """Attempt every delivery due by DUE_BY (default now) in LANE, up to LIMIT; return how many were attempted.

    Each recorded attempt is added to RUN and described to REPORT, if given.
    """
    claimed = claim_due(now=timezone.now(), limit=limit, due_by=due_by, lane=lane)
    if not claimed:
        return 0
    sender = sender or sender_from_settings()
    for delivery in claimed:
        attempt = attempt_delivery(delivery, sender=sender)
        outcome = attempt.status_code or attempt.error[:100]
        logger.info(
            "Webhook %s attempt %d to destination %s: %s",
            delivery.webhook_id,
            attempt.number,
            delivery.destination_id,
            outcome,
        )
        if run is not None:
            run.count(delivery, attempt)
        if report is not None:
            report(
                f"{delivery.tenant.slug}: {delivery.event_type} {delivery.webhook_id} attempt "
                f"{attempt.number} to {delivery.destination.host}: {outcome} ({attempt.duration_ms} ms)"
            )
    return len(claimed)


def deliver_pending(
    *,
    sender: SafeSender | None = None,
    limit: int = MAX_PER_RUN,
    report: Callable[[str], None] | None = None,
) -> DeliveryRun:
    """Attempt what was due when called, BATCH_SIZE at a time, at most LIMIT; return the tally.

    Retries scheduled during the run wait for the next run, so one run makes at most one attempt
    of each delivery. REPORT gets a line per attempt and per round; the run ends with one line on
    the "accessgov.ops" logger.
    """
    started = time.monotonic()
    due_by = timezone.now()
    health.review_failing(now=due_by)
    run = DeliveryRun()
    sender = sender or sender_from_settings()
    while run.attempted < limit:
        attempted = deliver_due(
            sender=sender, limit=min(BATCH_SIZE, limit - run.attempted), due_by=due_by, run=run, report=report
        )
        if not attempted:
            break
        run.rounds += 1
        if report is not None:
            report(f"Round {run.rounds}: {attempted} attempted, {run.attempted} so far.")
    run.seconds = time.monotonic() - started
    ops_logger.info(run.log_line())
    return run


# pg_try_advisory_lock key of `deliver_webhooks --once` ("webhook" in ASCII), per database.
ONCE_LOCK_KEY = 0x776562686F6F6B


@contextmanager
def single_run():
    """Hold the lock that lets one `deliver_webhooks --once` run at a time; yield whether it was taken.

    On PostgreSQL a session-level advisory lock, released at the end (or when the process dies and
    its connection closes, so a killed run never leaves it behind). Other databases have no such
    lock: there the run always goes ahead, and the claim leases still keep two runs from sending
    the same delivery at once.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ONCE_LOCK_KEY])
        taken = cursor.fetchone()[0]
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ONCE_LOCK_KEY])


# Deliveries one thread claims at a time when a worker runs several threads: a receiver that
# starts hanging on its first attempt holds back only the few claimed with it.
THREAD_BATCH_SIZE = 4


def lanes_of_threads(workers: int) -> list[tuple[str, ...]]:
    """Return the lanes each thread of a worker with WORKERS workers claims from.

    One worker is one thread that does everything (as `--once` does). With more, WORKERS threads
    serve destinations without a failure streak, and a quarter as many more (at least one) serve
    only destinations with one: receivers that hang hold those extra threads, never the WORKERS
    that everyone else's deliveries wait for.
    """
    if workers <= 1:
        return [(ANY_LANE,)]
    return [(HEALTHY_LANE,)] * workers + [(FAILING_LANE,)] * max(1, workers // 4)


def _work(
    *,
    lanes: tuple[str, ...],
    chores: bool,
    interval: float,
    max_loops: int | None,
    sleep,
    report,
    limit: int,
    stop: threading.Event,
) -> None:
    loops = 0
    while (max_loops is None or loops < max_loops) and not stop.is_set():
        loops += 1
        started = time.monotonic()
        run = DeliveryRun(rounds=1)
        busy = False
        if chores:
            # One thread also sends the mail outbox and reviews failing destinations, so a
            # deployment runs one service for all three.
            mail_run = mail.send_queued()
            if mail_run.attempted:
                ops_logger.info(mail_run.describe())
                busy = True
            health.review_failing(now=timezone.now())
        attempted = 0
        for lane in lanes:
            attempted = deliver_due(run=run, report=report, lane=lane, limit=limit)
            if attempted:
                break
        if not attempted:
            if not busy:
                sleep(interval)
            continue
        run.seconds = time.monotonic() - started
        ops_logger.info(run.log_line(finished=False))


def run_worker(
    *,
    interval: float = 2.0,
    max_loops: int | None = None,
    sleep=time.sleep,
    report: Callable[[str], None] | None = None,
    workers: int = 1,
    stop: threading.Event | None = None,
) -> None:
    """Deliver due webhooks with WORKERS threads until stopped, each sleeping INTERVAL s when none is due.

    Each thread claims on its own (SKIP LOCKED on PostgreSQL), so threads never send the same
    delivery; each round that attempted something logs one line on the "accessgov.ops" logger.
    """
    stop = stop or threading.Event()
    if workers <= 1:
        _work(
            lanes=(ANY_LANE,),
            chores=True,
            interval=interval,
            max_loops=max_loops,
            sleep=sleep,
            report=report,
            limit=BATCH_SIZE,
            stop=stop,
        )
        return

    def thread_main(lanes: tuple[str, ...], chores: bool) -> None:
        try:
            _work(
                lanes=lanes,
                chores=chores,
                interval=interval,
                max_loops=max_loops,
                # Threads wake at once when told to stop, not after their nap.
                sleep=stop.wait if sleep is time.sleep else sleep,
                report=report,
                limit=THREAD_BATCH_SIZE,
                stop=stop,
            )
        except Exception:
            logger.exception("webhook worker thread failed; stopping the worker")
            stop.set()
            raise
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=thread_main, args=(lanes, number == 0), name=f"webhooks-{number}", daemon=True
        )
        for number, lanes in enumerate(lanes_of_threads(workers))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
