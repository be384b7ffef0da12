"""The API policy, the tenant's API user and keys, and the append-only audit log."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from accessgov import keys
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


class ApiKeyQuerySet(TenantOwnedQuerySet):
    pass


class ApiKey(models.Model):
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

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="unique_api_key_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def matches(self, secret: str) -> bool:
        """Return whether SECRET is this key, compared in constant time."""
        return keys.digest_matches(secret, self.digest, self.pepper_id)


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
        from accessgov.audit import Action

        try:
            return Action(self.action).label
        except ValueError:
            return self.action
