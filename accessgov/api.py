"""The governed REST API under /api/v1/: one gate for every operation, the JSON envelope, and the
operations of the API-policy app (Me, AuditEvents, RateLimits). Other apps add their routers."""

import logging
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security.base import AuthBase

from accessgov import apiauth, catalogue, credentials, limits, odata
from accessgov.apiauth import CredentialError, PresentedCredential, Principal
from accessgov.clientip import get_client_ip
from accessgov.models import AuditEvent
from tokens import auth as token_auth

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than 2xx, rendered in the JSON envelope."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


TOKEN_REFUSALS: dict[token_auth.Refusal, tuple[int, str, str]] = {
    token_auth.Refusal.UNKNOWN_TOKEN: (401, *apiauth.INVALID),
    token_auth.Refusal.WRONG_SECRET: (401, *apiauth.INVALID),
    token_auth.Refusal.REVOKED: (
        401,
        "token_revoked",
        "This token was revoked. Regenerate its secret to reinstate it.",
    ),
    token_auth.Refusal.NOT_YET_VALID: (
        401,
        "token_not_yet_valid",
        "This token's start date has not come yet.",
    ),
    token_auth.Refusal.EXPIRED: (401, "token_expired", "This token has expired. Create a new token."),
    token_auth.Refusal.API_ACCESS_OFF: (401, "api_access_off", "API access is turned off for this tenant."),
    token_auth.Refusal.IP_NOT_ALLOWED: (
        403,
        "ip_not_allowed",
        "This token may not be used from your IP address. Add it to the token's whitelisted IP addresses.",
    ),
    token_auth.Refusal.ORGANIZATION_NOT_ALLOWED: (404, "not_found", "No such organization."),
}


def error_body(status: int, code: str, message: str) -> dict:
    return {"Meta": {"ResponseCode": status}, "Error": {"Code": code, "Message": message}}


def _find(presented: PresentedCredential) -> object | None:
    """Return the credential's row from the database (one indexed query), or None."""
    if presented.kind == "api_key":
        return apiauth.find_api_key(presented.identifier)
    if presented.kind == "oauth":
        return apiauth.find_oauth_token(presented.secret)
    return token_auth.find_token(presented.identifier)


def _decide(record: object | None, presented: PresentedCredential, *, ip: str, permission: str) -> Principal:
    """Return the principal of RECORD (loaded now or cached) for this request, or raise ApiError."""
    try:
        if presented.kind == "api_key":
            return apiauth.decide_api_key(record, presented)
        if presented.kind == "oauth":
            return apiauth.decide_oauth_token(record, permission=permission, now=apiauth.now())
    except CredentialError as error:
        raise ApiError(error.status, error.code, error.message) from error
    decision = token_auth.decide_token(record, secret=presented.secret, client_ip=ip, permission=permission)
    if decision.reason == token_auth.Refusal.PERMISSION_MISSING:
        raise ApiError(
            403,
            "permission_missing",
            f"This token lacks the permission {permission} ({catalogue.label_of(permission or '')}). "
            "An administrator can add it under Edit Permissions.",
        )
    if not decision.allowed:
        status, code, message = TOKEN_REFUSALS[decision.reason]
        raise ApiError(status, code, message)
    token = decision.token
    allowed = token_auth.allowed_organization_ids(token)
    return Principal(
        kind="ThirdPartyToken",
        credential_id=token.token_id,
        name=token.name,
        tenant_id=token.tenant_id,
        tenant_name=token.tenant.name,
        partner_id=token.tenant.partner_id,
        permissions=frozenset(token.permissions),
        organization_ids=None if allowed is None else frozenset(allowed),
        expires_at=token.expires_at,
        record=token,
        rate_key=presented.cache_key,
    )


def _blocked(seconds: int) -> ApiError:
    return ApiError(
        429,
        "ip_blocked",
        f"Too many failed requests from your IP address. Try again in {seconds} seconds.",
        {"Retry-After": str(seconds)},
    )


class Governed(AuthBase):
    """The gate of one operation: IP block, credential, permission, then the rate limits.

    Ninja runs it before parsing any parameter. Plain HTTP was already refused by the API
    middleware. A blocked IP is answered before any database work, valid credential or not.
    """

    openapi_type = "http"
    openapi_scheme = "basic"

    def __init__(self, permission: str):
        self.permission = permission
        super().__init__()

    def __call__(self, request: HttpRequest) -> Principal:
        ip = get_client_ip(request)
        request.api_failure_counts = True
        try:
            presented = apiauth.parse_authorization(request.headers.get("Authorization", ""))
        except CredentialError as error:
            if blocked := limits.blocked_for(ip):
                raise _blocked(blocked) from error
            raise
        cache_key = presented.cache_key
        gate = None
        cached = credentials.get(cache_key)
        if cached is not None and cached.record.matches(presented.secret):
            # Warm: one Redis round trip answers the block, counts the limits and says whether
            # the cached row is still current; no SQL at all.
            gate = limits.gate(ip=ip, credential=cache_key, permission=self.permission)
            if gate.blocked_for:
                raise _blocked(gate.blocked_for)
            if gate.versions == cached.versions:
                principal = _decide(cached.record, presented, ip=ip, permission=self.permission)
                return self._admit(request, principal, gate, ip=ip)
            credentials.drop(cache_key)
        blocked, versions = limits.peek(ip, cache_key)
        if blocked:
            raise _blocked(blocked)
        # Versions are read before the row, so a change committed after this read is seen next time.
        record = _find(presented)
        principal = _decide(record, presented, ip=ip, permission=self.permission)
        if presented.cacheable:
            credentials.put(cache_key, record, versions)
        if gate is None:
            gate = limits.gate(ip=ip, credential=principal.rate_key, permission=self.permission)
        return self._admit(request, principal, gate, ip=ip)

    def _admit(
        self, request: HttpRequest, principal: Principal, gate: limits.GateResult, *, ip: str
    ) -> Principal:
        request.api_gate = gate
        if gate.blocked_for:
            raise _blocked(gate.blocked_for)
        if gate.limited:
            raise ApiError(
                429,
                "rate_limited",
                f"Rate limit reached for {self.permission}. Try again in {gate.retry_after} seconds.",
                {"Retry-After": str(gate.retry_after)},
            )
        _record_use(principal, ip=ip)
        return principal


def _record_use(principal: Principal, *, ip: str) -> None:
    now = apiauth.now()
    if principal.kind == "ApiKey":
        apiauth.record_api_key_use(principal.record, ip=ip, now=now)
    elif principal.kind == "TrustedApplication":
        apiauth.record_oauth_use(principal.record, ip=ip, now=now)
    else:
        token_auth.record_token_use(principal.record, ip=ip, now=now)


def governed(permission: str) -> Governed:
    """Return the gate for an operation that needs PERMISSION (from accessgov.catalogue)."""
    if permission not in catalogue.PERMISSIONS:
        raise ValueError(f"{permission} is not in the endpoint catalogue")
    return Governed(permission)


api = NinjaAPI(
    title="accessgov API",
    version="1",
    description="The governed REST API. Every call needs HTTPS and a credential; see /api/ for examples.",
    urls_namespace="api",
    docs_url=None,
    openapi_url=None,
)


@api.exception_handler(ApiError)
def _on_api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(
        request, error_body(error.status, error.code, error.message), status=error.status
    )
    if error.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="accessgov API", charset="UTF-8"'
    for name, value in error.headers.items():
        response[name] = value
    if error.code == "ip_blocked":
        # The blocker's own answer never counts as a failure, or a blocked client would stay blocked.
        request.api_failure_counts = False
    return response


@api.exception_handler(CredentialError)
def _on_credential_error(request: HttpRequest, error: CredentialError) -> HttpResponse:
    return _on_api_error(request, ApiError(error.status, error.code, error.message))


@api.exception_handler(AuthenticationError)
def _on_authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _on_api_error(request, ApiError(401, "missing_credentials", "Send a token or an API key."))


@api.exception_handler(ValidationError)
def _on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', [])[1:]) or 'body'}: {item.get('msg')}"
        for item in error.errors
    )
    return _on_api_error(request, ApiError(400, "invalid_request", f"The request is not valid: {problems}."))


@api.exception_handler(odata.ODataError)
def _on_odata_error(request: HttpRequest, error: odata.ODataError) -> HttpResponse:
    return _on_api_error(request, ApiError(400, "invalid_query", str(error)))


@api.exception_handler(Http404)
def _on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _on_api_error(request, ApiError(404, "not_found", str(error) or "Not found."))


@api.exception_handler(HttpError)
def _on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return _on_api_error(request, ApiError(error.status_code, "http_error", str(error)))


@api.exception_handler(Exception)
def _on_crash(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.exception("API request failed", exc_info=error)
    return _on_api_error(
        request,
        ApiError(500, "internal_error", "Something went wrong on our side. Try again; nothing was changed."),
    )


# Schemas: PascalCase JSON, as the API has always spoken.


class ListMeta(Schema):
    ResponseCode: int
    TotalCount: int
    NextLink: str | None


class ErrorDetail(Schema):
    Code: str
    Message: str


class ErrorMeta(Schema):
    ResponseCode: int


class ErrorOut(Schema):
    Meta: ErrorMeta
    Error: ErrorDetail


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def respond(payload: dict, status: int = 200) -> JsonResponse:
    """Return PAYLOAD as JSON.

    The operations declare their response schemas for the OpenAPI document, but build the JSON
    themselves: validating our own output again on every call cost a fifth of a warm request.
    The tests assert the shapes against the schema instead.
    """
    return JsonResponse(payload, status=status, encoder=DjangoJSONEncoder)


def list_response(request: HttpRequest, query: odata.ListQuery, serialize) -> JsonResponse:
    """Return the list envelope of QUERY's page, serialized by SERIALIZE."""
    try:
        total = query.queryset.count()
        rows = list(query.queryset[query.skip : query.skip + query.top]) if query.top else []
    except (OverflowError, DataError) as error:
        # A number in $filter larger than the column holds: the client's mistake, not ours.
        raise odata.ODataError("A value in $filter is out of range for its field.") from error
    has_more = query.skip + len(rows) < total
    return respond(
        {
            "Data": [serialize(row) for row in rows],
            "Meta": {
                "ResponseCode": 200,
                "TotalCount": total,
                "NextLink": odata.next_link(request.path, request.GET, query, len(rows), has_more),
            },
        }
    )


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


class MeMeta(Schema):
    ResponseCode: int


class MeOut(Schema):
    Data: MeData
    Meta: MeMeta


def _limits_of(principal: Principal) -> list[dict]:
    rows = []
    for permission in sorted(principal.permissions):
        for window in limits.windows_for(permission):
            rows.append({"Permission": permission, "Limit": window.limit, "WindowSeconds": window.seconds})
    return rows


router = Router(tags=["Me"])


@router.get("Me", auth=governed("Me.Read"), response={200: MeOut, **ERRORS}, summary="Who am I")
def me(request: HttpRequest):
    """Return the calling credential, its tenant, permissions, expiry and rate limits."""
    principal: Principal = request.auth
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
                "Organizations": "All"
                if principal.organization_ids is None
                else sorted(principal.organization_ids),
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


@router.get(
    "RateLimits",
    auth=governed("RateLimits.Read"),
    response={200: RateLimitsOut, **ERRORS},
    tags=["Rate limits"],
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


class AuditEventOut(Schema):
    Id: int
    CreatedAt: datetime
    Actor: str
    Action: str
    TargetType: str
    TargetId: str
    Target: str
    IpAddress: str | None


class AuditEventList(Schema):
    Data: list[AuditEventOut]
    Meta: ListMeta


AUDIT_FIELDS = {
    "Id": "id",
    "CreatedAt": "created_at",
    "Actor": "actor_label",
    "Action": "action",
    "TargetType": "target_type",
    "Target": "target_label",
}


@router.get(
    "AuditEvents",
    auth=governed("AuditEvents.Read"),
    response={200: AuditEventList, **ERRORS},
    tags=["Audit events"],
)
def audit_events(request: HttpRequest):
    """List the tenant's audit events, newest first. OData: $top, $skip, $orderby, $filter, $count."""
    principal: Principal = request.auth
    queryset = AuditEvent.objects.filter(tenant_id=principal.tenant_id)
    query = odata.apply(queryset, request.GET, AUDIT_FIELDS, ["-created_at"])
    return list_response(
        request,
        query,
        lambda event: {
            "Id": event.pk,
            "CreatedAt": event.created_at,
            "Actor": event.actor_label,
            "Action": event.action,
            "TargetType": event.target_type,
            "TargetId": event.target_id,
            "Target": event.target_label,
            "IpAddress": event.ip_address,
        },
    )


api.add_router("", router)


def _add_app_routers() -> None:
    from tenants.api import router as organizations_router
    from webhooks.api import router as webhooks_router

    api.add_router("", organizations_router)
    api.add_router("", webhooks_router)


_add_app_routers()


def openapi_schema() -> dict:
    """Return the OpenAPI document, with both ways to authenticate described."""
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "basicAuth": {
            "type": "http",
            "scheme": "basic",
            "description": "A third-party token: TOKEN_ID as the user name, TOKEN_SECRET as the password.",
        },
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of the tenant (agk_…), or a trusted application's OAuth access token (agat_…).",
        },
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [{"basicAuth": []}, {"bearerAuth": []}]
    schema["servers"] = [{"url": "/", "description": "This server (HTTPS only)"}]
    _add_links(schema)
    return schema


# OpenAPI links: how one answer feeds the next call. Clients and stateful fuzzers (schemathesis)
# follow them, e.g. from a page of organizations to one organization.
LINKS = {
    ("/api/v1/Organizations", "get"): {
        "GetOrganization": {
            "operationId": "tenants_api_get_organization",
            "parameters": {"organization_id": "$response.body#/Data/0/Id"},
            "description": "The first organization of the page.",
        }
    },
}


def _add_links(schema: dict) -> None:
    for (path, method), links in LINKS.items():
        operation = schema["paths"].get(path, {}).get(method)
        if operation is not None:
            operation["responses"][200]["links"] = links  # Ninja keys responses by int
