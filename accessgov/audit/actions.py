"""Write audit events: every governance change goes through record_event."""

from django.db import transaction
from django.dispatch import Signal

from accessgov.audit.models import Action, AuditEvent
from tenants.models import Tenant

# Sent once the change an event records is committed (never for a rolled-back change), with the
# AuditEvent as `event`. Higher floors connect to it in their AppConfig.ready(): webhooks queues
# the governance events destinations subscribe to (webhooks.events.enqueue_for_audit_event).
event_committed = Signal()


def actor_label_for(user) -> str:
    """Return how USER is named in the audit log."""
    if user is None:
        return "system"
    label = user.get_username()
    return f"{label} (staff)" if user.is_staff else label


def record_event(
    *,
    tenant: Tenant | None,
    actor,
    action: Action | str,
    target: object | None = None,
    details: dict | None = None,
    ip: str | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one audit event and return it. Details must never hold a secret."""
    event = AuditEvent.objects.create(
        tenant=tenant,
        actor=actor,
        actor_label=actor_label or actor_label_for(actor),
        action=str(action),
        target_type=type(target).__name__ if target is not None else "",
        target_id=str(getattr(target, "pk", "") or "") if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        details=details or {},
        ip_address=ip,
    )
    # Robust: a receiver's problem (say, queueing a webhook) is logged and never undoes or fails
    # the change itself, which is committed by then.
    transaction.on_commit(lambda: event_committed.send(sender=AuditEvent, event=event), robust=True)
    return event


__all__ = ["Action", "actor_label_for", "event_committed", "record_event"]
