"""Write audit events: every governance change goes through record_event."""

from django.db import models, transaction

from accessgov.models import AuditEvent
from tenants.models import Tenant


class Action(models.TextChoices):
    POLICY_AGREED = "policy.agreed", "API Policy agreed"
    API_ACCESS_DISABLED = "api_access.disabled", "API access turned off"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_DELETED = "api_key.deleted", "API key deleted"
    # Third-Party Tokens (tokens app)
    TOKEN_CREATED = "token.created", "Third-party token created"
    TOKEN_UPDATED = "token.updated", "Third-party token changed"
    TOKEN_REVOKED = "token.revoked", "Third-party token revoked"
    TOKEN_SECRET_REGENERATED = "token.secret_regenerated", "Third-party token secret regenerated"
    TOKEN_REINSTATED = "token.reinstated", "Third-party token reinstated"
    TOKEN_PURGED = "token.purged", "Revoked third-party tokens deleted"
    # Webhook API (webhooks app)
    WEBHOOK_DOMAIN_ADDED = "domain.added", "Approved webhook domain added"
    WEBHOOK_DOMAIN_REMOVED = "domain.removed", "Approved webhook domain removed"
    WEBHOOK_DESTINATION_CREATED = "destination.created", "Webhook destination added"
    WEBHOOK_DESTINATION_UPDATED = "destination.updated", "Webhook destination changed"
    WEBHOOK_DESTINATION_DELETED = "destination.deleted", "Webhook destination deleted"
    WEBHOOK_SECRET_REVEALED = "destination.secret_revealed", "Webhook signing secret revealed"
    WEBHOOK_SECRET_ROTATED = "destination.secret_rotated", "Webhook signing secret rotated"
    WEBHOOK_TEST_SENT = "webhook.test_sent", "Webhook test event sent"
    WEBHOOK_REDELIVERED = "webhook.redelivered", "Webhook delivery sent again"
    WEBHOOK_NOTIFICATION_SENT = "webhook.notification_sent", "Notification queued to webhook destinations"
    # Trusted Applications
    TRUSTED_APP_AUTHORIZED = "trusted_app.authorized", "Trusted application authorized"
    TRUSTED_APP_REVOKED = "trusted_app.revoked", "Trusted application authorization revoked"
    # REST API


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
    # Imported here: the webhooks app builds on this module. Queued only once the change is
    # committed, and robust so a webhook problem never undoes or fails the change itself.
    from webhooks.events import enqueue_for_audit_event

    transaction.on_commit(lambda: enqueue_for_audit_event(event), robust=True)
    return event
