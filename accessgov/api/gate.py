"""The gate of every operation of /api/v1/ and /api/operator/v1/: IP block, credential, organization scope, rate limits.

Each kind of credential is found and checked by the package that owns it (one table, `KINDS`);
every refusal, whatever the kind, is answered from one table (`REFUSALS`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.security.base import AuthBase

from accessgov.api import cache, limits
from accessgov.api.authorization import INVALID, CredentialError, PresentedCredential, parse_authorization
from accessgov.api.envelope import ERRORS, ApiError
from accessgov.core import catalogue
from accessgov.core.clientip import get_client_ip
from accessgov.core.credentials import Decision, Kind, Principal, Refusal, record_last_use, within_scope
from accessgov.operator import auth as operator_auth
from accessgov.policy import actions as api_key_actions
from accessgov.policy import auth as api_key_auth
from accessgov.trusted import auth as oauth_auth
from accessgov.usage import counting as usage_counting
from tokens import auth as token_auth
from tokens import rotation as token_rotation

# The path parameter that names the organization a request acts on; out of the caller's scope it
# is answered exactly like an organization that does not exist.
ORGANIZATION_PARAMETER = "organization_id"


@dataclass(frozen=True)
class CredentialKind:
    """How the gate finds and checks one kind of credential, and whose last use a call records."""

    find: Callable[[PresentedCredential], object | None]  # one indexed query
    decide: Callable[..., Decision]  # (record, presented, *, ip, permission, now), no query
    used: Callable[[object], object]  # the row whose last_used_at a successful call sets
    # (row, now): the first use of a rolled secret retires the old one (core.rotation.Overlap.FIRST_USE)
    retire_previous: Callable[[object, datetime], object] | None = None


KINDS: dict[Kind, CredentialKind] = {
    Kind.TOKEN: CredentialKind(
        find=lambda presented: token_auth.find_token(presented.identifier),
        decide=lambda record, presented, *, ip, permission, now: token_auth.decide_token(
            record, secret=presented.secret, client_ip=ip, permission=permission, now=now
        ),
        used=lambda token: token,
        retire_previous=lambda token, now: token_rotation.retire_previous_secret(
            token=token, by=None, ip=None, on_first_use=True, now=now
        ),
    ),
    Kind.API_KEY: CredentialKind(
        find=lambda presented: api_key_auth.find_api_key(presented.identifier),
        decide=lambda record, presented, *, ip, permission, now: api_key_auth.decide_api_key(
            record, secret=presented.secret, now=now
        ),
        used=lambda api_key: api_key,
        retire_previous=lambda api_key, now: api_key_actions.retire_previous_key_secret(
            api_key=api_key, by=None, ip=None, on_first_use=True, now=now
        ),
    ),
    Kind.OAUTH: CredentialKind(
        find=lambda presented: oauth_auth.find_oauth_token(presented.secret),
        decide=lambda record, presented, *, ip, permission, now: oauth_auth.decide_oauth_token(
            record, permission=permission, now=now
        ),
        # A trusted application's tokens come and go with refreshes; its authorization is what
        # the console shows as used.
        used=lambda link: link.authorization,
    ),
    Kind.OPERATOR: CredentialKind(
        find=lambda presented: operator_auth.find_operator_key(presented.identifier),
        decide=lambda record, presented, *, ip, permission, now: operator_auth.decide_operator_key(
            record, secret=presented.secret, permission=permission
        ),
        used=lambda key: key,
    ),
}

# Status, code and message of each refusal. The message may name {permission}, its {label} and the
# {organization_id} asked for. An unknown credential and a wrong secret read the same, so nobody
# learns which token IDs exist.
REFUSALS: dict[Refusal, tuple[int, str, str]] = {
    Refusal.UNKNOWN_CREDENTIAL: (401, *INVALID),
    Refusal.WRONG_SECRET: (401, *INVALID),
    Refusal.REVOKED: (401, "token_revoked", "This token was revoked. Regenerate its secret to reinstate it."),
    Refusal.SUSPENDED: (
        401,
        "credential_suspended",
        "This credential is suspended. An administrator of its tenant can resume it.",
    ),
    Refusal.NOT_YET_VALID: (401, "token_not_yet_valid", "This token's start date has not come yet."),
    Refusal.EXPIRED: (401, "token_expired", "This token has expired. Create a new token."),
    Refusal.ACCESS_TOKEN_EXPIRED: (
        401,
        "token_expired",
        "This access token has expired. Use the refresh token.",
    ),
    Refusal.AUTHORIZATION_REVOKED: (
        401,
        "authorization_revoked",
        "This application's authorization was revoked.",
    ),
    Refusal.API_ACCESS_OFF: (401, "api_access_off", "API access is turned off for this tenant."),
    Refusal.TENANT_DEACTIVATED: (
        401,
        "tenant_deactivated",
        "This tenant was deactivated by the operator; its credentials work again once it is reactivated.",
    ),
    Refusal.IP_NOT_ALLOWED: (
        403,
        "ip_not_allowed",
        "This token may not be used from your IP address. Add it to the token's whitelisted IP addresses.",
    ),
    Refusal.PERMISSION_MISSING: (
        403,
        "permission_missing",
        "This token lacks the permission {permission} ({label}). "
        "An administrator can add it under Edit Permissions.",
    ),
    Refusal.SCOPE_MISSING: (
        403,
        "permission_missing",
        "This application was not authorized for {permission} ({label}).",
    ),
    Refusal.ORGANIZATION_NOT_ALLOWED: (
        404,
        "not_found",
        "No organization with Id {organization_id} is visible to this credential.",
    ),
    Refusal.ORGANIZATION_REQUIRED: (
        403,
        "organization_required",
        "This credential may act on some organizations only: name one ({organization_source}).",
    ),
    Refusal.OPERATOR_PERMISSION_MISSING: (
        403,
        "permission_missing",
        "This operator key lacks the permission {permission} ({label}). "
        "A superuser can make a key with it (manage.py create_operator_key or the admin).",
    ),
    Refusal.OPERATOR_KEY_ELSEWHERE: (
        401,
        "operator_key_not_accepted",
        "An operator key works only under /api/operator/v1/. Use a tenant's token or API key here.",
    ),
    Refusal.OPERATOR_KEY_REQUIRED: (
        401,
        "operator_key_required",
        "The operator API accepts only operator keys (Bearer ago_…), never a tenant's credential.",
    ),
}


def refusal_error(reason: Refusal, *, endpoint: catalogue.Endpoint, organization_id: int | None) -> ApiError:
    """Return the answer to a request of ENDPOINT refused for REASON."""
    status, code, message = REFUSALS[reason]
    text = message.format(
        permission=endpoint.permission,
        label=catalogue.label_of(endpoint.permission),
        organization_id=organization_id,
        organization_source=endpoint.organization,
    )
    return ApiError(status, code, text)


def decide(
    record: object | None,
    presented: PresentedCredential,
    *,
    ip: str,
    permission: str | None,
    organization_id: int | None,
    organization_required: bool = False,
    now: datetime,
) -> Decision:
    """Return the decision on RECORD (loaded now or cached) for this request.

    The organization scope is checked here, once for every kind (core.credentials.within_scope).
    """
    decision = KINDS[presented.kind].decide(record, presented, ip=ip, permission=permission, now=now)
    return within_scope(decision, organization_id, required=organization_required)


def _blocked(seconds: int) -> ApiError:
    return ApiError(
        429,
        "ip_blocked",
        f"Too many failed requests from your IP address. Try again in {seconds} seconds.",
        {"Retry-After": str(seconds)},
    )


class Governed(AuthBase):
    """The gate of one operation: IP block, credential, scope, permission, then the rate limits.

    Ninja runs it before parsing any parameter. Plain HTTP was already refused by the API
    middleware. A blocked IP is answered before any database work, valid credential or not.
    """

    openapi_type = "http"
    openapi_scheme = "basic"

    def __init__(self, endpoint: catalogue.Endpoint):
        self.endpoint = endpoint
        self.permission = endpoint.permission
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal:
        match = request.resolver_match
        return judge(
            request,
            endpoint=self.endpoint,
            authorization=request.headers.get("Authorization", ""),
            ip=get_client_ip(request),
            organization_id=match.kwargs.get(ORGANIZATION_PARAMETER) if match is not None else None,
        )


def judge(
    request: HttpRequest,
    *,
    endpoint: catalogue.Endpoint,
    authorization: str,
    ip: str,
    organization_id: int | None,
    organization_required: bool = False,
) -> Principal:
    """Return who may make this request of ENDPOINT, or raise the ApiError that answers it.

    The one sequence for /api/v1/ and for the gateway's decisions (accessgov.api.decisions): the
    IP block, the credential (cached or one indexed query), its rules, the organization scope, the
    permission, then the rate limits, and last use. Sets request.api_gate for the limit headers.
    """
    try:
        presented = parse_authorization(authorization)
    except CredentialError as error:
        if blocked := limits.blocked_for(ip):
            raise _blocked(blocked) from error
        raise
    if (presented.kind == Kind.OPERATOR) != endpoint.operator:
        # The operator's API and the tenants' never share a credential; the kind is read from the
        # value's prefix, so this is decided before any lookup, valid secret or not.
        if blocked := limits.blocked_for(ip):
            raise _blocked(blocked)
        reason = Refusal.OPERATOR_KEY_REQUIRED if endpoint.operator else Refusal.OPERATOR_KEY_ELSEWHERE
        raise refusal_error(reason, endpoint=endpoint, organization_id=organization_id)
    now = timezone.now()
    scope = (organization_id, organization_required)
    cache_key = presented.cache_key
    cached = cache.get(cache_key)
    if cached is not None and cached.record.matches(presented.secret, now):
        # Warm: the cached row is decided on first (no SQL), and a request it refuses is judged
        # again below on a fresh row, so a refusal never consumes the credential's limits. Then one
        # Redis round trip answers the block and counts the limits, only if the cached row is
        # still current.
        try:
            principal = _principal(cached.record, presented, endpoint, ip, scope, now)
        except ApiError:
            principal = None
        if principal is not None:
            gate = limits.gate(
                ip=ip,
                credential=cache_key,
                endpoint=endpoint,
                expect=cached.versions,
                tenant_id=principal.tenant_id,
                usage=_usage(presented, principal.record, endpoint, ip),
            )
            if gate.blocked_for:
                raise _blocked(gate.blocked_for)
            if gate.versions == cached.versions:
                return _admit(request, principal, gate, presented, endpoint, ip=ip, now=now)
            cache.drop(cache_key)
    blocked, versions = limits.peek(ip, cache_key)
    if blocked:
        raise _blocked(blocked)
    # Versions are read before the row, so a change committed after this read is seen next time.
    record = KINDS[presented.kind].find(presented)
    try:
        principal = _principal(record, presented, endpoint, ip, scope, now)
    except ApiError as error:
        # A credential of a known tenant was named: its administrators see the block this may
        # start (accessgov.core.lockouts), and the refusal in its usage (accessgov.usage). An
        # unknown credential names nobody.
        if (tenant_id := getattr(record, "tenant_id", None)) is not None:
            request.api_failure_tenants = (tenant_id,)
        if record is not None:
            # A wrong secret names the credential but proves nothing: counted, its address not kept
            # (a stranger must not push the real addresses out of the console's list).
            address = "" if error.code == INVALID[0] else ip
            request.api_usage = _usage(presented, record, endpoint, address, outcome=error.code)
        raise
    if presented.cacheable:
        cache.put(cache_key, record, versions)
    gate = limits.gate(
        ip=ip,
        credential=principal.rate_key,
        endpoint=endpoint,
        tenant_id=principal.tenant_id,
        usage=_usage(presented, principal.record, endpoint, ip),
    )
    return _admit(request, principal, gate, presented, endpoint, ip=ip, now=now)


def _usage(presented, record, endpoint, ip: str, *, outcome: str = "") -> usage_counting.Hit | None:
    """Return the call to count in the usage of the credential RECORD is (or belongs to)."""
    return usage_counting.hit_for(
        KINDS[presented.kind].used(record), endpoint=endpoint, address=ip, outcome=outcome
    )


def _principal(record, presented, endpoint, ip: str, scope: tuple, now: datetime) -> Principal:
    organization_id, required = scope
    decision = decide(
        record,
        presented,
        ip=ip,
        permission=endpoint.permission,
        organization_id=organization_id,
        organization_required=required,
        now=now,
    )
    if not decision.allowed:
        raise refusal_error(decision.reason, endpoint=endpoint, organization_id=organization_id)
    return decision.principal


def _admit(request, principal, gate, presented, endpoint, *, ip: str, now: datetime) -> Principal:
    request.api_gate = gate
    request.api_principal = principal
    if gate.blocked_for:
        raise _blocked(gate.blocked_for)
    if gate.tenant_limited:
        # The budget all the tenant's credentials share: more credentials never buy more of it.
        raise ApiError(
            429,
            "tenant_rate_limited",
            f"Your organization's rate limit for {endpoint.permission}, shared by all its credentials, "
            f"is reached. Try again in {gate.retry_after} seconds.",
            {"Retry-After": str(gate.retry_after)},
        )
    if gate.limited:
        raise ApiError(
            429,
            "rate_limited",
            f"Rate limit reached for {endpoint.permission}. Try again in {gate.retry_after} seconds.",
            {"Retry-After": str(gate.retry_after)},
        )
    record_last_use(KINDS[presented.kind].used(principal.record), ip=ip, now=now)
    if principal.retires_previous:
        # The new secret's first use: the old one stops now, on every app server.
        KINDS[presented.kind].retire_previous(principal.record, now)
    return principal


def endpoint(router: Router, method: str, path: str, *, schema, status: int = 200, **options):
    """Return the decorator that serves METHOD PATH on ROUTER behind the gate.

    The permission is the one the endpoint catalogue gives the endpoint (accessgov.core.catalogue),
    so it is written once; the answers are SCHEMA on STATUS, or the error envelope. OPTIONS go to
    Ninja (operation_id, summary, tags).
    """
    own = catalogue.current().own_endpoint(method, path)
    return router.api_operation(
        [method], path, auth=Governed(own), response={status: schema, **ERRORS}, **options
    )


def operator_endpoint(
    router: Router, method: str, path: str, *, schema, status: int = 200, created: bool = False, **options
):
    """Return the decorator that serves METHOD PATH of the operator's API (/api/operator/v1/) on
    ROUTER behind the gate, which admits only operator keys holding the catalogue's permission
    (accessgov.core.catalogue.OPERATOR_ENDPOINTS). CREATED: an upsert, answering 201 with SCHEMA
    when it created and STATUS when it changed or kept."""
    operator = catalogue.current().operator_endpoint(method, path)
    answers = {status: schema, **({201: schema} if created else {}), **ERRORS}
    return router.api_operation([method], path, auth=Governed(operator), response=answers, **options)
