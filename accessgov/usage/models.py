"""Calls per credential per day, and the client addresses a credential was last used from."""

from django.db import models


class CredentialType(models.TextChoices):
    TOKEN = "token", "Third-party token"
    API_KEY = "api_key", "API key"
    AUTHORIZATION = "authorization", "Trusted application"


# Outcomes other than these are refusals, stored by their error code ("token_expired").
ALLOWED = "allowed"
RATE_LIMITED = "rate_limited"
TENANT_RATE_LIMITED = "tenant_rate_limited"


def outcome_label(outcome: str) -> str:
    """Return how the console names OUTCOME."""
    if outcome == ALLOWED:
        return "Allowed"
    if outcome == RATE_LIMITED:
        return "Rate-limited"
    if outcome == TENANT_RATE_LIMITED:
        return "Rate-limited (organization)"
    return f"Refused: {outcome.replace('_', ' ')}"


class CredentialUsage(models.Model):
    """How many calls one credential made on one day (UTC) to one endpoint, with one outcome."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    credential_type = models.CharField(max_length=20, choices=CredentialType.choices)
    credential_id = models.PositiveBigIntegerField()  # the primary key of the token, key or authorization
    day = models.DateField()
    endpoint = models.CharField(max_length=300)  # "GET Tokens", "GET /v1/assets/{AssetId}"
    permission = models.CharField(max_length=100)
    outcome = models.CharField(max_length=50)  # ALLOWED, RATE_LIMITED, TENANT_RATE_LIMITED or an error code
    calls = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_type", "credential_id", "day", "endpoint", "outcome"],
                name="usage_one_row_per_day_endpoint_outcome",
            )
        ]
        indexes = [
            models.Index(fields=["credential_type", "credential_id", "day"], name="usage_credential_day"),
            models.Index(fields=["tenant", "day"], name="usage_tenant_day"),
        ]

    def __str__(self) -> str:
        return f"{self.credential_type} {self.credential_id} {self.day} {self.endpoint} {self.outcome}: {self.calls}"


class CredentialAddress(models.Model):
    """A client address a credential was used from: first and last seen, and its last endpoint."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    credential_type = models.CharField(max_length=20, choices=CredentialType.choices)
    credential_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=45)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    last_endpoint = models.CharField(max_length=300)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential_type", "credential_id", "address"], name="usage_one_row_per_address"
            )
        ]
        indexes = [
            models.Index(
                fields=["credential_type", "credential_id", "-last_seen"], name="usage_address_last_seen"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credential_type} {self.credential_id} from {self.address}"
