"""The API policy, the tenant's API user and keys, and the append-only audit log."""

from django.conf import settings
from django.core.validators import URLValidator
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


# Trusted Applications: integrations support staff define, which a tenant authorizes through OAuth 2.0
# (django-oauth-toolkit issues the codes and tokens; these rows say for which tenant and with what).


class TrustedApplication(models.Model):
    """An integration support staff predefined; tenants can authorize it, never create or change it."""

    name = models.CharField(max_length=100, unique=True)
    vendor = models.CharField(max_length=100)
    description = models.TextField(max_length=2000, blank=True)
    # Rendered as <img src>: admin validation keeps it https, so it can never be javascript: or data:.
    logo_url = models.URLField(
        "logo URL", blank=True, validators=[URLValidator(schemes=["https"])], max_length=300
    )
    oauth_application = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.PROTECT, related_name="trusted_application"
    )
    # Permission strings from accessgov.catalogue: the most the application can be granted.
    permissions = models.JSONField(default=list)
    # True: the application asks for every organization; False: the administrator picks some.
    all_organizations = models.BooleanField(default=False)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.vendor})"


class TrustedApplicationAuthorizationQuerySet(TenantOwnedQuerySet):
    def live(self) -> "TrustedApplicationAuthorizationQuerySet":
        """Return the authorizations that have not been revoked."""
        return self.filter(revoked_at__isnull=True)


class TrustedApplicationAuthorization(models.Model):
    """A tenant administrator's consent: APPLICATION may use the tenant's API with these terms."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="trusted_authorizations")
    application = models.ForeignKey(
        TrustedApplication, on_delete=models.PROTECT, related_name="authorizations"
    )
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    authorized_at = models.DateTimeField()
    # Subset of the application's permissions, fixed at consent.
    permissions = models.JSONField(default=list)
    all_organizations = models.BooleanField(default=False)
    organization_ids = models.JSONField(default=list, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TrustedApplicationAuthorizationQuerySet.as_manager()

    class Meta:
        ordering = ["-authorized_at", "-pk"]
        constraints = [
            # One live authorization per tenant and application: consenting again updates it.
            models.UniqueConstraint(
                fields=["tenant", "application"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_live_trusted_authorization",
            )
        ]
        indexes = [models.Index(fields=["tenant", "-authorized_at", "-id"], name="trusted_auth_newest")]

    def __str__(self) -> str:
        return f"{self.application.name} for {self.tenant}"

    def allows_organization(self, organization_id: int) -> bool:
        """Return whether the authorization covers the organization ORGANIZATION_ID of its tenant."""
        return self.all_organizations or organization_id in self.organization_ids


class TrustedApplicationToken(models.Model):
    """Ties one of django-oauth-toolkit's rows (an authorization code or an access token) to the
    tenant authorization it was issued under.

    A link table rather than DOT's swappable models: swapping must happen before DOT's first
    migration and makes DOT's and our migrations depend on each other; a link with CASCADE keeps
    DOT's stock models, and deleting a DOT row (use of a code, revocation, expiry clean-up)
    removes its link with it. Refresh tokens need no link: each live one is bound to an access token.
    """

    authorization = models.ForeignKey(
        TrustedApplicationAuthorization, on_delete=models.CASCADE, related_name="token_links"
    )
    code = models.OneToOneField(
        "oauth2_provider.Grant", on_delete=models.CASCADE, null=True, blank=True, related_name="trusted_link"
    )
    access_token = models.OneToOneField(
        "oauth2_provider.AccessToken",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="trusted_link",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__isnull=True, access_token__isnull=False)
                | models.Q(code__isnull=False, access_token__isnull=True),
                name="trusted_link_one_target",
            )
        ]

    def __str__(self) -> str:
        return f"Link #{self.pk} of {self.authorization_id}"
