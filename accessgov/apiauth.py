"""Who is calling the REST API: parse the Authorization header and verify the credential.

Two kinds of credential reach /api/v1/:
- a third-party token, as HTTP Basic base64(TOKEN_ID:TOKEN_SECRET), decided by tokens.auth;
- an API key of the tenant, as `Authorization: Bearer <key>`, with every permission of the
  catalogue and every organization of its tenant.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone

from accessgov import catalogue, keys
from accessgov.models import ApiKey

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
    kind: str  # "token" or "api_key"
    identifier: str  # the token ID, or the API key's lookup prefix
    secret: str

    @property
    def cache_key(self) -> str:
        """Return the name the rate limits and credential versions use for this credential."""
        return f"{'t' if self.kind == 'token' else 'k'}:{self.identifier}"


@dataclass(frozen=True)
class Principal:
    """A verified caller of the API."""

    kind: str  # "ThirdPartyToken" or "ApiKey"
    credential_id: str
    name: str
    tenant_id: int
    tenant_name: str
    partner_id: str
    permissions: frozenset[str]
    organization_ids: frozenset[int] | None  # None: every organization of the tenant
    expires_at: datetime | None
    record: object  # the ThirdPartyToken or ApiKey row

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
