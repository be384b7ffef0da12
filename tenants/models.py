"""Tenants, their organizations, and who belongs to them with which role."""

import secrets

from django.conf import settings
from django.db import models

PARTNER_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def generate_partner_id() -> str:
    """Return a new Partner ID: 'P-' and 12 Crockford base32 characters (60 random bits)."""
    return "P-" + "".join(secrets.choice(PARTNER_ID_ALPHABET) for _ in range(12))


class TenantQuerySet(models.QuerySet):
    def active(self) -> "TenantQuerySet":
        """Return the tenants the operator has not deactivated."""
        return self.filter(is_active=True)


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=63, unique=True)
    # Identifies the tenant to external systems; not a secret, never changes once made.
    partner_id = models.CharField(
        "Partner ID", max_length=16, unique=True, default=generate_partner_id, editable=False
    )
    # On for every tenant (new and, by the migration, existing): an administrator without a
    # verified second factor is sent to add one before any page of the tenant (tenants.access).
    administrators_must_use_mfa = models.BooleanField(
        "Administrators must use MFA",
        default=True,
        help_text="Administrators must sign in with a second factor (an authenticator app) to use this tenant.",
    )
    # Who is told about security matters (credentials expiring or leaked, destinations disabled):
    # a list of e-mail addresses set in Manage API; without one, the tenant's administrators.
    security_contacts = models.JSONField("Security contact", default=list, blank=True)
    # What happens when a live secret of this tenant is reported leaked (accessgov.leaks).
    leak_response = models.CharField(
        "When a secret is reported leaked",
        max_length=10,
        choices=[
            ("revoke", "Revoke it at once and tell the security contact (recommended)"),
            ("notify", "Only tell the security contact"),
        ],
        default="revoke",
    )
    # The platform's own identifier of the tenant: what an operator sync upserts by
    # (docs/operator.md) and how the identity provider's `tenants` claim names tenants (docs/sso.md).
    # Unique when set; tenants made by hand have none.
    external_id = models.CharField("External ID", max_length=200, null=True, blank=True, unique=True)
    # Off: the operator deactivated it; every credential of the tenant is refused and its members
    # see it no more, until it is reactivated. Nothing else is changed or lost.
    is_active = models.BooleanField("Active", default=True)
    # Off: members sign in through the identity provider only (docs/sso.md); staff and superusers
    # keep their password and second factor for /admin/, but open this tenant only after SSO.
    password_sign_in = models.BooleanField(
        "Password sign-in allowed",
        default=True,
        help_text="Untick to make this tenant's members sign in through the identity provider (single sign-on) only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def notice_recipients(self) -> list[str]:
        """Return the addresses security notices go to: the security contact, else the administrators."""
        if self.security_contacts:
            return list(self.security_contacts)
        return sorted(
            {
                address
                for address in self.memberships.filter(role=Role.ADMINISTRATOR, user__is_active=True)
                .exclude(user__email="")
                .values_list("user__email", flat=True)
            }
        )


class TenantOwnedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> "TenantOwnedQuerySet":
        """Return the rows that belong to TENANT."""
        return self.filter(tenant=tenant)


class Organization(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="organizations")
    name = models.CharField(max_length=200)
    # The operator platform's own identifier of the organization, unique within its tenant.
    external_id = models.CharField("External ID", max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="unique_organization_name"),
            models.UniqueConstraint(fields=["tenant", "external_id"], name="unique_organization_external_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    TECHNICIAN = "technician", "Technician"
    VIEWER = "viewer", "Viewer"


class MembershipQuerySet(TenantOwnedQuerySet):
    def of_user(self, user) -> "MembershipQuerySet":
        """Return USER's memberships of active tenants, with their tenants, ordered by tenant name.

        A tenant the operator deactivated is hidden from its members everywhere they choose one.
        """
        return (
            self.filter(user=user, tenant__is_active=True).select_related("tenant").order_by("tenant__name")
        )


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.get_role_display()})"

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR
