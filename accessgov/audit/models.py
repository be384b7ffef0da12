"""The append-only audit log: one row per governance change, and the vocabulary of its actions."""

from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant, TenantOwnedQuerySet


class Action(models.TextChoices):
    # Support staff's changes to a tenant's directory in the Django admin
    TENANT_CREATED = "tenant.created", "Tenant created"
    TENANT_RENAMED = "tenant.renamed", "Tenant renamed"
    TENANT_SETTINGS_CHANGED = "tenant.settings_changed", "Tenant settings changed"
    ORGANIZATION_ADDED = "organization.added", "Organization added"
    ORGANIZATION_RENAMED = "organization.renamed", "Organization renamed"
    ORGANIZATION_DELETED = "organization.deleted", "Organization deleted"
    MEMBERSHIP_ADDED = "membership.added", "Member added"
    MEMBERSHIP_ROLE_CHANGED = "membership.role_changed", "Member's role changed"
    MEMBERSHIP_REMOVED = "membership.removed", "Member removed"
    POLICY_AGREED = "policy.agreed", "API Policy agreed"
    API_ACCESS_DISABLED = "api_access.disabled", "API access turned off"
    ADDRESS_UNBLOCKED = "address.unblocked", "Blocked address unblocked"
    SECURITY_CONTACT_CHANGED = "tenant.security_contact_changed", "Security contact changed"
    LEAK_RESPONSE_CHANGED = "tenant.leak_response_changed", "Response to leaked secrets changed"
    CREDENTIAL_LEAKED = "credential.leaked", "Secret reported leaked"
    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_DELETED = "api_key.deleted", "API key deleted"
    API_KEY_REGENERATED = "api_key.regenerated", "API key regenerated"
    API_KEY_OLD_SECRET_RETIRED = "api_key.old_secret_retired", "API key's old secret retired"
    API_KEY_SUSPENDED = "api_key.suspended", "API key suspended"
    API_KEY_RESUMED = "api_key.resumed", "API key resumed"
    LIFETIME_POLICY_CHANGED = "tenant.lifetime_policy_changed", "Credential lifetime policy changed"
    CREDENTIAL_EXPIRING = "credential.expiring", "Credential expiry reminder sent"
    # Third-Party Tokens (tokens app)
    TOKEN_CREATED = "token.created", "Third-party token created"
    TOKEN_UPDATED = "token.updated", "Third-party token changed"
    TOKEN_REVOKED = "token.revoked", "Third-party token revoked"
    TOKEN_SECRET_REGENERATED = "token.secret_regenerated", "Third-party token secret regenerated"
    TOKEN_REINSTATED = "token.reinstated", "Third-party token reinstated"
    TOKEN_OLD_SECRET_RETIRED = "token.old_secret_retired", "Third-party token's old secret retired"
    TOKEN_PURGED = "token.purged", "Revoked third-party tokens deleted"
    TOKEN_SUSPENDED = "token.suspended", "Third-party token suspended"
    TOKEN_RESUMED = "token.resumed", "Third-party token resumed"
    # Webhook API (webhooks app)
    WEBHOOK_DOMAIN_ADDED = "domain.added", "Approved webhook domain added"
    WEBHOOK_DOMAIN_REMOVED = "domain.removed", "Approved webhook domain removed"
    WEBHOOK_DESTINATION_CREATED = "destination.created", "Webhook destination added"
    WEBHOOK_DESTINATION_UPDATED = "destination.updated", "Webhook destination changed"
    WEBHOOK_DESTINATION_DELETED = "destination.deleted", "Webhook destination deleted"
    WEBHOOK_SECRET_REVEALED = "destination.secret_revealed", "Webhook signing secret revealed"
    WEBHOOK_SECRET_ROTATED = "destination.secret_rotated", "Webhook signing secret regenerated"
    WEBHOOK_OLD_SECRET_RETIRED = "destination.old_secret_retired", "Webhook's old signing secret retired"
    WEBHOOK_TEST_SENT = "webhook.test_sent", "Webhook test event sent"
    WEBHOOK_REDELIVERED = "webhook.redelivered", "Webhook delivery sent again"
    WEBHOOK_NOTIFICATION_SENT = "webhook.notification_sent", "Notification queued to webhook destinations"
    WEBHOOK_DESTINATION_FAILING = "destination.failing", "Webhook destination failing: disable warned"
    WEBHOOK_DESTINATION_DISABLED = "destination.disabled", "Webhook destination disabled by accessgov"
    WEBHOOK_DESTINATION_ENABLED = "destination.enabled", "Webhook destination enabled again"
    WEBHOOK_DELIVERIES_REPLAYED = "webhook.replayed", "Failed webhook deliveries replayed"
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
    MFA_RECOVERY_CODES_MADE = "mfa.recovery_codes_made", "Recovery codes made"
    MFA_REMOVED = "mfa.removed", "Second factor removed"
    MFA_VERIFIED = "mfa.verified", "Signed in with a second factor"
    MFA_RECOVERY_CODE_USED = "mfa.recovery_code_used", "Signed in with a recovery code"
    MFA_FAILED = "mfa.failed", "Wrong second-factor code"
    # Single sign-on through the operator's identity provider (accessgov.sso)
    SSO_SIGNED_IN = "sso.signed_in", "Signed in through the identity provider"
    SSO_REFUSED = "sso.refused", "Sign-in through the identity provider refused"
    SSO_ACCOUNT_LINKED = "sso.account_linked", "Account linked to the identity provider"
    SSO_ACCOUNT_CREATED = "sso.account_created", "Account created by the identity provider"
    SSO_ACCOUNT_UNLINKED = "sso.account_unlinked", "Account unlinked from the identity provider"
    PASSWORD_SIGN_IN_REFUSED = "sign_in.password_refused", "Password sign-in refused: single sign-on required"
    TENANT_PASSWORD_SIGN_IN_CHANGED = "tenant.password_sign_in_changed", "Password sign-in turned on or off"
    # The operator's gateways
    GATEWAY_KEY_CREATED = "gateway_key.created", "Gateway key created"
    GATEWAY_KEY_DELETED = "gateway_key.deleted", "Gateway key deleted"
    # The operator's keys and what the operator's platform changes with them (accessgov.operator)
    OPERATOR_KEY_CREATED = "operator_key.created", "Operator key created"
    OPERATOR_KEY_DELETED = "operator_key.deleted", "Operator key deleted"
    TENANT_DEACTIVATED = "tenant.deactivated", "Tenant deactivated: every credential stopped"
    TENANT_REACTIVATED = "tenant.reactivated", "Tenant reactivated"
    ORGANIZATION_CHANGED = "organization.changed", "Organization changed"
    ORGANIZATION_REMOVED_FROM_SCOPES = (
        "organization.removed_from_scopes",
        "Deleted organization removed from credentials' scopes",
    )
    INVITATION_SENT = "invitation.sent", "Invitation sent"
    INVITATION_ACCEPTED = "invitation.accepted", "Invitation accepted"
    INVITATION_REFUSED = "invitation.refused", "Invitation link refused"


# How the Activity page names the keys of an event's details; any other key is shown as written.
DETAIL_LABELS = {
    "allowed_ips": "Whitelisted IP addresses",
    "all_organizations": "All organizations",
    "organization_ids": "Organizations",
    "starts_at": "Start date",
    "expires_at": "Expiration date",
    "is_enabled": "Enabled",
    "token_id": "Token ID",
    "url": "URL",
    "api_access": "API access",
    "api_user": "API user",
    "administrators_must_use_mfa": "Administrators must use MFA",
}


def detail_label(key: str) -> str:
    """Return how the Activity page names the details key KEY."""
    return DETAIL_LABELS.get(key) or key.replace("_", " ").capitalize()


def detail_text(value) -> str:
    """Return VALUE of an event's details as the Activity page shows it."""
    if value is None:
        return "—"
    if value is True or value is False:
        return "yes" if value else "no"
    if value == "" or value == []:
        return "(empty)"
    if isinstance(value, list | tuple):
        return ", ".join(detail_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{detail_label(str(k))}: {detail_text(v)}" for k, v in value.items())
    return str(value)


@dataclass(frozen=True)
class DetailRow:
    """One line of an event's details: a changed value (old and new) or a recorded value."""

    label: str
    value: str = ""
    old: str = ""
    new: str = ""
    changed: bool = False


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

    def detail_rows(self) -> list[DetailRow]:
        """Return the recorded details as rows: each change (old and new value) first, then the rest.

        Changes are recorded as {"changes": {field: {"from": old, "to": new}}} by every edit; the
        shape {"before": {field: old}, "after": {field: new}} is read the same way.
        """
        details = self.details if isinstance(self.details, dict) else {"details": self.details}
        before, after = details.get("before"), details.get("after")
        if isinstance(before, dict) and isinstance(after, dict) and "changes" not in details:
            changes = {key: {"from": before.get(key), "to": after.get(key)} for key in {**before, **after}}
            details = {"changes": changes} | {
                k: v for k, v in details.items() if k not in ("before", "after")
            }
        rows = []
        changes = details.get("changes")
        if isinstance(changes, dict):
            for key, change in changes.items():
                if isinstance(change, dict) and set(change) == {"from", "to"}:
                    rows.append(
                        DetailRow(
                            label=detail_label(key),
                            old=detail_text(change["from"]),
                            new=detail_text(change["to"]),
                            changed=True,
                        )
                    )
                else:
                    rows.append(DetailRow(label=detail_label(key), value=detail_text(change)))
        rows += [
            DetailRow(label=detail_label(key), value=detail_text(value))
            for key, value in details.items()
            if key != "changes" or not isinstance(value, dict)
        ]
        return rows

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action
