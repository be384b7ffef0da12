"""The check the REST API runs on every request made with a third-party token.

One short sequence, one indexed query: find the token by its public ID (with its tenant and the
tenant's API user), compare the secret's digest in constant time, then the rules stored in the
row itself (revocation, API access, validity window, IP allowlist, permission, organization).
"""

from datetime import datetime

from django.utils import timezone

from accessgov.core import keys
from accessgov.core.credentials import (
    Decision,
    Kind,
    Principal,
    Refusal,
    allow,
    cache_key,
    refuse,
    within_scope,
)
from accessgov.policy.access import access_refusal
from tokens.models import ThirdPartyToken, is_well_formed_token_id


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
) -> Decision:
    """Return whether TOKEN_ID with SECRET may, from CLIENT_IP at NOW, use PERMISSION on ORGANIZATION_ID.

    PERMISSION None authenticates only. The caller must answer UNKNOWN_CREDENTIAL and WRONG_SECRET
    identically; both do the same hashing work here.
    """
    decision = decide_token(
        find_token(token_id), secret=secret, client_ip=client_ip, permission=permission, now=now
    )
    return within_scope(decision, organization_id)


def decide_token(
    token: ThirdPartyToken | None,
    *,
    secret: str,
    client_ip: str | None,
    permission: str | None,
    now: datetime | None = None,
) -> Decision:
    """Return the decision of check_token for TOKEN as already loaded (None: no such token).

    The API's per-process credential cache calls this with a token it loaded earlier, so a warm
    request is decided by exactly the same rules without a query. The organization scope is the
    caller's to check against the principal (accessgov.api.gate.decide).
    """
    now = now or timezone.now()
    # Cut an oversized secret before hashing: it cannot match (secrets are much shorter), and
    # hashing a megabyte would make a wrong secret cost more than an unknown ID.
    secret = secret[: keys.MAX_SECRET_LENGTH + 1]
    if token is None:
        keys.burn_equal_time(secret)
        return refuse(Refusal.UNKNOWN_CREDENTIAL)
    if not token.matches(secret):
        return refuse(Refusal.WRONG_SECRET)
    # From here on the caller proved it holds the secret, so it may learn why it is refused.
    if token.revoked_at is not None:
        return refuse(Refusal.REVOKED, token)
    if (reason := access_refusal(token.tenant)) is not None:
        return refuse(reason, token)
    if now < token.starts_at:
        return refuse(Refusal.NOT_YET_VALID, token)
    if token.expires_at is not None and now >= token.expires_at:
        return refuse(Refusal.EXPIRED, token)
    # None: the caller cannot see the client (token introspection) and applies the allowlist itself.
    if client_ip is not None and not token.allows_ip(client_ip):
        return refuse(Refusal.IP_NOT_ALLOWED, token)
    if permission is not None and permission not in token.permissions:
        return refuse(Refusal.PERMISSION_MISSING, token)
    return allow(
        Principal(
            kind="ThirdPartyToken",
            credential_id=token.token_id,
            name=token.name,
            tenant_id=token.tenant_id,
            tenant_name=token.tenant.name,
            partner_id=token.tenant.partner_id,
            permissions=frozenset(token.permissions),
            organizations=token.organization_scope,
            expires_at=token.expires_at,
            record=token,
            rate_key=cache_key(Kind.TOKEN, token.token_id),
        )
    )
