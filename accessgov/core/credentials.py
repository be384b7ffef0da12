"""What a credential check decides, in one vocabulary for every kind of credential.

API keys (accessgov.policy), third-party tokens (tokens), trusted applications' access tokens
(accessgov.trusted) and operator keys (accessgov.operator) each own the check of their kind; each returns a `Decision` built from the
names below, and the REST edge (accessgov.api.gate) answers every refusal from one table. The
names of the per-process credential cache, the organization scope of a caller and the "last used"
bookkeeping are defined here once, so no two owners can drift apart.
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.dispatch import Signal

from accessgov.core.clientip import parse_address

# last_used_at is written at most this often per credential, so a busy integration costs no write
# per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Kind(enum.StrEnum):
    """How a credential reached us (accessgov.api.authorization.parse_authorization says which)."""

    TOKEN = "token"  # a third-party token, HTTP Basic TOKEN_ID:TOKEN_SECRET
    API_KEY = "api_key"  # an API key of the tenant, Bearer agk_…
    OAUTH = "oauth"  # a trusted application's access token, Bearer agat_…
    OPERATOR = "operator"  # an operator key, Bearer ago_…, for /api/operator/v1/ only


# The letters of the per-process cache and of the credential versions in Redis. One table: a
# second spelling would let a changed credential bump a key nobody reads, and a revoked key would
# live on in the cache.
CACHE_KEY_LETTERS = {Kind.TOKEN: "t", Kind.API_KEY: "k", Kind.OAUTH: "o", Kind.OPERATOR: "p"}
# A trusted application's access tokens share their authorization's rate limits (refreshing does
# not reset them), counted under this letter and the authorization's primary key.
AUTHORIZATION_LETTER = "a"


def cache_key(kind: Kind, identifier: str) -> str:
    """Return the name the credential cache, versions and rate limits use for one credential."""
    return f"{CACHE_KEY_LETTERS[kind]}:{identifier}"


def authorization_rate_key(authorization_pk: int) -> str:
    """Return the rate-limit name shared by every access token of one trusted authorization."""
    return f"{AUTHORIZATION_LETTER}:{authorization_pk}"


# Sent when a credential (CACHE_KEYS) or, with EVERYTHING, every credential may no longer be what
# an app server verified earlier. The REST edge connects to it in AppConfig.ready() and makes every
# app server drop its copy (accessgov.api.cache). Its arguments: cache_keys (a tuple of
# cache_key() values) and everything (bool).
credential_changed = Signal()


def announce_change(*cache_keys: str, everything: bool = False) -> None:
    """Tell whoever keeps verified credentials that these changed (or, with EVERYTHING, all)."""
    credential_changed.send(sender=None, cache_keys=cache_keys, everything=everything)


class Refusal(enum.StrEnum):
    """Why a credential may not make this request; accessgov.api.gate maps each to an answer."""

    UNKNOWN_CREDENTIAL = "unknown_credential"
    WRONG_SECRET = "wrong_secret"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    ACCESS_TOKEN_EXPIRED = "access_token_expired"
    AUTHORIZATION_REVOKED = "authorization_revoked"
    API_ACCESS_OFF = "api_access_off"
    TENANT_DEACTIVATED = "tenant_deactivated"
    IP_NOT_ALLOWED = "ip_not_allowed"
    PERMISSION_MISSING = "permission_missing"
    SCOPE_MISSING = "scope_missing"
    ORGANIZATION_NOT_ALLOWED = "organization_not_allowed"
    ORGANIZATION_REQUIRED = "organization_required"
    OPERATOR_PERMISSION_MISSING = "operator_permission_missing"
    # The two APIs never share credentials: an operator key outside /api/operator/v1/, and a
    # tenant's credential inside it.
    OPERATOR_KEY_ELSEWHERE = "operator_key_elsewhere"
    OPERATOR_KEY_REQUIRED = "operator_key_required"


@dataclass(frozen=True)
class OrganizationScope:
    """Which organizations of its tenant a credential may act on."""

    ids: frozenset[int] | None  # None: every organization of the tenant

    @classmethod
    def of(cls, *, all_organizations: bool, organization_ids) -> "OrganizationScope":
        """Return the scope of a row that stores `all_organizations` and `organization_ids`."""
        return cls(None if all_organizations else frozenset(organization_ids))

    @property
    def everything(self) -> bool:
        return self.ids is None

    def allows(self, organization_id: int) -> bool:
        """Return whether ORGANIZATION_ID (of the credential's tenant) is in the scope."""
        return self.ids is None or organization_id in self.ids

    def filter(self, queryset):
        """Return QUERYSET (organizations of the tenant) narrowed to this scope."""
        return queryset if self.ids is None else queryset.filter(pk__in=self.ids)


EVERY_ORGANIZATION = OrganizationScope(None)


@dataclass(frozen=True)
class Principal:
    """A verified caller of the API: what it is, whose, and what it may do."""

    kind: str  # "ThirdPartyToken", "ApiKey", "TrustedApplication" or "OperatorKey", as the API names it
    credential_id: str
    name: str
    tenant_id: int | None  # None: an operator key, which belongs to no tenant
    tenant_name: str
    partner_id: str
    permissions: frozenset[str]
    organizations: OrganizationScope
    expires_at: datetime | None
    record: object  # the ThirdPartyToken, ApiKey, TrustedApplicationToken or OperatorKey row
    rate_key: str  # what the rate limits count against (see authorization_rate_key)


@dataclass(frozen=True)
class Decision:
    """The outcome of one credential check."""

    reason: Refusal | None  # None: allowed
    # The row once its secret matched (allowed or not); None for an unknown id or a wrong secret.
    record: object | None = None
    principal: Principal | None = None  # set when allowed

    @property
    def allowed(self) -> bool:
        return self.reason is None


def refuse(reason: Refusal, record: object | None = None) -> Decision:
    """Return a refusal for REASON (RECORD: the row, once the caller proved it holds the secret)."""
    return Decision(reason=reason, record=record)


def allow(principal: Principal) -> Decision:
    """Return the decision that PRINCIPAL may make the request."""
    return Decision(reason=None, record=principal.record, principal=principal)


# An organization named by something that is no organization id (a platform's request may carry
# any text there): in no limited scope, and not refused where every organization is allowed.
NOT_AN_ORGANIZATION_ID = -1


def within_scope(decision: Decision, organization_id: int | None, *, required: bool = False) -> Decision:
    """Return DECISION, refused if it admits a caller outside the organization ORGANIZATION_ID.

    None asks for no organization. A caller outside the scope is refused as if the organization
    did not exist (accessgov.api.gate answers 404). REQUIRED: the endpoint acts on an organization
    the request must name, so a caller limited to some organizations must name one.
    """
    if not decision.allowed:
        return decision
    organizations = decision.principal.organizations
    if organization_id is None:
        if required and not organizations.everything:
            return refuse(Refusal.ORGANIZATION_REQUIRED, decision.record)
        return decision
    if not organizations.allows(organization_id):
        return refuse(Refusal.ORGANIZATION_NOT_ALLOWED, decision.record)
    return decision


def record_last_use(row, *, ip: str, now: datetime) -> None:
    """Record that ROW (a credential with last_used_at and last_used_ip) was used from IP at NOW.

    At most once per LAST_USED_RESOLUTION, with a single conditional UPDATE whose condition
    repeats the check in SQL, so concurrent requests write once.
    """
    cutoff = now - LAST_USED_RESOLUTION
    if row.last_used_at is not None and row.last_used_at > cutoff:
        return
    address = parse_address(ip)
    stored_ip = str(address) if address is not None else None
    type(row)._default_manager.filter(pk=row.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ).update(last_used_at=now, last_used_ip=stored_ip)
    row.last_used_at, row.last_used_ip = now, stored_ip
