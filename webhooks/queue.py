"""The database-backed delivery queue that `manage.py deliver_webhooks` works through.

A worker claims due deliveries (SELECT ... FOR UPDATE SKIP LOCKED where the database has it) by
giving each a lease and counting the attempt, commits, and only then sends, so no transaction
stays open across the network. A worker killed mid-delivery leaves the lease behind; when it
runs out the delivery is due again and goes out with the same webhook-id (at-least-once).
"""

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import zip_longest

from django.db import connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from accessgov.audit.models import Action
from accessgov.core import mail
from accessgov.policy.access import access_on
from tenants.models import Tenant
from webhooks import budget
from webhooks.delivery import SafeSender, SendResult, sender_from_settings
from webhooks.destinations import InvalidUrl, parse_destination_url
from webhooks.models import (
    LEASE,
    ApprovedWebhookDomain,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
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
        .update(lease_expires_at=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("destination", "tenant").get(pk=delivery_id)


def claim_due(*, now, limit: int = BATCH_SIZE, due_by=None) -> list[WebhookDelivery]:
    """Claim up to LIMIT deliveries due by DUE_BY (default NOW) that no worker holds, shared fairly.

    Tenants take turns: each tenant with something due gets an equal share of the round (its
    oldest due first), so one tenant's flood or hanging receivers cannot push another's back.
    A tenant whose governance-event budget is used up has those deliveries deferred to when it has
    room again (webhooks.budget), not claimed.
    """
    due = WebhookDelivery.objects.due(due_by or now)
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
            rows = due.filter(tenant_id=tenant_id).order_by("next_attempt_at", "pk")
            if connection.features.has_select_for_update_skip_locked:
                rows = rows.select_for_update(skip_locked=True)
            picked, governance = [], 0
            for pk, event_type in rows.values_list("pk", "event_type")[:share]:
                if event_type not in budget.UNBUDGETED:
                    if governance >= room.remaining:
                        continue  # past the budget: still due, deferred by the next round
                    governance += 1
                picked.append(pk)
            per_tenant.append(picked)
        # Round-robin: the first of each tenant, then the second of each, and so on.
        ids = [pk for turn in zip_longest(*per_tenant) for pk in turn if pk is not None][:limit]
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
    if result.ok:
        delivery.state = DeliveryState.SUCCEEDED
        delivery.next_attempt_at = None
        delivery.completed_at = now
        matched = delivery.destination.approved_by(approved)
        ApprovedWebhookDomain.objects.for_tenant(delivery.tenant).filter(domain=matched).update(
            last_delivery_at=now
        )
    else:
        retry_at = delivery.retry_at(now) if retryable else None
        if retry_at is None:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.completed_at = now
        else:
            delivery.next_attempt_at = retry_at
    delivery.save(update_fields=["state", "next_attempt_at", "completed_at", "lease_expires_at"])
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
) -> int:
    """Attempt every delivery due by DUE_BY (default now), up to LIMIT; return how many were attempted.

    Each recorded attempt is added to RUN and described to REPORT, if given.
    """
    claimed = claim_due(now=timezone.now(), limit=limit, due_by=due_by)
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


def run_worker(
    *,
    interval: float = 2.0,
    max_loops: int | None = None,
    sleep=time.sleep,
    report: Callable[[str], None] | None = None,
) -> None:
    """Deliver due webhooks until stopped, sleeping INTERVAL seconds whenever none is due.

    Each round that attempted something logs one line on the "accessgov.ops" logger.
    """
    loops = 0
    while max_loops is None or loops < max_loops:
        loops += 1
        started = time.monotonic()
        run = DeliveryRun(rounds=1)
        # The worker also sends the mail outbox, so a deployment runs one service for both.
        mail_run = mail.send_queued()
        if mail_run.attempted:
            ops_logger.info(mail_run.describe())
        if deliver_due(run=run, report=report) == 0:
            if not mail_run.attempted:
                sleep(interval)
            continue
        run.seconds = time.monotonic() - started
        ops_logger.info(run.log_line(finished=False))
