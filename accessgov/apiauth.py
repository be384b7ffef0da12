"""Who is calling the REST API: parse the Authorization header and verify the credential.

Three kinds of credential reach /api/v1/:
- a third-party token, as HTTP Basic base64(TOKEN_ID:TOKEN_SECRET), decided by tokens.auth;
- an API key of the tenant, as `Authorization: Bearer agk_…`, with every permission of the
  catalogue and every organization of its tenant;
- a trusted application's OAuth access token, as `Authorization: Bearer agat_…`, with the
  permissions and organizations its tenant authorization grants (narrowed by the token's scope).
"""

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone

from accessgov import catalogue, keys
from accessgov.models import ApiKey, TrustedApplicationToken
from accessgov.trusted import ACCESS_TOKEN_PREFIX, is_usable

# A header longer than this is refused before any decoding or hashing (attack catalogue case 6).
MAX_AUTHORIZATION_LENGTH = 1024
LAST_USED_RESOLUTION = timedelta(seconds=60)


class CredentialError(Exception):
    """The request's credential is refused; `code`, `status` and `message` say how to answer."""

    def __init__(self, code: str, message: str, status: int = 401):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


INVALID = ("invalid_credentials", "The token ID and secret (or the API key) are not valid.")


@dataclass(frozen=True)
class PresentedCredential:
    kind: str  # "token", "api_key" or "oauth"
    identifier: str  # the token ID, or the API key's or access token's lookup prefix
    secret: str

    @property
    def cache_key(self) -> str:
        """Return the name the credential cache and credential versions use for this credential."""
        return f"{CACHE_KEY_LETTERS[self.kind]}:{self.identifier}"

    @property
    def cacheable(self) -> bool:
        """Return whether a verified row of this credential may be kept in the per-process cache.

        OAuth access tokens are not cached: revoking an authorization or an access token through
        DOT deletes rows in bulk (no per-row save to hang a version bump on), and a warm cache would
        then keep a revoked token alive for up to ACCESSGOV_CREDENTIAL_CACHE_SECONDS.
        """
        return self.kind != "oauth"


CACHE_KEY_LETTERS = {"token": "t", "api_key": "k", "oauth": "o"}


@dataclass(frozen=True)
class Principal:
    """A verified caller of the API."""

    kind: str  # "ThirdPartyToken", "ApiKey" or "TrustedApplication"
    credential_id: str
    name: str
    tenant_id: int
    tenant_name: str
    partner_id: str
    permissions: frozenset[str]
    organization_ids: frozenset[int] | None  # None: every organization of the tenant
    expires_at: datetime | None
    record: object  # the ThirdPartyToken, ApiKey or TrustedApplicationToken row
    # What the rate limits count against: the credential itself, except that a trusted
    # application's access tokens share their authorization's limits (refreshing does not reset them).
    rate_key: str

    def may_see_organization(self, organization_id: int) -> bool:
        return self.organization_ids is None or organization_id in self.organization_ids


def parse_authorization(header: str) -> PresentedCredential:
    """Return the credential in an Authorization header, or raise CredentialError (401).

    Nothing is normalised: a secret with a trailing space or a look-alike character is refused.
    """
    if not header:
        raise CredentialError(
            "missing_credentials",
            "Send a third-party token as HTTP Basic (TOKEN_ID:TOKEN_SECRET) or an API key as Bearer.",
        )
    if len(header) > MAX_AUTHORIZATION_LENGTH:
        raise CredentialError("authorization_too_long", "The Authorization header is too long.", status=400)
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.startswith(ACCESS_TOKEN_PREFIX):
        if keys.parse_secret(value, ACCESS_TOKEN_PREFIX) is None:
            raise CredentialError(*INVALID)
        return PresentedCredential("oauth", keys.visible_prefix(value, ACCESS_TOKEN_PREFIX), value)
    if scheme == "bearer":
        parsed = keys.parse_secret(value, keys.API_KEY_PREFIX)
        if parsed is None:
            raise CredentialError(*INVALID)
        return PresentedCredential("api_key", keys.visible_prefix(value, keys.API_KEY_PREFIX), value)
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError) as error:
            raise CredentialError(
                "malformed_credentials", "The Basic credentials are not valid base64."
            ) from error
        token_id, colon, secret = decoded.partition(":")
        if not colon or not token_id or not secret:
            raise CredentialError("malformed_credentials", "Basic credentials must be TOKEN_ID:TOKEN_SECRET.")
        return PresentedCredential("token", token_id, secret)
    raise CredentialError("unsupported_scheme", "Use HTTP Basic for tokens or Bearer for API keys.")


def find_api_key(prefix: str) -> ApiKey | None:
    """Return the key with PREFIX, its tenant and the tenant's API user, in one indexed query."""
    return ApiKey.objects.select_related("tenant", "tenant__api_user").filter(prefix=prefix).first()


def decide_api_key(api_key: ApiKey | None, presented: PresentedCredential) -> Principal:
    """Return the principal of API_KEY as loaded (None: no such key), or raise CredentialError."""
    if api_key is None:
        keys.burn_equal_time(presented.secret)
        raise CredentialError(*INVALID)
    if not api_key.matches(presented.secret):
        raise CredentialError(*INVALID)
    try:
        active = api_key.tenant.api_user.is_active
    except ObjectDoesNotExist:
        active = False
    if not active:
        raise CredentialError("api_access_off", "API access is turned off for this tenant.")
    return Principal(
        kind="ApiKey",
        credential_id=api_key.prefix,
        name=api_key.name,
        tenant_id=api_key.tenant_id,
        tenant_name=api_key.tenant.name,
        partner_id=api_key.tenant.partner_id,
        permissions=catalogue.PERMISSIONS,
        organization_ids=None,
        expires_at=None,
        record=api_key,
        rate_key=f"k:{api_key.prefix}",
    )


def record_api_key_use(api_key: ApiKey, *, ip: str, now: datetime) -> None:
    """Record that API_KEY was used, at most once a minute, with one conditional UPDATE."""
    cutoff = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at > cutoff:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ).update(last_used_at=now, last_used_ip=ip or None)
    api_key.last_used_at, api_key.last_used_ip = now, ip


def now() -> datetime:
    return timezone.now()


def find_oauth_token(secret: str) -> TrustedApplicationToken | None:
    """Return the link of the access token SECRET with its authorization, tenant and API user.

    DOT stores only the SHA-256 of a token, so the lookup is by that checksum: one indexed query.
    """
    checksum = hashlib.sha256(secret.encode()).hexdigest()
    return (
        TrustedApplicationToken.objects.select_related(
            "access_token",
            "access_token__application",
            "authorization__tenant__api_user",
            "authorization__application",
        )
        .filter(access_token__token_checksum=checksum)
        .first()
    )


def decide_oauth_token(link: TrustedApplicationToken | None, *, permission: str, now: datetime) -> Principal:
    """Return the principal of a trusted application's access token, or raise CredentialError."""
    if link is None:
        raise CredentialError(*INVALID)
    access_token, authorization = link.access_token, link.authorization
    if now >= access_token.expires:
        raise CredentialError("token_expired", "This access token has expired. Use the refresh token.")
    if authorization.revoked_at is not None or not authorization.application.is_enabled:
        raise CredentialError("authorization_revoked", "This application's authorization was revoked.")
    if not is_usable(authorization):
        raise CredentialError("api_access_off", "API access is turned off for this tenant.")
    # The authorization is the ceiling; a token refreshed with a narrower scope has only that scope.
    permissions = frozenset(authorization.permissions) & frozenset(access_token.scope.split())
    if permission not in permissions:
        raise CredentialError(
            "permission_missing",
            f"This application was not authorized for {permission} ({catalogue.label_of(permission)}).",
            status=403,
        )
    return Principal(
        kind="TrustedApplication",
        credential_id=access_token.application.client_id,
        name=authorization.application.name,
        tenant_id=authorization.tenant_id,
        tenant_name=authorization.tenant.name,
        partner_id=authorization.tenant.partner_id,
        permissions=permissions,
        organization_ids=None
        if authorization.all_organizations
        else frozenset(authorization.organization_ids),
        expires_at=access_token.expires,
        record=link,
        rate_key=f"a:{authorization.pk}",
    )


def record_oauth_use(link: TrustedApplicationToken, *, ip: str, now: datetime) -> None:
    """Record that the authorization of LINK was used, at most once a minute, with one UPDATE."""
    authorization = link.authorization
    cutoff = now - LAST_USED_RESOLUTION
    if authorization.last_used_at is not None and authorization.last_used_at > cutoff:
        return
    type(authorization).objects.filter(pk=authorization.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ).update(last_used_at=now, last_used_ip=ip or None)
    authorization.last_used_at, authorization.last_used_ip = now, ip
