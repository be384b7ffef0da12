"""Tell what a pasted or reported value is: which credential, whose, in what state.

Every accessgov secret carries a typed prefix and a CRC32 checksum (accessgov.core.keys), so a
value that is not one of ours, or is mistyped, is told apart without touching the database. A
well-formed secret is looked up the way the API looks it up and must match its stored digest; a
token ID or a visible prefix (public identifiers, shown in the console) finds its credential too,
but only "whose key is this?" accepts those: a leak report must prove it holds the secret.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import RefreshToken

from accessgov.core import keys
from accessgov.gateway.actions import GATEWAY_KEY_PREFIX
from accessgov.gateway.models import GatewayKey
from accessgov.operator.models import OPERATOR_KEY_PREFIX, OperatorKey
from accessgov.policy.models import ApiKey
from accessgov.trusted.auth import find_oauth_token
from accessgov.trusted.models import TrustedApplicationToken
from accessgov.trusted.oauth import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX
from tenants.models import Tenant
from tokens.models import TOKEN_ID_PREFIX, ThirdPartyToken, is_well_formed_token_id

# What each typed prefix is, in the words of the console (and of docs/secret-scanning.md).
SECRET_TYPES = {
    keys.API_KEY_PREFIX: "API key",
    keys.TOKEN_SECRET_PREFIX: "Third-party token secret",
    ACCESS_TOKEN_PREFIX: "Trusted application access token",
    REFRESH_TOKEN_PREFIX: "Trusted application refresh token",
    OPERATOR_KEY_PREFIX: "Operator key",
    GATEWAY_KEY_PREFIX: "Gateway key",
}


@dataclass(frozen=True)
class Found:
    """A credential found from a value; never holds the value itself."""

    type: str  # a SECRET_TYPES label
    row: object  # the credential's row (ApiKey, ThirdPartyToken, TrustedApplicationToken, ...)
    tenant: Tenant | None  # None for the operator's own keys
    name: str
    identifier: str  # public: a token ID, a visible prefix
    creator: str
    status: str
    last_used_at: datetime | None
    # Whether the value was the secret itself (a leak), not only a public identifier.
    is_secret: bool

    @property
    def is_live(self) -> bool:
        return self.status in {"Active", "Scheduled"}

    @property
    def kind(self) -> str:
        """What to do with it is decided by: api_key, token, authorization, operator_key, gateway_key."""
        return {
            ApiKey: "api_key",
            ThirdPartyToken: "token",
            TrustedApplicationToken: "authorization",
            OperatorKey: "operator_key",
            GatewayKey: "gateway_key",
        }[type(self.row)]

    @property
    def target_pk(self) -> int:
        """The primary key of the row the console's pages act on (an authorization for OAuth tokens)."""
        return self.row.authorization_id if isinstance(self.row, TrustedApplicationToken) else self.row.pk


def _user(user) -> str:
    return user.get_username() if user is not None else ""


def _api_key(row: ApiKey, *, is_secret: bool) -> Found:
    return Found(
        SECRET_TYPES[keys.API_KEY_PREFIX],
        row,
        row.tenant,
        row.name,
        row.prefix,
        _user(row.created_by),
        "Active",
        row.last_used_at,
        is_secret,
    )


def _token(row: ThirdPartyToken, *, is_secret: bool) -> Found:
    return Found(
        "Third-party token",
        row,
        row.tenant,
        row.name,
        row.token_id,
        _user(row.created_by),
        row.status(timezone.now()).label,
        row.last_used_at,
        is_secret,
    )


def _oauth(link: TrustedApplicationToken, kind: str) -> Found:
    authorization = link.authorization
    access = link.access_token
    live = authorization.revoked_at is None and access is not None and not access.is_expired()
    return Found(
        kind,
        link,
        authorization.tenant,
        authorization.application.name,
        authorization.application.vendor,
        _user(authorization.authorized_by),
        "Active" if live else "Revoked" if authorization.revoked_at else "Expired",
        authorization.last_used_at,
        True,
    )


def _operator_owned(row, kind: str) -> Found:
    return Found(
        kind, row, None, row.name, row.prefix, _user(row.created_by), "Active", row.last_used_at, True
    )


def _token_by_secret(value: str) -> ThirdPartyToken | None:
    # A token secret is found by its digest under each pepper in force (the secret holds no token ID),
    # and so is an old secret still working during a rotation's overlap (both digests are indexed).
    digests = [keys.digest_secret(value, pepper_id) for pepper_id in settings.KEY_PEPPERS]
    rows = ThirdPartyToken.objects.select_related("tenant", "created_by").filter(
        Q(digest__in=digests) | Q(previous_digest__in=digests)
    )
    now = timezone.now()
    return next((row for row in rows[:2] if row.match_secret(value, now) is not None), None)


def identify_secret(value: str) -> Found | None:
    """Return the credential whose secret VALUE is (it must match the stored digest), else None."""
    value = value.strip()
    if len(value) > keys.MAX_SECRET_LENGTH:
        return None
    prefix = next((p for p in SECRET_TYPES if value.startswith(p)), None)
    if prefix is None or keys.parse_secret(value, prefix) is None:
        return None  # not ours, or mistyped: the checksum tells without a query
    visible = keys.visible_prefix(value, prefix)
    if prefix == keys.API_KEY_PREFIX:
        row = ApiKey.objects.select_related("tenant", "created_by").filter(prefix=visible).first()
        # Its old secret too, while a rotation's overlap keeps it working.
        live = row is not None and row.matches(value, timezone.now())
        return _api_key(row, is_secret=True) if live else None
    if prefix == keys.TOKEN_SECRET_PREFIX:
        row = _token_by_secret(value)
        return _token(row, is_secret=True) if row is not None else None
    if prefix == ACCESS_TOKEN_PREFIX:
        link = find_oauth_token(value)
        return _oauth(link, SECRET_TYPES[prefix]) if link is not None else None
    if prefix == REFRESH_TOKEN_PREFIX:
        # Like access tokens, refresh tokens are found by the SHA-256 checksum DOT keeps of them.
        checksum = hashlib.sha256(value.encode()).hexdigest()
        refresh = RefreshToken.objects.filter(token_checksum=checksum).select_related("access_token").first()
        link = (
            TrustedApplicationToken.objects.select_related(
                "access_token",
                "authorization__tenant",
                "authorization__application",
                "authorization__authorized_by",
            )
            .filter(access_token=refresh.access_token)
            .first()
            if refresh is not None and refresh.access_token is not None
            else None
        )
        return _oauth(link, SECRET_TYPES[prefix]) if link is not None else None
    model = OperatorKey if prefix == OPERATOR_KEY_PREFIX else GatewayKey
    row = model.objects.select_related("created_by").filter(prefix=visible).first()
    return _operator_owned(row, SECRET_TYPES[prefix]) if row is not None and row.matches(value) else None


def identify(value: str) -> Found | None:
    """Return the credential VALUE names: its secret, its token ID, or its visible prefix."""
    value = value.strip()
    found = identify_secret(value)
    if found is not None:
        return found
    if value.startswith(TOKEN_ID_PREFIX) and is_well_formed_token_id(value):
        row = ThirdPartyToken.objects.select_related("tenant", "created_by").filter(token_id=value).first()
        return _token(row, is_secret=False) if row is not None else None
    if (
        value.startswith(keys.API_KEY_PREFIX)
        and len(value) == len(keys.API_KEY_PREFIX) + keys.LOOKUP_ID_LENGTH
    ):
        row = ApiKey.objects.select_related("tenant", "created_by").filter(prefix=value).first()
        return _api_key(row, is_secret=False) if row is not None else None
    return None


def checksum_of(value: str) -> str:
    """Return a short fingerprint of VALUE for logs (never the value): the first 12 hex of its SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]
