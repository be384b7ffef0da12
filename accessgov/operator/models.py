"""Operator keys: the credentials with which the operator's platform provisions tenants through
/api/operator/v1/. They belong to no tenant, and no tenant credential reaches that API."""

import enum

from django.conf import settings
from django.db import models

from accessgov.core import keys
from tenants.models import Role

OPERATOR_KEY_PREFIX = "ago_"


class OperatorKey(models.Model):
    """One operator integration's key (ago_…), shown once when made, kept only as a peppered digest."""

    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="Who uses it, e.g. “platform nightly sync”. Shown as the actor in tenants' Activity.",
    )
    permissions = models.JSONField(default=list, blank=True)
    prefix = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def actor_label(self) -> str:
        """Return how the audit log names this key as the actor of a change."""
        return f"{self.name} (operator key)"

    def matches(self, secret: str, now=None) -> bool:
        """Return whether SECRET is this key, compared in constant time (NOW: the cache's signature;
        an operator or gateway key is never rolled, so it has no old secret)."""
        return keys.digest_matches(secret, self.digest, self.pepper_id)


class Outcome(enum.StrEnum):
    """What one upsert of the operator's platform did (accessgov.operator.provisioning)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    INVITED = "invited"  # a membership of someone without an account: an invitation was sent
    DELETED = "deleted"


INVITATION_PREFIX = "agi_"


class InvitationQuerySet(models.QuerySet):
    def pending(self, now) -> "InvitationQuerySet":
        """Return the invitations that can still be accepted at NOW."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)


class Invitation(models.Model):
    """An invitation to join a tenant with a role, sent by e-mail to someone without an account.

    The link's token is shown only in the mail (whose body the outbox wipes once sent) and kept here
    as a peppered digest with its public lookup prefix; it works once, until expires_at.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    prefix = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    invited_by = models.CharField(max_length=200)  # the audit log's actor label of who invited
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant} ({self.role})"

    def matches(self, secret: str) -> bool:
        """Return whether SECRET is this invitation's token, compared in constant time."""
        return keys.digest_matches(secret, self.digest, self.pepper_id)

    def is_usable(self, now) -> bool:
        """Return whether the invitation can still be accepted at NOW (once, before it expires)."""
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at
