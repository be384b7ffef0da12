"""Operator keys: the credentials with which the operator's platform provisions tenants through
/api/operator/v1/. They belong to no tenant, and no tenant credential reaches that API."""

from django.conf import settings
from django.db import models

from accessgov.core import keys

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

    def matches(self, secret: str) -> bool:
        """Return whether SECRET is this key, compared in constant time."""
        return keys.digest_matches(secret, self.digest, self.pepper_id)
