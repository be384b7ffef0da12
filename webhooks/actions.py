"""Workflows of the Webhook API tab and of Notify: each checks, saves, audits, and is the only way."""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core.errors import ActionRefused
from accessgov.core.rotation import Overlap, retirement_of
from accessgov.policy.access import access_on, api_off_message, require_api_access
from tenants.models import Tenant
from webhooks import domains, events, signing
from webhooks.delivery import SafeSender, sender_from_settings
from webhooks.destinations import DestinationUrl
from webhooks.models import (
    ApprovedWebhookDomain,
    DeliveryState,
    WebhookDelivery,
    WebhookDestination,
)

MAX_DOMAINS_PER_TENANT = 100
MAX_DESTINATIONS_PER_TENANT = 50
MAX_NOTIFICATION_BYTES = 64 * 1024
API_OFF = api_off_message(before="changing webhook settings")

__all__ = ["ActionRefused"]


def _require_api_access(tenant: Tenant) -> None:
    # Every webhook form is refused server-side until the API Policy is agreed, not only hidden; the
    # API user row stays locked to the end of the transaction, so access cannot be turned off
    # half-way through a change.
    require_api_access(tenant, before="changing webhook settings")


@transaction.atomic
def add_domain(*, tenant: Tenant, entry: domains.DomainEntry, by, ip: str | None) -> ApprovedWebhookDomain:
    """Approve ENTRY (already normalised by domains.parse_domain) as a webhook domain of TENANT."""
    # The tenant row lock makes the limit and duplicate checks exact under concurrent adds.
    Tenant.objects.select_for_update().get(pk=tenant.pk)
    _require_api_access(tenant)
    existing = ApprovedWebhookDomain.objects.for_tenant(tenant)
    if existing.filter(domain=entry.domain).exists():
        raise ActionRefused(f"{entry.unicode} is already on the approved list.")
    if existing.count() >= MAX_DOMAINS_PER_TENANT:
        raise ActionRefused(
            f"A tenant can approve at most {MAX_DOMAINS_PER_TENANT} domains; remove one first."
        )
    try:
        with transaction.atomic():
            approved = ApprovedWebhookDomain.objects.create(
                tenant=tenant, domain=entry.domain, added_by=by, created_at=timezone.now()
            )
    except IntegrityError as error:
        raise ActionRefused(f"{entry.unicode} is already on the approved list.") from error
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.WEBHOOK_DOMAIN_ADDED,
        target=approved,
        details={"domain": entry.domain, "unicode": entry.unicode},
        ip=ip,
    )
    return approved


@transaction.atomic
def remove_domain(*, approved: ApprovedWebhookDomain, by, ip: str | None) -> int:
    """Remove APPROVED from the list and return how many destinations it leaves blocked.

    Allowed while API access is off: narrowing where webhooks go is clean-up during an incident.
    """
    tenant = approved.tenant
    locked = ApprovedWebhookDomain.objects.select_for_update().filter(pk=approved.pk).first()
    if locked is None:
        raise ActionRefused("That domain was already removed.")
    locked.delete()
    remaining = ApprovedWebhookDomain.objects.for_tenant(tenant).domain_names()
    blocked = sum(
        1
        for destination in WebhookDestination.objects.for_tenant(tenant).only("host")
        if domains.host_matches(destination.host, locked.domain)
        and destination.approved_by(remaining) is None
    )
    record_event(
        tenant=tenant,
        actor=by,
        action=Action.WEBHOOK_DOMAIN_REMOVED,
        target=locked,
        details={"domain": locked.domain, "destinations_blocked": blocked},
        ip=ip,
    )
    return blocked


def _check_destination_host(tenant: Tenant, url: DestinationUrl, sender: SafeSender) -> None:
    approved = ApprovedWebhookDomain.objects.for_tenant(tenant).domain_names()
    if domains.matching_domain(url.host, approved) is None:
        raise ActionRefused(
            f"{domains.to_unicode(url.host)} is not on the approved domain list. Add the domain first."
        )
    # Checked now for a clear answer, and again before every delivery (DNS can change).
    _addresses, refusal = sender.check_host(url.host, url.port)
    if refusal:
        raise ActionRefused(refusal)


@dataclass(frozen=True)
class DestinationTerms:
    """What an administrator decides about a webhook destination."""

    url: DestinationUrl  # parsed and normalised (webhooks.destinations.parse_destination_url)
    description: str
    event_types: list[str]
    is_enabled: bool

    def as_fields(self) -> dict:
        """Return the model field values these terms set."""
        return {
            "url": self.url.url,
            "description": self.description,
            "events": self.event_types,
            "is_enabled": self.is_enabled,
        }


def _check_before_sending_anything(tenant: Tenant, url: DestinationUrl, sender: SafeSender | None) -> None:
    # Read (not locked) before any DNS lookup, so a tenant with API access off costs none; the
    # workflow checks again, locked, inside its transaction.
    if not access_on(tenant):
        raise ActionRefused(API_OFF)
    _check_destination_host(tenant, url, sender or sender_from_settings())


def create_destination(
    *, tenant: Tenant, terms: DestinationTerms, by, ip: str | None, sender: SafeSender | None = None
) -> WebhookDestination:
    """Add a destination on TERMS, on an approved domain, with a new signing secret."""
    url = terms.url
    _check_before_sending_anything(tenant, url, sender)
    with transaction.atomic():
        Tenant.objects.select_for_update().get(pk=tenant.pk)
        _require_api_access(tenant)
        if WebhookDestination.objects.for_tenant(tenant).count() >= MAX_DESTINATIONS_PER_TENANT:
            raise ActionRefused(
                f"A tenant can have at most {MAX_DESTINATIONS_PER_TENANT} webhook destinations."
            )
        approved = ApprovedWebhookDomain.objects.for_tenant(tenant).domain_names()
        if domains.matching_domain(url.host, approved) is None:
            raise ActionRefused(
                f"{domains.to_unicode(url.host)} was removed from the approved list meanwhile."
            )
        now = timezone.now()
        destination = WebhookDestination.objects.create(
            tenant=tenant,
            host=url.host,
            **terms.as_fields(),
            signing_secret=signing.generate_secret(),
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        record_event(
            tenant=tenant,
            actor=by,
            action=Action.WEBHOOK_DESTINATION_CREATED,
            target=destination,
            details={"url": destination.url, "events": terms.event_types, "enabled": terms.is_enabled},
            ip=ip,
        )
    return destination


def update_destination(
    *,
    destination: WebhookDestination,
    terms: DestinationTerms,
    by,
    ip: str | None,
    sender: SafeSender | None = None,
) -> WebhookDestination:
    """Change DESTINATION to TERMS; a new URL is checked against the approved list and DNS again."""
    tenant = destination.tenant
    url = terms.url
    if url.url != destination.url:
        _check_before_sending_anything(tenant, url, sender)
    elif not access_on(tenant):
        raise ActionRefused(API_OFF)
    with transaction.atomic():
        _require_api_access(tenant)
        locked = WebhookDestination.objects.select_for_update().filter(pk=destination.pk).first()
        if locked is None:
            raise ActionRefused("That destination was deleted meanwhile.")
        changes = {}
        for field, value in terms.as_fields().items():
            if getattr(locked, field) != value:
                # Old and new value, as token edits record them: the Activity log shows both.
                changes[field] = {"from": getattr(locked, field), "to": value}
                setattr(locked, field, value)
        if not changes:
            return locked
        if changes.get("is_enabled"):
            locked.clear_health()
        locked.host = url.host
        locked.updated_at = timezone.now()
        locked.save()
        record_event(
            tenant=tenant,
            actor=by,
            action=Action.WEBHOOK_DESTINATION_UPDATED,
            target=locked,
            details={"changes": changes},
            ip=ip,
        )
    return locked


@transaction.atomic
def delete_destination(*, destination: WebhookDestination, by, ip: str | None) -> None:
    """Delete DESTINATION with its delivery log; nothing more is sent to it.

    Allowed while API access is off: removing a destination is clean-up during an incident.
    """
    locked = WebhookDestination.objects.select_for_update().filter(pk=destination.pk).first()
    if locked is None:
        raise ActionRefused("That destination was already deleted.")
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_DESTINATION_DELETED,
        target=locked,
        details={"url": locked.url},
        ip=ip,
    )
    locked.delete()


@sensitive_variables("secret")
@transaction.atomic
def reveal_secret(*, destination: WebhookDestination, by, ip: str | None) -> str:
    """Return DESTINATION's signing secret, recording who saw it."""
    _require_api_access(destination.tenant)
    secret = (
        WebhookDestination.objects.filter(pk=destination.pk).values_list("signing_secret", flat=True).first()
    )
    if secret is None:
        raise ActionRefused("That destination was deleted.")
    record_event(
        tenant=destination.tenant, actor=by, action=Action.WEBHOOK_SECRET_REVEALED, target=destination, ip=ip
    )
    return secret


@sensitive_variables("secret")
@transaction.atomic
def rotate_secret(
    *, destination: WebhookDestination, by, ip: str | None, overlap: Overlap | str = Overlap.DAY
) -> str:
    """Give DESTINATION a new signing secret and return it; the old one also signs until OVERLAP ends.

    During the overlap every delivery carries two signatures (Standard Webhooks allows several),
    so a receiver holding either secret verifies it. An old secret still signing from an earlier
    rotation stops now.
    """
    overlap = Overlap(overlap)
    if overlap == Overlap.FIRST_USE:
        # Only we use a signing secret: its "first use" by the receiver cannot be seen.
        raise ActionRefused(
            "Choose how long the old signing secret keeps signing: none, 1 hour, 1 day or 7 days."
        )
    _require_api_access(destination.tenant)
    locked = WebhookDestination.objects.select_for_update().filter(pk=destination.pk).first()
    if locked is None:
        raise ActionRefused("That destination was deleted.")
    now = timezone.now()
    secret = signing.generate_secret()
    retires_at = retirement_of(overlap, now)
    locked.previous_signing_secret = locked.signing_secret if retires_at else ""
    locked.previous_secret_expires_at = retires_at
    locked.signing_secret = secret
    locked.updated_at = now
    locked.save(
        update_fields=[
            "previous_signing_secret",
            "previous_secret_expires_at",
            "signing_secret",
            "updated_at",
        ]
    )
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_SECRET_ROTATED,
        target=locked,
        details={
            "overlap": overlap.value,
            "old_secret_signs_until": retires_at.isoformat() if retires_at else None,
        },
        ip=ip,
    )
    return secret


@transaction.atomic
def retire_old_secret(*, destination: WebhookDestination, by, ip: str | None) -> bool:
    """Stop signing with DESTINATION's old secret now; return False if it no longer signed."""
    now = timezone.now()
    locked = WebhookDestination.objects.select_for_update().filter(pk=destination.pk).first()
    if locked is None or len(locked.secrets_in_use(now)) < 2:
        return False
    would_have_signed_until = locked.previous_secret_expires_at
    locked.previous_signing_secret, locked.previous_secret_expires_at = "", None
    locked.updated_at = now
    locked.save(update_fields=["previous_signing_secret", "previous_secret_expires_at", "updated_at"])
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_OLD_SECRET_RETIRED,
        target=locked,
        details={"would_have_signed_until": would_have_signed_until.isoformat()},
        ip=ip,
    )
    destination.previous_signing_secret, destination.previous_secret_expires_at = "", None
    return True


@transaction.atomic
def send_test_event(*, destination: WebhookDestination, by, ip: str | None) -> WebhookDelivery:
    """Queue a test event to DESTINATION for the worker and return the delivery at once.

    Nothing is sent inside the request: a receiver that answers slowly (or DNS that hangs) would
    otherwise hold a web worker, and a tenant administrator could tie up every one of them.
    """
    _require_api_access(destination.tenant)
    if not destination.subscribes_to(events.TEST):
        raise ActionRefused(
            "This destination does not receive test events; tick “Test event” in its settings."
        )
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        tenant=destination.tenant,
        destination=destination,
        webhook_id=signing.generate_message_id(),
        event_type=events.TEST,
        body=events.build_body(
            event_type=events.TEST,
            data={
                "message": "Test event from accessgov. Verify its signature and answer 2xx.",
                "sent_by": by.get_username() if by is not None else "system",
                "tenant": {"partner_id": destination.tenant.partner_id, "name": destination.tenant.name},
            },
            now=now,
        ),
        state=DeliveryState.PENDING,
        # One try: the console shows what the receiver answered to it, not a retry schedule.
        max_attempts=1,
        created_at=now,
        next_attempt_at=now,
    )
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_TEST_SENT,
        target=destination,
        details={"webhook_id": delivery.webhook_id},
        ip=ip,
    )
    return delivery


@transaction.atomic
def redeliver(*, delivery: WebhookDelivery, by, ip: str | None) -> WebhookDelivery:
    """Queue a failed DELIVERY for one more attempt by the worker, with the same webhook-id."""
    _require_api_access(delivery.tenant)
    locked = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
    if locked is None or locked.state != DeliveryState.FAILED:
        raise ActionRefused("Only a failed delivery can be sent again.")
    locked.state = DeliveryState.PENDING
    locked.max_attempts = locked.attempts + 1
    locked.next_attempt_at = timezone.now()
    locked.lease_expires_at = None
    locked.completed_at = None
    locked.save(
        update_fields=["state", "max_attempts", "next_attempt_at", "lease_expires_at", "completed_at"]
    )
    record_event(
        tenant=delivery.tenant,
        actor=by,
        action=Action.WEBHOOK_REDELIVERED,
        target=locked.destination,
        details={"webhook_id": locked.webhook_id, "event": locked.event_type},
        ip=ip,
    )
    return locked


def send_notification(*, tenant: Tenant, payload: dict, actor_label: str, ip: str | None) -> int:
    """Queue a `notify` event carrying PAYLOAD to TENANT's subscribed destinations; return how many."""
    if not access_on(tenant):
        raise ActionRefused("API access is off for this tenant.")
    data = {"notification": payload, "sent_by": actor_label}
    if len(json.dumps(data, ensure_ascii=False).encode()) > MAX_NOTIFICATION_BYTES:
        raise ActionRefused(f"Notifications are at most {MAX_NOTIFICATION_BYTES // 1024} KiB of JSON.")
    with transaction.atomic():
        queued = events.queue_deliveries(tenant=tenant, event_type=events.NOTIFY, data=data)
        record_event(
            tenant=tenant,
            actor=None,
            actor_label=actor_label,
            action=Action.WEBHOOK_NOTIFICATION_SENT,
            details={"deliveries_queued": len(queued)},
            ip=ip,
        )
    return len(queued)


@transaction.atomic
def enable_destination(*, destination: WebhookDestination, by, ip: str | None) -> WebhookDestination:
    """Enable DESTINATION again (one click after accessgov or an administrator disabled it), audited."""
    _require_api_access(destination.tenant)
    locked = WebhookDestination.objects.select_for_update().filter(pk=destination.pk).first()
    if locked is None:
        raise ActionRefused("That destination was deleted meanwhile.")
    if locked.is_enabled:
        raise ActionRefused("That destination is already enabled.")
    was = {"disabled_at": locked.disabled_at.isoformat() if locked.disabled_at else None}
    was["reason"] = locked.disabled_reason
    locked.is_enabled = True
    locked.clear_health()
    locked.updated_at = timezone.now()
    locked.save()
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_DESTINATION_ENABLED,
        target=locked,
        details={"url": locked.url, "was_disabled": was},
        ip=ip,
    )
    return locked


# At most this many deliveries are queued by one replay; a wider range is replayed in steps.
MAX_REPLAY = 10_000


@transaction.atomic
def replay_failed_deliveries(
    *, destination: WebhookDestination, since: datetime, until: datetime | None = None, by, ip: str | None
) -> int:
    """Queue every delivery to DESTINATION that failed and was created in [SINCE, UNTIL]; return how many.

    Oldest first, once each, with their original webhook-id: each is queued for one more attempt
    exactly as "Redeliver" does. Deliveries already queued (pending) are not failed, so replaying
    an overlapping range again queues nothing twice.
    """
    _require_api_access(destination.tenant)
    now = timezone.now()
    until = min(until or now, now)
    if since > until:
        raise ActionRefused("The start of the range is after its end.")
    if not WebhookDestination.objects.filter(pk=destination.pk, is_enabled=True).exists():
        raise ActionRefused("Enable the destination first: nothing is sent to a disabled destination.")
    rows = WebhookDelivery.objects.for_tenant(destination.tenant).filter(
        destination=destination, state=DeliveryState.FAILED, created_at__gte=since, created_at__lte=until
    )
    ids = list(
        rows.select_for_update().order_by("created_at", "pk").values_list("pk", flat=True)[:MAX_REPLAY]
    )
    if not ids:
        raise ActionRefused("No delivery failed in that range: nothing to replay.")
    # All due now: the claim takes equal times oldest message first (webhooks.queue).
    WebhookDelivery.objects.filter(pk__in=ids).update(
        state=DeliveryState.PENDING,
        max_attempts=F("attempts") + 1,
        next_attempt_at=now,
        next_attempt_reason="Replayed.",
        lease_expires_at=None,
        completed_at=None,
    )
    record_event(
        tenant=destination.tenant,
        actor=by,
        action=Action.WEBHOOK_DELIVERIES_REPLAYED,
        target=destination,
        details={"since": since.isoformat(), "until": until.isoformat(), "queued": len(ids)},
        ip=ip,
    )
    return len(ids)
