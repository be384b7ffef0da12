"""Gateway keys: the credentials with which the operator's gateways call the decision endpoint."""

from django.conf import settings
from django.db import models

from accessgov.core import keys


class GatewayKey(models.Model):
    """One gateway's key (agg_…), shown once when made, kept only as a peppered digest."""

    name = models.CharField(
        max_length=100, unique=True, help_text="Which gateway uses it, e.g. “nginx eu-1”."
    )
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

    def matches(self, secret: str, now=None) -> bool:
        """Return whether SECRET is this key, compared in constant time (NOW: the cache's signature;
        an operator or gateway key is never rolled, so it has no old secret)."""
        return keys.digest_matches(secret, self.digest, self.pepper_id)
