"""Which events destinations can subscribe to, the JSON each carries, and queueing them."""

import json
import logging

from django.db import transaction
from django.utils import timezone

from accessgov.audit.models import Action, AuditEvent
from accessgov.policy.access import access_on
from tenants.models import Tenant
from webhooks import signing
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination

logger = logging.getLogger(__name__)

NOTIFY = "notify"
TEST = "test"
# The audit actions that are governance events a destination may subscribe to: the policy agreed
# or withdrawn, API keys, third-party tokens and approved domains. Named one by one, so a new
# audit action is sent to receivers only once it is added here on purpose.
SUBSCRIBABLE_ACTIONS: tuple[Action, ...] = (
    Action.POLICY_AGREED,
    Action.API_ACCESS_DISABLED,
    Action.API_KEY_CREATED,
    Action.API_KEY_DELETED,
    Action.API_KEY_REGENERATED,
    Action.API_KEY_OLD_SECRET_RETIRED,
    Action.API_KEY_SUSPENDED,
    Action.API_KEY_RESUMED,
    Action.TOKEN_CREATED,
    Action.TOKEN_UPDATED,
    Action.TOKEN_REVOKED,
    Action.TOKEN_SECRET_REGENERATED,
    Action.TOKEN_REINSTATED,
    Action.TOKEN_OLD_SECRET_RETIRED,
    Action.TOKEN_PURGED,
    Action.TOKEN_SUSPENDED,
    Action.TOKEN_RESUMED,
    # Sent by manage.py send_reminders (tokens.reminders), once per credential and threshold.
    Action.CREDENTIAL_EXPIRING,
    Action.WEBHOOK_DOMAIN_ADDED,
    Action.WEBHOOK_DOMAIN_REMOVED,
    # Sent to the tenant's other destinations when accessgov disables one (webhooks.health).
    Action.WEBHOOK_DESTINATION_DISABLED,
    Action.CREDENTIAL_LEAKED,
)


def governance_event_types() -> list[tuple[str, str]]:
    """Return (event type, label) for every audit action a destination may subscribe to."""
    return [(action.value, action.label) for action in SUBSCRIBABLE_ACTIONS]


def event_type_choices() -> list[tuple[str, str]]:
    """Return (event type, label) for every event a destination may subscribe to."""
    return [
        (NOTIFY, "Notify (POST /api/v1/Notify)"),
        *governance_event_types(),
        (TEST, "Test event"),
    ]


def event_label(event_type: str) -> str:
    """Return how EVENT_TYPE is named in the console."""
    return dict(event_type_choices()).get(event_type, event_type)


def build_body(*, event_type: str, data: dict, now=None) -> str:
    """Return the JSON text of a delivery: the Standard Webhooks envelope around DATA."""
    now = now or timezone.now()
    envelope = {"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data}
    # Compact and key-sorted: the exact bytes are signed and kept for every attempt.
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def audit_event_data(event: AuditEvent) -> dict:
    """Return what a destination learns about EVENT: never the actor's IP, never a secret."""
    return {
        "event_id": event.pk,
        "action": event.action,
        "label": event.action_label,
        "actor": event.actor_label,
        "target": {"type": event.target_type, "id": event.target_id, "label": event.target_label},
        # record_event's contract: details never hold a secret.
        "details": event.details,
        "occurred_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "tenant": {"partner_id": event.tenant.partner_id, "name": event.tenant.name},
    }


def queue_deliveries(*, tenant: Tenant, event_type: str, data: dict, now=None) -> list[WebhookDelivery]:
    """Queue one delivery of EVENT_TYPE to each enabled destination of TENANT subscribed to it."""
    now = now or timezone.now()
    # JSON "contains" is not portable to SQLite; a tenant has few destinations, so filter here.
    destinations = [
        d
        for d in WebhookDestination.objects.for_tenant(tenant).filter(is_enabled=True).only("pk", "events")
        if d.subscribes_to(event_type)
    ]
    if not destinations:
        return []
    body = build_body(event_type=event_type, data=data, now=now)
    deliveries = [
        WebhookDelivery(
            tenant=tenant,
            destination=destination,
            webhook_id=signing.generate_message_id(),
            event_type=event_type,
            body=body,
            state=DeliveryState.PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        for destination in destinations
    ]
    return WebhookDelivery.objects.bulk_create(deliveries)


def enqueue_for_audit_event(sender=None, *, event: AuditEvent, **kwargs) -> None:
    """Queue deliveries of EVENT to the tenant's enabled destinations subscribed to its action.

    Connected to accessgov.audit.actions.event_committed in WebhooksConfig.ready().
    """
    if event.tenant_id is None or event.action not in SUBSCRIBABLE_ACTIONS:
        return
    tenant = event.tenant
    active = access_on(tenant)
    # While API access is off nothing is sent; the one exception is the event that says it was
    # turned off, so receivers learn why deliveries stop.
    if not active and event.action != Action.API_ACCESS_DISABLED:
        return
    with transaction.atomic():
        queued = queue_deliveries(tenant=tenant, event_type=event.action, data=audit_event_data(event))
    if queued:
        logger.info("Queued %d webhook deliveries of %s for tenant %s", len(queued), event.action, tenant.pk)
