"""Approved webhook domains, webhook destinations, and the deliveries queued and attempted for them."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import Tenant, TenantOwnedQuerySet
from webhooks import domains
from webhooks.schedule import MAX_ATTEMPTS

REVIEW_AFTER = timedelta(days=90)
# How long a worker owns a claimed delivery. A worker killed mid-delivery leaves its claim
# behind; once the lease runs out another worker sends the same message again (at-least-once).
LEASE = timedelta(minutes=2)


class ApprovedWebhookDomainQuerySet(TenantOwnedQuerySet):
    def domain_names(self) -> list[str]:
        """Return the approved entries (A-labels, wildcards with their "*.") of these rows."""
        return list(self.values_list("domain", flat=True))


class ApprovedWebhookDomain(models.Model):
    """A host (or, with a leading "*.", any subdomain of a host) that may receive webhooks."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="approved_webhook_domains")
    domain = models.CharField(max_length=255, help_text="IDNA A-label; a leading *. means any subdomain.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_delivery_at = models.DateTimeField(null=True, blank=True)

    objects = ApprovedWebhookDomainQuerySet.as_manager()

    class Meta:
        ordering = ["domain", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "domain"], name="unique_approved_webhook_domain")
        ]

    def __str__(self) -> str:
        return self.domain

    @property
    def unicode_domain(self) -> str:
        return domains.to_unicode(self.domain)

    def needs_review(self, now=None) -> bool:
        """Return whether no delivery reached this domain in the last 90 days (nor since it was added)."""
        now = now or timezone.now()
        return (self.last_delivery_at or self.created_at) < now - REVIEW_AFTER


class WebhookDestinationQuerySet(TenantOwnedQuerySet):
    pass


class WebhookDestination(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_destinations")
    url = models.CharField(max_length=1000)
    # The URL's host as an A-label, kept beside it so the approved-domain check needs no parsing.
    host = models.CharField(max_length=255)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, blank=True)
    is_enabled = models.BooleanField(default=True)
    # Kept retrievable, not digested: administrators may reveal it (audited) to configure their
    # receiver, and we need it to sign. It never appears in logs, payloads, __str__ or the admin.
    signing_secret = models.CharField(max_length=100)
    # After a rotation the old secret signs too (a second signature) until this time, so a
    # receiver can switch over without dropping deliveries.
    previous_signing_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Health (webhooks.health): the first failed attempt since the last success, when the
    # administrators were warned that it will be disabled, and when and why accessgov disabled it.
    failing_since = models.DateTimeField(null=True, blank=True)
    disable_warned_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Throttle overrides (webhooks.throttle); empty means the ACCESSGOV_WEBHOOKS_MAX_* settings.
    max_concurrency = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most deliveries in flight at once (empty: the default)."
    )
    max_per_second = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most deliveries started per second (empty: the default)."
    )

    objects = WebhookDestinationQuerySet.as_manager()

    class Meta:
        ordering = ["url", "pk"]

    def __str__(self) -> str:
        return self.url

    def approved_by(self, approved: list[str]) -> str | None:
        """Return the entry of APPROVED that allows this destination's host, or None if blocked."""
        return domains.matching_domain(self.host, approved)

    def secrets_in_use(self, now=None) -> list[str]:
        """Return the secrets every delivery is signed with now: the current one, then the old one."""
        now = now or timezone.now()
        in_use = [self.signing_secret]
        if (
            self.previous_signing_secret
            and self.previous_secret_expires_at
            and self.previous_secret_expires_at > now
        ):
            in_use.append(self.previous_signing_secret)
        return in_use

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in self.events

    def clear_health(self) -> None:
        """Forget the failure streak and why it was disabled (on enabling it again); the caller saves."""
        self.failing_since = self.disable_warned_at = self.disabled_at = None
        self.disabled_reason = ""

    clear_health.alters_data = True


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDeliveryQuerySet(TenantOwnedQuerySet):
    def due(self, now) -> "WebhookDeliveryQuerySet":
        """Return pending deliveries whose next attempt is due and that no live worker holds."""
        return self.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now).filter(
            models.Q(lease_expires_at__isnull=True) | models.Q(lease_expires_at__lte=now)
        )

    def purgeable(self, now, keep_days: int) -> "WebhookDeliveryQuerySet":
        """Return the settled deliveries (delivered or failed) that ended more than KEEP_DAYS before NOW."""
        cutoff = now - timedelta(days=keep_days)
        return self.exclude(state=DeliveryState.PENDING).filter(
            models.Q(completed_at__lt=cutoff) | models.Q(completed_at__isnull=True, created_at__lt=cutoff)
        )


class WebhookDelivery(models.Model):
    """One message to one destination: the same webhook-id and body on every attempt."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="webhook_deliveries")
    destination = models.ForeignKey(WebhookDestination, on_delete=models.CASCADE, related_name="deliveries")
    webhook_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    # The exact JSON text signed and sent, so every attempt carries the same bytes.
    body = models.TextField()
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=MAX_ATTEMPTS)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # When the latest attempt was claimed: the throttle counts claims per destination by it.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Why next_attempt_at is what it is ("Retry-After asked 120 s."), for the destination page.
    next_attempt_reason = models.CharField(max_length=200, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = WebhookDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["claimed_at"], name="webhook_delivery_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"


class WebhookAttemptQuerySet(TenantOwnedQuerySet):
    pass


class WebhookAttempt(models.Model):
    """One HTTP attempt (or a refusal before sending) of a delivery, for the delivery log."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    destination = models.ForeignKey(WebhookDestination, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    objects = WebhookAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["destination", "-started_at", "-id"], name="webhook_attempt_newest"),
            # The worker counts a tenant's attempts in its budget's windows (webhooks.budget).
            models.Index(fields=["tenant", "started_at"], name="webhook_attempt_tenant"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
