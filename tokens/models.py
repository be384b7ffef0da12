"""Third-party tokens: a public token ID, a peppered digest of the secret, and its restrictions."""

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.views.decorators.debug import sensitive_variables

from accessgov.core import keys
from accessgov.core.clientip import parse_address
from accessgov.core.credentials import Kind, OrganizationScope, announce_change, cache_key
from accessgov.core.rotation import RetiringSecret
from tenants.models import Tenant, TenantOwnedQuerySet

TOKEN_ID_PREFIX = "agt_"
TOKEN_ID_LENGTH = len(TOKEN_ID_PREFIX) + keys.LOOKUP_ID_LENGTH


def generate_token_id() -> str:
    """Return a new public token ID: 'agt_' and a 12-character base62 lookup id."""
    return TOKEN_ID_PREFIX + keys.generate_lookup_id()


def is_well_formed_token_id(value: str) -> bool:
    """Return whether VALUE looks like a token ID, so malformed ones never reach the database."""
    return (
        len(value) == TOKEN_ID_LENGTH
        and value.startswith(TOKEN_ID_PREFIX)
        and all(char in keys.BASE62 for char in value[len(TOKEN_ID_PREFIX) :])
    )


def grace_period(grace_days: int | None = None) -> timedelta:
    """Return how long a revoked token is kept before purge_revoked deletes it."""
    return timedelta(days=settings.ACCESSGOV_REVOKE_GRACE_DAYS if grace_days is None else grace_days)


def count_live_tokens(*, tenant: Tenant, **kwargs) -> int:
    """Return how many of TENANT's tokens are live (not revoked), for the cap on credentials."""
    return ThirdPartyToken.objects.for_tenant(tenant).unrevoked().count()


def drop_deleted_organization(*, organization, **kwargs) -> list[str]:
    """Take ORGANIZATION (being deleted) out of every token scope of its tenant; return their names.

    Each token is saved, so the API's cached copies are dropped at once (accessgov.api.cache).
    """
    narrowed = []
    for token in ThirdPartyToken.objects.for_tenant(organization.tenant).filter(all_organizations=False):
        if organization.pk in token.organization_ids:
            token.organization_ids = [pk for pk in token.organization_ids if pk != organization.pk]
            token.save(update_fields=["organization_ids"])
            narrowed.append(f"token “{token.name}”")
    return narrowed


class TokenStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ThirdPartyTokenQuerySet(TenantOwnedQuerySet):
    def with_status(self, status: TokenStatus | str, now: datetime) -> "ThirdPartyTokenQuerySet":
        """Return the tokens whose status at NOW is STATUS (the same rules as ThirdPartyToken.status)."""
        live = Q(revoked_at__isnull=True, suspended_at__isnull=True)
        started = Q(starts_at__lte=now)
        ended = Q(expires_at__isnull=False, expires_at__lte=now)
        match TokenStatus(status):
            case TokenStatus.REVOKED:
                return self.filter(revoked_at__isnull=False)
            case TokenStatus.SUSPENDED:
                return self.filter(revoked_at__isnull=True, suspended_at__isnull=False)
            case TokenStatus.SCHEDULED:
                return self.filter(live, ~started)
            case TokenStatus.EXPIRED:
                return self.filter(live, started, ended)
            case TokenStatus.ACTIVE:
                return self.filter(live, started).exclude(ended)

    def active(self, now: datetime) -> "ThirdPartyTokenQuerySet":
        """Return the tokens that authenticate at NOW (API access of the tenant aside)."""
        return self.with_status(TokenStatus.ACTIVE, now)

    def expiring(self, now: datetime, within: timedelta) -> "ThirdPartyTokenQuerySet":
        """Return the tokens not revoked that expire after NOW and no later than NOW + WITHIN, soonest first."""
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + within
        ).order_by("expires_at", "pk")

    def unrevoked(self) -> "ThirdPartyTokenQuerySet":
        """Return the tokens not revoked (scheduled and expired ones included): they count as live."""
        return self.filter(revoked_at__isnull=True)

    def search(self, term: str) -> "ThirdPartyTokenQuerySet":
        """Return the tokens whose name contains TERM or whose token ID starts with it."""
        term = term.strip()
        if not term:
            return self
        return self.filter(Q(name__icontains=term) | Q(token_id__startswith=term))

    def purgeable(self, now: datetime, grace_days: int | None = None) -> "ThirdPartyTokenQuerySet":
        """Return the revoked tokens whose grace period has ended at NOW."""
        return self.filter(revoked_at__isnull=False, revoked_at__lte=now - grace_period(grace_days))


class ThirdPartyToken(RetiringSecret, models.Model):
    """A credential a tenant's own scripts send as HTTP Basic TOKEN_ID:TOKEN_SECRET."""

    # Database-level on_delete throughout: a model may not mix both kinds, and every foreign key
    # that will point at a token must then be database-level too (Django's check fields.E323),
    # so purge_revoked always deletes a batch with one DELETE and no rows collected in Python.
    tenant = models.ForeignKey(Tenant, on_delete=models.DB_CASCADE, related_name="third_party_tokens")
    token_id = models.CharField("token ID", max_length=32, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=1000, blank=True)
    digest = models.CharField(max_length=64)
    pepper_id = models.CharField(max_length=16)
    starts_at = models.DateTimeField("start date")
    expires_at = models.DateTimeField("expiration date", null=True, blank=True)
    # The restrictions live in the row itself so that check_token needs a single query.
    # Normalised networks ("192.0.2.0/24", "2001:db8::/32"); empty means any address.
    allowed_ips = models.JSONField("IP allowlist", default=list, blank=True)
    all_organizations = models.BooleanField(default=True)
    # Ids of organizations of the same tenant; used only when all_organizations is False.
    organization_ids = models.JSONField(default=list, blank=True)
    # Permission strings from accessgov.core.catalogue.
    permissions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    secret_set_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Suspended: refused (credential_suspended) with everything kept, until an administrator resumes it.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DB_SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ThirdPartyTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "third-party token"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "tenant", name="unique_token_name_per_tenant"),
        ]
        indexes = [
            # A reported leak (accessgov.leaks): a token secret holds no token ID, so it is found
            # by its digest; without this every report would read the whole table.
            models.Index(fields=["digest"], name="token_digest"),
            models.Index(
                fields=["previous_digest"], name="token_previous_digest", condition=~Q(previous_digest="")
            ),
            # The console list: one tenant's tokens, newest first, paginated.
            models.Index(fields=["tenant", "-created_at", "-id"], name="token_tenant_newest"),
            # purge_revoked: each tenant's revoked tokens, oldest revocation first.
            models.Index(
                fields=["tenant", "revoked_at", "id"],
                name="token_revoked",
                condition=Q(revoked_at__isnull=False),
            ),
            # send_reminders and the Settings > API banner: each tenant's tokens by expiry.
            models.Index(
                fields=["tenant", "expires_at", "id"],
                name="token_expiring",
                condition=Q(revoked_at__isnull=True, expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_id})"

    def status(self, now: datetime) -> TokenStatus:
        """Return the status at NOW: Revoked, Suspended, else Scheduled before the start, Expired from the expiry on."""
        if self.revoked_at is not None:
            return TokenStatus.REVOKED
        if self.suspended_at is not None:
            return TokenStatus.SUSPENDED
        if now < self.starts_at:
            return TokenStatus.SCHEDULED
        if self.expires_at is not None and now >= self.expires_at:
            return TokenStatus.EXPIRED
        return TokenStatus.ACTIVE

    def describe_status(self, now: datetime) -> str:
        """Return the status as the console shows it, e.g. "Revoked — deleted on 2026-12-01"."""
        status = self.status(now)
        if status == TokenStatus.REVOKED:
            return f"{status.label} — deleted on {self.deleted_on():%Y-%m-%d}"
        if status == TokenStatus.SUSPENDED:
            return f"{status.label} since {self.suspended_at:%Y-%m-%d %H:%M} UTC"
        return status.label

    def deleted_on(self, grace_days: int | None = None) -> datetime | None:
        """Return when purge_revoked may delete this token, or None if it is not revoked."""
        if self.revoked_at is None:
            return None
        return self.revoked_at + grace_period(grace_days)

    def can_be_reinstated(self, now: datetime, grace_days: int | None = None) -> bool:
        """Return whether this revoked token is still within its grace period at NOW."""
        deleted_on = self.deleted_on(grace_days)
        return deleted_on is not None and now < deleted_on

    def matches(self, secret: str, now: datetime | None = None) -> bool:
        """Return whether SECRET is this token's secret (or, at NOW, its old one during an overlap)."""
        if now is None:
            return keys.digest_matches(secret, self.digest, self.pepper_id)
        return self.match_secret(secret, now) is not None

    @sensitive_variables("secret")
    def set_secret(self, now: datetime) -> str:
        """Give the token a new secret (not saved) and return the raw value; only its digest is kept."""
        secret = keys.generate_secret(keys.TOKEN_SECRET_PREFIX)
        self.digest = keys.digest_secret(secret)
        self.pepper_id = keys.current_pepper_id()
        self.secret_set_at = now
        return secret

    set_secret.alters_data = True

    def revoke(self, *, by, now: datetime) -> bool:
        """Revoke the token at NOW; return False if it was already revoked (by anyone, even meanwhile)."""
        # A conditional UPDATE: of two concurrent revocations exactly one changes the row.
        changed = (
            type(self)
            .objects.filter(pk=self.pk, revoked_at__isnull=True)
            .update(revoked_at=now, revoked_by=by, updated_at=now)
        )
        if changed:
            self.revoked_at, self.revoked_by, self.updated_at = now, by, now
            # A queryset UPDATE sends no post_save: say it, so every app server drops its copy.
            announce_change(cache_key(Kind.TOKEN, self.token_id))
        return bool(changed)

    revoke.alters_data = True

    def allows_ip(self, client_ip: str) -> bool:
        """Return whether CLIENT_IP is inside the allowlist; an IPv4-mapped IPv6 address counts as IPv4."""
        if not self.allowed_ips:
            return True
        address = parse_address(client_ip)
        if address is None:
            return False
        return any(address in ipaddress.ip_network(network) for network in self.allowed_ips)

    @property
    def organization_scope(self) -> OrganizationScope:
        """Return the organizations of its tenant the token may act on."""
        return OrganizationScope.of(
            all_organizations=self.all_organizations, organization_ids=self.organization_ids
        )


class ReminderSent(models.Model):
    """A reminder that TOKEN expires at EXPIRES_AT was queued THRESHOLD_DAYS before (tokens.reminders).

    Written in the transaction that queues the mail, and unique: a killed or repeated run of
    send_reminders never sends one twice. A token given a new expiry gets its reminders again.
    """

    # Database-level, like every foreign key to a token: purge_revoked deletes with one DELETE.
    token = models.ForeignKey(ThirdPartyToken, on_delete=models.DB_CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    threshold_days = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField()
    in_digest = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "expires_at", "threshold_days"], name="unique_reminder_per_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.threshold_days}-day reminder for token {self.token_id}"
