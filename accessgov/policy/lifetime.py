"""The tenant's lifetime policy for third-party tokens: one rule, checked by everyone who sets terms.

Create Token, Edit, Renew and Roll secret all call `check` (or `breaches`, which also names the
form field each problem belongs to) with the terms they are about to save; the token list calls it
to flag existing tokens that break the policy.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from accessgov.core import catalogue
from accessgov.policy.models import LifetimePolicy
from tenants.models import Tenant


@dataclass(frozen=True)
class Breach:
    """One way a token's terms break the policy: the form field it concerns and what to do."""

    field: str  # "expires_at" or "allowed_ips", as the token form names them
    message: str


def write_permissions(permissions: Iterable[str]) -> list[str]:
    """Return the PERMISSIONS that can change something (not read-only in the catalogue)."""
    read_only = catalogue.current().read_only_permissions
    return sorted(set(permissions) - read_only)


def breaches(
    policy: LifetimePolicy,
    *,
    starts_at: datetime,
    expires_at: datetime | None,
    permissions: Iterable[str],
    allowed_ips: Iterable[str],
) -> list[Breach]:
    """Return how a token with these terms breaks POLICY (empty: it complies)."""
    found: list[Breach] = []
    tenant_name = policy.tenant.name
    maximum = policy.max_lifetime_days
    if expires_at is None and (policy.expiry_required or maximum):
        limit = f" of at most {maximum} days" if maximum else ""
        found.append(Breach("expires_at", f"The policy of {tenant_name} requires an expiration date{limit}."))
    elif expires_at is not None and maximum and expires_at - starts_at > timedelta(days=maximum):
        latest = starts_at + timedelta(days=maximum)
        found.append(
            Breach(
                "expires_at",
                f"The policy of {tenant_name} allows tokens of at most {maximum} days: "
                f"choose an expiration date no later than {latest:%Y-%m-%d %H:%M} UTC.",
            )
        )
    if policy.allowlist_required_for_write and not list(allowed_ips):
        writes = write_permissions(permissions)
        if writes:
            found.append(
                Breach(
                    "allowed_ips",
                    f"The policy of {tenant_name} requires whitelisted IP addresses for tokens with "
                    f"write permissions ({', '.join(writes)}).",
                )
            )
    return found


def check(
    tenant: Tenant,
    starts: datetime,
    expires: datetime | None,
    permissions: Iterable[str],
    allowlist: Iterable[str],
) -> list[str]:
    """Return the messages saying how a token of TENANT with these terms breaks its policy."""
    policy = LifetimePolicy.of(tenant)
    found = breaches(
        policy, starts_at=starts, expires_at=expires, permissions=permissions, allowed_ips=allowlist
    )
    return [breach.message for breach in found]
