"""The append-only audit log: one row per governance change, and the vocabulary of its actions."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant, TenantOwnedQuerySet


class Action(models.TextChoices):
    # Support staff's changes to a tenant's directory in the Django admin
    TENANT_CREATED = "tenant.created", "Tenant created"
    TENANT_RENAMED = "tenant.renamed", "Tenant renamed"
    ORGANIZATION_ADDED = "organization.added", "Organization added"
    ORGANIZATION_RENAMED = "organization.renamed", "Organization renamed"
    ORGANIZATION_DELETED = "organization.deleted", "Organization deleted"
    MEMBERSHIP_ADDED = "membership.added", "Member added"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "Member's role changed"
    MEMBERSHIP_REMOVED = "membership.removed", "Member removed"
    POLICY_AGREED = "policy.agreed", "API Policy agreed"
    API_ACCESS_DISABLED = "api_access.disabled", "API access turned off"
    SECURITY_CONTACT_CHANGED = "tenant.security_contact_changed", "Security contact changed"
    LEAK_RESPONSE_CHANGED = "tenant.leak_response_changed", "Response to leaked secrets changed"
    CREDENTIAL_LEAKED = "credential.leaked", "Secret reported leaked"
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
    TRUSTED_APP_NARROWED = "trusted_app.narrowed", "Trusted application authorization narrowed"
    TRUSTED_APP_CODE_REPLAYED = (
        "trusted_app.code_replayed",
        "Trusted application's authorization code used twice: its tokens revoked",
    )
    # Second factors of console and admin users (accessgov.mfa)
    MFA_TOTP_STARTED = "mfa.totp_started", "Authenticator app enrolment started"
    MFA_TOTP_ADDED = "mfa.totp_added", "Authenticator app added, recovery codes made"
    MFA_PASSKEY_ADDED = "mfa.passkey_added", "Passkey added"
    MFA_REMOVED = "mfa.removed", "Second factor removed"
    MFA_VERIFIED = "mfa.verified", "Signed in with a second factor"
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", "Signed in with a recovery code"
    MFA_FAILED = "mfa.failed", "Wrong second-factor code"
    # The operator's gateways
    GATEWAY_KEY_CREATED = "gateway_key.created", "Gateway key created"
    GATEWAY_KEY_DELETED = "gateway_key.deleted", "Gateway key deleted"
    # The operator's keys and what the operator's platform changes with them (accessgov.operator)
    OPERATOR_KEY_CREATED = "operator_key.created", "Operator key created"
    OPERATOR_KEY_DELETED = "operator_key.deleted", "Operator key deleted"


class AuditEventQuerySet(TenantOwnedQuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One governance change: who did what to which target, when and from where. Never changed."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept even if the user is deleted later, and used for non-user actors ("system", a token).
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "-created_at", "-id"], name="audit_tenant_newest")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action
