"""The check the REST API runs on every request made with a third-party token.

One short sequence, one indexed query: find the token by its public ID (with its tenant and the
tenant's API user), compare the secret's digest in constant time, then the rules stored in the
row itself (revocation, API access, validity window, IP allowlist, permission, organization).
"""

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.utils import timezone

from accessgov import keys
from tokens.models import ThirdPartyToken, is_well_formed_token_id, parse_client_ip

# last_used_at is written at most this often per token, so a busy integration costs no write
# per request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class Refusal(enum.StrEnum):
    UNKNOWN_TOKEN = "unknown_token"
    WRONG_SECRET = "wrong_secret"
    REVOKED = "revoked"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    IP_NOT_ALLOWED = "ip_not_allowed"
    PERMISSION_MISSING = "permission_missing"
    ORGANIZATION_NOT_ALLOWED = "organization_not_allowed"
    API_ACCESS_OFF = "api_access_off"


@dataclass(frozen=True)
class TokenDecision:
    allowed: bool
    reason: Refusal | None
    # The token once its secret matched (allowed or not); None for an unknown ID or wrong secret.
    token: ThirdPartyToken | None


def _refuse(reason: Refusal, token: ThirdPartyToken | None = None) -> TokenDecision:
    return TokenDecision(allowed=False, reason=reason, token=token)


def _api_access_on(token: ThirdPartyToken) -> bool:
    try:
        api_user = token.tenant.api_user
    except ObjectDoesNotExist:
        # select_related found no API user row: the policy was never agreed.
        return False
    return api_user.is_active


def find_token(token_id: str) -> ThirdPartyToken | None:
    """Return the token with TOKEN_ID, its tenant and the tenant's API user, in one indexed query."""
    if not is_well_formed_token_id(token_id):
        return None
    return (
        ThirdPartyToken.objects.select_related("tenant", "tenant__api_user").filter(token_id=token_id).first()
    )


def check_token(
    *,
    token_id: str,
    secret: str,
    client_ip: str,
    permission: str | None,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> TokenDecision:
    """Return whether TOKEN_ID with SECRET may, from CLIENT_IP at NOW, use PERMISSION on ORGANIZATION_ID.

    PERMISSION None authenticates only. The caller must answer UNKNOWN_TOKEN and WRONG_SECRET
    identically; both do the same hashing work here.
    """
    return decide_token(
        find_token(token_id),
        secret=secret,
        client_ip=client_ip,
        permission=permission,
        organization_id=organization_id,
        now=now,
    )


def decide_token(
    token: ThirdPartyToken | None,
    *,
    secret: str,
    client_ip: str,
    permission: str | None,
    organization_id: int | None = None,
    now: datetime | None = None,
) -> TokenDecision:
    """Return the decision of check_token for TOKEN as already loaded (None: no such token).

    The API's per-process credential cache calls this with a token it loaded earlier, so a warm
    request is decided by exactly the same rules without a query.
    """
    now = now or timezone.now()
    # Cut an oversized secret before hashing: it cannot match (secrets are much shorter), and
    # hashing a megabyte would make a wrong secret cost more than an unknown ID.
    secret = secret[: keys.MAX_SECRET_LENGTH + 1]
    if token is None:
        keys.burn_equal_time(secret)
        return _refuse(Refusal.UNKNOWN_TOKEN)
    if not token.matches(secret):
        return _refuse(Refusal.WRONG_SECRET)
    # From here on the caller proved it holds the secret, so it may learn why it is refused.
    if token.revoked_at is not None:
        return _refuse(Refusal.REVOKED, token)
    if not _api_access_on(token):
        return _refuse(Refusal.API_ACCESS_OFF, token)
    if now < token.starts_at:
        return _refuse(Refusal.NOT_YET_VALID, token)
    if token.expires_at is not None and now >= token.expires_at:
        return _refuse(Refusal.EXPIRED, token)
    if not token.allows_ip(client_ip):
        return _refuse(Refusal.IP_NOT_ALLOWED, token)
    if permission is not None and permission not in token.permissions:
        return _refuse(Refusal.PERMISSION_MISSING, token)
    if organization_id is not None and not token.allows_organization(organization_id):
        return _refuse(Refusal.ORGANIZATION_NOT_ALLOWED, token)
    return TokenDecision(allowed=True, reason=None, token=token)


def record_token_use(token: ThirdPartyToken, *, ip: str, now: datetime) -> None:
    """Record that TOKEN was used from IP at NOW, at most once a minute, with a single UPDATE."""
    cutoff = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    address = parse_client_ip(ip)
    stored_ip = str(address) if address is not None else None
    # The condition repeats the check in SQL so that concurrent requests write once.
    ThirdPartyToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ).update(last_used_at=now, last_used_ip=stored_ip)
    token.last_used_at, token.last_used_ip = now, stored_ip


def allowed_organization_ids(token: ThirdPartyToken) -> list[int] | None:
    """Return the ids of the organizations TOKEN may act on, or None for all of its tenant's."""
    if token.all_organizations:
        return None
    return list(token.organization_ids)
