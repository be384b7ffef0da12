"""The API Policy, the tenant's API user (whose switch turns API access on and off) and API keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accessgov.core import keys
from accessgov.core.rotation import RetiringSecret
from tenants.models import Tenant, TenantOwnedQuerySet


class PolicyVersionQuerySet(models.QuerySet):
    def current(self) -> "PolicyVersion | None":
        """Return the newest published policy version, or None if none is published yet."""
        return self.filter(published_at__lte=timezone.now()).order_by("-published_at", "-pk").first()


class PolicyVersion(models.Model):
    version = models.CharField(max_length=32, unique=True)
    text = models.TextField()
    published_at = models.DateTimeField(default=timezone.now)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"API Policy {self.version}"


class PolicyAcceptance(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="policy_acceptances")
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    accepted_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at"]

    def __str__(self) -> str:
        return f"{self.tenant} accepted {self.version}"


class ApiUser(models.Model):
    """The system identity a tenant's API credentials act as; it cannot sign in to the console."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="api_user")
    username = models.CharField(max_length=64, unique=True)
    # False once an administrator turns API access off: every credential of the tenant stops.
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = "API user"

    def __str__(self) -> str:
        return self.username

    @staticmethod
    def username_for(tenant: Tenant) -> str:
        """Return the API user name of TENANT."""
        return f"api-{tenant.partner_id}"


class ApiKey(RetiringSecret, models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The type prefix and public lookup id: enough to recognise the key, never enough to use it.
    prefix = models.CharField(max_length=32, unique=True)
    digest = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Suspended: refused (credential_suspended) with everything kept, until an administrator resumes it.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_api_key_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def matches(self, secret: str, now=None) -> bool:
        """Return whether SECRET is this key (or, at NOW, its old secret during an overlap)."""
        if now is None:
            return keys.digest_matches(secret, self.digest, self.pepper_id)
        return self.match_secret(secret, now) is not None

    @property
    def lookup_id(self) -> str:
        """Return the public lookup id a rolled key keeps, so both of its secrets find this row."""
        return self.prefix[len(keys.API_KEY_PREFIX) :]


class LifetimePolicy(models.Model):
    """What a tenant's administrators require of every third-party token (accessgov.policy.lifetime).

    A tenant without a row has no requirements: LifetimePolicy.of(tenant) returns an unsaved one.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="lifetime_policy")
    max_lifetime_days = models.PositiveIntegerField(
        "Maximum lifetime (days)",
        null=True,
        blank=True,
        help_text="From the start date to the expiration date, e.g. 90. Empty: no maximum.",
    )
    expiry_required = models.BooleanField("An expiry date is required", default=False)
    allowlist_required_for_write = models.BooleanField(
        "An IP allowlist is required for tokens with write permissions", default=False
    )
    suspend_unused_after_days = models.PositiveIntegerField(
        "Suspend credentials unused for (days)",
        null=True,
        blank=True,
        help_text="Tokens not used (nor changed) for this many days are suspended by the nightly "
        "send_reminders run, and the security contact is told. Empty: never.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "credential lifetime policy"
        verbose_name_plural = "credential lifetime policies"

    def __str__(self) -> str:
        return f"Lifetime policy of {self.tenant}"

    @classmethod
    def of(cls, tenant: Tenant) -> "LifetimePolicy":
        """Return TENANT's policy, or an unsaved one that requires nothing."""
        return cls.objects.filter(tenant=tenant).first() or cls(tenant=tenant)

    @property
    def requires_anything(self) -> bool:
        return bool(self.max_lifetime_days or self.expiry_required or self.allowlist_required_for_write)
