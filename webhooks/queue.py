"""The database-backed delivery queue that `manage.py deliver_webhooks` works through.

A worker claims due deliveries (SELECT ... FOR UPDATE SKIP LOCKED where the database has it) by
giving each a lease and counting the attempt, commits, and only then sends, so no transaction
stays open across the network. A worker killed mid-delivery leaves the lease behind; when it
runs out the delivery is due again and goes out with the same webhook-id (at-least-once).
"""

import logging
import time

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accessgov.actions import api_access_enabled
from accessgov.audit import Action
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
BATCH_SIZE = 20


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


def claim_due(*, now, limit: int = BATCH_SIZE) -> list[WebhookDelivery]:
    """Claim up to LIMIT due deliveries, oldest due first, that no other worker holds."""
    with transaction.atomic():
        due = WebhookDelivery.objects.due(now).order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        # The conditional update in claim() is what makes a claim exclusive where SKIP LOCKED is
        # missing (SQLite serialises writers, so the second claimer updates no row).
        return [delivery for delivery in (claim(pk, now=now) for pk in ids) if delivery is not None]


def _refusal_before_sending(delivery: WebhookDelivery, approved: list[str]) -> str:
    destination = delivery.destination
    # The one event allowed out while API access is off is the one announcing it.
    if delivery.event_type != Action.API_ACCESS_DISABLED and not api_access_enabled(delivery.tenant):
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


def deliver_due(*, sender: SafeSender | None = None, limit: int = BATCH_SIZE) -> int:
    """Attempt every delivery due now (up to LIMIT) and return how many were attempted."""
    claimed = claim_due(now=timezone.now(), limit=limit)
    if not claimed:
        return 0
    sender = sender or sender_from_settings()
    for delivery in claimed:
        attempt = attempt_delivery(delivery, sender=sender)
        logger.info(
            "Webhook %s attempt %d to destination %s: %s",
            delivery.webhook_id,
            attempt.number,
            delivery.destination_id,
            attempt.status_code or attempt.error[:100],
        )
    return len(claimed)


def run_worker(*, interval: float = 2.0, max_loops: int | None = None, sleep=time.sleep) -> None:
    """Deliver due webhooks until stopped, sleeping INTERVAL seconds whenever none is due."""
    loops = 0
    while max_loops is None or loops < max_loops:
        loops += 1
        if deliver_due() == 0:
            sleep(interval)
