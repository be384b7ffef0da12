"""The check the REST API runs on every request made with a trusted application's access token.

The access token (Bearer agat_…) is one of django-oauth-toolkit's rows; its link says which tenant
authorization it was issued under. The authorization is the ceiling: a token refreshed with a
narrower scope has only that scope.
"""

import hashlib
from datetime import datetime

from accessgov.core.credentials import (
    Decision,
    OrganizationScope,
    Principal,
    Refusal,
    allow,
    authorization_rate_key,
    refuse,
)
from accessgov.policy.access import access_refusal
from accessgov.trusted.models import TrustedApplicationToken


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


def decide_oauth_token(
    link: TrustedApplicationToken | None, *, permission: str | None, now: datetime
) -> Decision:
    """Return the decision for the access token of LINK as loaded (None: no such token).

    The secret was matched by the lookup itself (its checksum is the key), so there is no
    separate comparison.
    """
    if link is None:
        return refuse(Refusal.UNKNOWN_CREDENTIAL)
    access_token, authorization = link.access_token, link.authorization
    if now >= access_token.expires:
        return refuse(Refusal.ACCESS_TOKEN_EXPIRED, link)
    if authorization.revoked_at is not None or not authorization.application.is_enabled:
        return refuse(Refusal.AUTHORIZATION_REVOKED, link)
    if (reason := access_refusal(authorization.tenant)) is not None:
        return refuse(reason, link)
    permissions = frozenset(authorization.permissions) & frozenset(access_token.scope.split())
    if permission is not None and permission not in permissions:
        return refuse(Refusal.SCOPE_MISSING, link)
    return allow(
        Principal(
            kind="TrustedApplication",
            credential_id=access_token.application.client_id,
            name=authorization.application.name,
            tenant_id=authorization.tenant_id,
            tenant_name=authorization.tenant.name,
            partner_id=authorization.tenant.partner_id,
            permissions=permissions,
            organizations=OrganizationScope.of(
                all_organizations=authorization.all_organizations,
                organization_ids=authorization.organization_ids,
            ),
            expires_at=access_token.expires,
            record=link,
            rate_key=authorization_rate_key(authorization.pk),
        )
    )
