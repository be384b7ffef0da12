"""The check the REST API runs on every request made with an operator key (Bearer ago_…).

An operator key belongs to no tenant: it may reach only the operator's API (/api/operator/v1/; the
gate refuses it anywhere else, and refuses every tenant credential there), and only the endpoints
whose permission it was given.
"""

from accessgov.core import keys
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
from accessgov.operator.models import OperatorKey


def find_operator_key(prefix: str) -> OperatorKey | None:
    """Return the operator key with PREFIX, in one indexed query."""
    return OperatorKey.objects.filter(prefix=prefix).first()


def decide_operator_key(key: OperatorKey | None, *, secret: str, permission: str | None) -> Decision:
    """Return the decision for KEY as loaded (None: no such key) presented with SECRET for PERMISSION."""
    if key is None:
        # An unknown key costs what a wrong secret costs.
        keys.burn_equal_time(secret)
        return refuse(Refusal.UNKNOWN_CREDENTIAL)
    if not key.matches(secret):
        return refuse(Refusal.WRONG_SECRET)
    if permission is not None and permission not in key.permissions:
        return refuse(Refusal.OPERATOR_PERMISSION_MISSING, key)
    return allow(
        Principal(
            kind="OperatorKey",
            credential_id=key.prefix,
            name=key.name,
            tenant_id=None,
            tenant_name="",
            partner_id="",
            permissions=frozenset(key.permissions),
            organizations=EVERY_ORGANIZATION,
            expires_at=None,
            record=key,
            rate_key=cache_key(Kind.OPERATOR, key.prefix),
        )
    )
