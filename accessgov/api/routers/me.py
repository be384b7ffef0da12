"""GET /api/v1/Me (who am I) and GET /api/v1/RateLimits (what is left of my limits)."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from accessgov.api import limits
from accessgov.api.envelope import MeMeta, respond
from accessgov.api.gate import endpoint
from accessgov.core.credentials import Principal

router = Router(tags=["Me"])


class TenantOut(Schema):
    Name: str
    PartnerId: str


class CredentialOut(Schema):
    Type: str
    Id: str
    Name: str
    ExpiresAt: datetime | None


class RateLimitWindowOut(Schema):
    Permission: str
    Limit: int
    WindowSeconds: int


class MeData(Schema):
    Tenant: TenantOut
    Credential: CredentialOut
    Permissions: list[str]
    Organizations: str | list[int]
    RateLimits: list[RateLimitWindowOut]


class MeOut(Schema):
    Data: MeData
    Meta: MeMeta


def _limits_of(principal: Principal) -> list[dict]:
    rows = []
    for permission in sorted(principal.permissions):
        for window in limits.windows_of_permission(permission):
            rows.append({"Permission": permission, "Limit": window.limit, "WindowSeconds": window.seconds})
    return rows


@endpoint(router, "GET", "Me", schema=MeOut, summary="Who am I", operation_id="accessgov_api_me")
def me(request: HttpRequest):
    """Return the calling credential, its tenant, permissions, expiry and rate limits."""
    principal: Principal = request.auth
    organizations = principal.organizations
    return respond(
        {
            "Data": {
                "Tenant": {"Name": principal.tenant_name, "PartnerId": principal.partner_id},
                "Credential": {
                    "Type": principal.kind,
                    "Id": principal.credential_id,
                    "Name": principal.name,
                    "ExpiresAt": principal.expires_at,
                },
                "Permissions": sorted(principal.permissions),
                "Organizations": "All" if organizations.everything else sorted(organizations.ids),
                "RateLimits": _limits_of(principal),
            },
            "Meta": {"ResponseCode": 200},
        }
    )


class RemainingOut(Schema):
    Permission: str
    Limit: int
    WindowSeconds: int
    Remaining: int
    ResetSeconds: int


class RateLimitsOut(Schema):
    Data: list[RemainingOut]
    Meta: MeMeta


@endpoint(
    router,
    "GET",
    "RateLimits",
    schema=RateLimitsOut,
    tags=["Rate limits"],
    operation_id="accessgov_api_rate_limits",
)
def rate_limits(request: HttpRequest):
    """Return the caller's rate limits and what remains of each window for this endpoint."""
    principal: Principal = request.auth
    gate: limits.GateResult = request.api_gate
    current = {(state.window.limit, state.window.seconds): state for state in gate.windows}
    rows = []
    for row in _limits_of(principal):
        state = (
            current.get((row["Limit"], row["WindowSeconds"]))
            if row["Permission"] == "RateLimits.Read"
            else None
        )
        rows.append(
            {
                **row,
                "Remaining": state.remaining if state else row["Limit"],
                "ResetSeconds": state.reset_seconds if state else row["WindowSeconds"],
            }
        )
    return respond({"Data": rows, "Meta": {"ResponseCode": 200}})
