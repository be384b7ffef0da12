"""The check the REST API runs on every request made with an API key (Bearer agk_…).

An API key has every permission of the catalogue and every organization of its tenant; it is
refused only when it is unknown, its secret does not match, or its tenant's API access is off.
"""

from accessgov.core import catalogue, keys
from accessgov.core.credentials import (
    EVERY_ORGANIZATION,
    Decision,
    Kind,
    Principal,
    Refusal,
    allow,
    cache_key,
    refuse,
)
from accessgov.policy.access import access_refusal
from accessgov.policy.models import ApiKey


def find_api_key(prefix: str) -> ApiKey | None:
    """Return the key with PREFIX, its tenant and the tenant's API user, in one indexed query."""
    return ApiKey.objects.select_related("tenant", "tenant__api_user").filter(prefix=prefix).first()


def decide_api_key(api_key: ApiKey | None, *, secret: str) -> Decision:
    """Return the decision for API_KEY as loaded (None: no such key) presented with SECRET."""
    if api_key is None:
        # An unknown key costs what a wrong secret costs.
        keys.burn_equal_time(secret)
        return refuse(Refusal.UNKNOWN_CREDENTIAL)
    if not api_key.matches(secret):
        return refuse(Refusal.WRONG_SECRET)
    if (reason := access_refusal(api_key.tenant)) is not None:
        return refuse(reason, api_key)
    return allow(
        Principal(
            kind="ApiKey",
            credential_id=api_key.prefix,
            name=api_key.name,
            tenant_id=api_key.tenant_id,
            tenant_name=api_key.tenant.name,
            partner_id=api_key.tenant.partner_id,
            permissions=catalogue.current().permissions,
            organizations=EVERY_ORGANIZATION,
            expires_at=None,
            record=api_key,
            rate_key=cache_key(Kind.API_KEY, api_key.prefix),
        )
    )
