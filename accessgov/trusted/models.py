"""Trusted Applications: integrations support staff define, which a tenant authorizes through OAuth 2.0
(django-oauth-toolkit issues the codes and tokens; these rows say for which tenant and with what)."""

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models

from tenants.models import Tenant, TenantOwnedQuerySet


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
    # Permission strings from accessgov.core.catalogue: the most the application can be granted.
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


def drop_deleted_organization(*, organization, **kwargs) -> list[str]:
    """Take ORGANIZATION (being deleted) out of every live authorization of its tenant; return their names.

    Access tokens are judged against their authorization on every request (never cached), so the
    narrower scope holds from the next request on.
    """
    narrowed = []
    authorizations = (
        TrustedApplicationAuthorization.objects.for_tenant(organization.tenant)
        .live()
        .filter(all_organizations=False)
        .select_related("application")
    )
    for authorization in authorizations:
        if organization.pk in authorization.organization_ids:
            authorization.organization_ids = [
                pk for pk in authorization.organization_ids if pk != organization.pk
            ]
            authorization.save(update_fields=["organization_ids"])
            narrowed.append(f"trusted application “{authorization.application.name}”")
    return narrowed


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
    # SHA-256 of the authorization code an access token descends from (kept across refreshes):
    # DOT deletes a code once used, and a second use must still find and revoke these tokens.
    code_checksum = models.CharField(max_length=64, blank=True, db_index=True)

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
