"""The decision endpoint: the platform's gateway asks, for every request to the platform's API,
whether it may pass and as whom (forward auth: nginx auth_request, Caddy forward_auth, Traefik
ForwardAuth, Envoy ext_authz). docs/gateway.md describes the exchange.

The gateway sends the original request's method (X-Forwarded-Method), URI (X-Forwarded-Uri), client
address (X-Forwarded-For, right-most),
scheme (X-Forwarded-Proto) and the client's own headers, Authorization among them. The request is
judged exactly as /api/v1/ judges its own (accessgov.api.gate.judge). Allowed: 200 with the
identity headers the upstream reads. Refused: the /api/v1/ envelope, status, Retry-After and
limit headers, which the gateway relays; nginx, whose auth_request passes only 401 and 403, asks
for every refusal as 403 with the real answer signed in Accessgov-Refusal, and fetches it from
/gateway/v1/refusal (see examples/gateway/nginx.conf).
"""

import base64
import logging
from urllib.parse import parse_qs, unquote

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accessgov.api import limits
from accessgov.api.authorization import CredentialError, parse_authorization
from accessgov.api.envelope import ApiError, error_body
from accessgov.api.gate import KINDS, judge
from accessgov.core import catalogue
from accessgov.core.clientip import parse_address
from accessgov.core.credentials import NOT_AN_ORGANIZATION_ID, Kind, Principal
from accessgov.gateway import auth as gateway_auth

logger = logging.getLogger(__name__)
PREFIX = "/gateway/v1/"
# What the upstream reads; a gateway must drop whatever a client sent under these names.
IDENTITY_HEADERS = (
    "Accessgov-Tenant-Id",
    "Accessgov-Partner-Id",
    "Accessgov-Credential-Type",
    "Accessgov-Credential-Id",
    "Accessgov-Organizations",
    "Accessgov-Permission",
)
REFUSAL_HEADER = "Accessgov-Refusal"
STATUS_HEADER = "Accessgov-Status"
# Headers some frameworks honour to change a request's method after the gateway judged it.
METHOD_OVERRIDES = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
REFUSAL_SALT = "accessgov.api.decisions.refusal"
REFUSAL_MAX_AGE = 60  # seconds between a decision and nginx fetching its refusal


def client_address(request: HttpRequest) -> str:
    """Return the address of the client the gateway serves (its X-Forwarded-For, right-most entry)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    candidate = forwarded.split(",")[-1].strip() if forwarded else ""
    address = parse_address(candidate)
    return str(address) if address is not None else ""


def canonical_segments(path: str) -> list[str] | None:
    """Return the decoded segments of PATH, or None unless it is already in canonical form.

    A path the upstream could read differently from us is refused rather than guessed at (attack
    catalogue case 19): empty, "." and ".." segments (also encoded), encoded slashes and
    backslashes, control characters, a trailing slash.
    """
    if not path.startswith("/") or "\\" in path:
        return None
    if path == "/":
        return []
    raw_segments = path[1:].split("/")
    segments = []
    for raw in raw_segments:
        if "%2f" in raw.lower() or "%5c" in raw.lower():
            return None
        segment = unquote(raw, errors="strict") if "%" in raw else raw
        if segment in {"", ".", ".."} or any(ord(char) < 32 or ord(char) == 127 for char in segment):
            return None
        segments.append(segment)
    return segments


def _organization(match: catalogue.Match, query: str, request: HttpRequest) -> tuple[int | None, bool]:
    """Return the organization id the request names (None: none) and whether it must name one."""
    source = match.endpoint.organization
    if source is None:
        return None, False
    if source.where == "path":
        value = match.parameters.get(source.name, "")
    elif source.where == "query":
        values = parse_qs(query, keep_blank_values=True).get(source.name, [])
        # Two values could be read either way by the upstream: judged as no organization id at all.
        value = values[0] if len(values) == 1 else ("" if not values else "\x00")
    else:
        value = request.headers.get(source.name, "")
    if value == "":
        return None, True
    if value.isascii() and value.isdigit() and len(value) < 19:
        return int(value), True
    return NOT_AN_ORGANIZATION_ID, True


def identity_headers(principal: Principal, permission: str) -> dict[str, str]:
    """Return the headers that tell the upstream who is calling (every value ASCII)."""
    organizations = principal.organizations
    return {
        "Accessgov-Tenant-Id": str(principal.tenant_id),
        "Accessgov-Partner-Id": principal.partner_id,
        "Accessgov-Credential-Type": principal.kind,
        "Accessgov-Credential-Id": principal.credential_id,
        "Accessgov-Organizations": "All"
        if organizations.everything
        else ",".join(str(pk) for pk in sorted(organizations.ids)),
        "Accessgov-Permission": permission,
    }


def _refused(request: HttpRequest, error: ApiError, *, fold: bool) -> HttpResponse:
    response = JsonResponse(error_body(error.status, error.code, error.message), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="accessgov API", charset="UTF-8"'
    for name, value in error.headers.items():
        response[name] = value
    if fold:
        # nginx's auth_request passes 401 and 403 only: the real answer travels signed, and the
        # gateway fetches it from /gateway/v1/refusal (which cannot be made to say anything else).
        response[REFUSAL_HEADER] = signing.dumps(
            {"s": error.status, "c": error.code, "m": error.message, "h": error.headers},
            salt=REFUSAL_SALT,
            compress=True,
        )
        response[STATUS_HEADER] = str(error.status)
        if error.status not in (401, 403):
            response.status_code = 403
    return response


def _count_failure(request: HttpRequest, ip: str, status: int, code: str) -> None:
    # The gateway relays many clients: failures count against the client it names, never itself.
    if ip and limits.counts_as_failure(status, code):
        limits.record_failure(
            ip,
            tenants=getattr(request, "api_failure_tenants", ()),
            kind=code,
            usage=getattr(request, "api_usage", None),
        )


def _not_a_gateway(request: HttpRequest) -> HttpResponse:
    # A stranger learns nothing, not even that this endpoint exists; the operator reads why in the
    # log (a gateway with a wrong or deleted key looks just like this to its clients).
    peer = request.META.get("REMOTE_ADDR", "")
    logger.warning(
        "Decision refused: %s is not one of the operator's gateways (key %s, ACCESSGOV_GATEWAY_NETWORKS %s)",
        peer,
        "sent" if request.headers.get(gateway_auth.HEADER) else "missing",
        "set" if gateway_auth.gateway_networks() else "not set",
    )
    limits.record_failure(peer)
    return JsonResponse(error_body(404, "not_found", "No such endpoint."), status=404)


@csrf_exempt
def decide(request: HttpRequest) -> HttpResponse:
    """Answer one gateway's question about one request to the platform's API."""
    request.api_failure_counts = False  # counted here, against the client, not the gateway
    if not gateway_auth.admits(request):
        return _not_a_gateway(request)
    fold = request.headers.get("Accessgov-Auth-Request") == "1"
    ip = client_address(request)
    try:
        principal, permission = _judge(request, ip)
    except ApiError as error:
        _count_failure(request, ip, error.status, error.code)
        return _refused(request, error, fold=fold)
    except CredentialError as error:
        _count_failure(request, ip, error.status, error.code)
        return _refused(request, ApiError(error.status, error.code, error.message), fold=fold)
    # No body: nginx's auth_request reads only the head, and puts the connection back in its
    # keep-alive pool only when nothing is left to read (docs/gateway.md, "Why the governed path
    # is slow": a body cost a new connection and TLS handshake per decision).
    response = HttpResponse(status=200)
    response["Content-Length"] = "0"
    for name, value in identity_headers(principal, permission).items():
        response[name] = value
    return response


def _judge(request: HttpRequest, ip: str) -> tuple[Principal, str]:
    if request.headers.get("X-Forwarded-Proto", "").lower() != "https":
        raise ApiError(403, "https_required", "The API is served over HTTPS only. Use https://.")
    if not ip:
        raise ApiError(400, "invalid_request", "The gateway did not say which address the request came from.")
    # Only the names every forward-auth gateway sets itself, overwriting a client's own.
    method = request.headers.get("X-Forwarded-Method", "").upper()
    uri = request.headers.get("X-Forwarded-Uri", "")
    if not method or not uri:
        raise ApiError(400, "invalid_request", "The gateway did not say which request to judge.")
    if any(request.headers.get(name) for name in METHOD_OVERRIDES):
        raise ApiError(
            400, "method_override_refused", "Method override headers are not accepted; use the method itself."
        )
    path, _, query = uri.partition("?")
    try:
        segments = canonical_segments(path)
    except UnicodeDecodeError:
        segments = None
    if segments is None:
        raise ApiError(
            400,
            "invalid_path",
            "The request path is not in canonical form (no //, . or .. segments, encoded slashes or a trailing slash).",
        )
    match = catalogue.current().match(method, segments)
    if match is None:
        raise ApiError(404, "not_found", "No such endpoint in the platform's API catalogue.")
    organization_id, required = _organization(match, query, request)
    principal = judge(
        request,
        endpoint=match.endpoint,
        authorization=request.headers.get("Authorization", ""),
        ip=ip,
        organization_id=organization_id,
        organization_required=required,
    )
    return principal, match.endpoint.permission


@csrf_exempt
def refusal(request: HttpRequest) -> HttpResponse:
    """Render the refusal a decision signed (for nginx, whose auth_request drops the body)."""
    request.api_failure_counts = False
    if not gateway_auth.admits(request):
        return _not_a_gateway(request)
    try:
        answer = signing.loads(
            request.headers.get(REFUSAL_HEADER, ""), salt=REFUSAL_SALT, max_age=REFUSAL_MAX_AGE
        )
    except signing.BadSignature:
        answer = {"s": 403, "c": "forbidden", "m": "Request refused.", "h": {}}
    return _refused(request, ApiError(answer["s"], answer["c"], answer["m"], answer["h"]), fold=False)


def _introspected(principal: Principal, record) -> dict:
    organizations = principal.organizations
    answer = {
        "active": True,
        "scope": " ".join(sorted(principal.permissions)),
        "client_id": principal.credential_id,
        "sub": principal.credential_id,
        "token_type": principal.kind,
        "accessgov_tenant_id": principal.tenant_id,
        "accessgov_partner_id": principal.partner_id,
        "accessgov_organizations": "All" if organizations.everything else sorted(organizations.ids),
    }
    if principal.expires_at is not None:
        answer["exp"] = int(principal.expires_at.timestamp())
    # The allowlist is the client's, which only the resource server sees: it is told, to enforce.
    allowed_ips = getattr(record, "allowed_ips", None)
    if allowed_ips:
        answer["accessgov_allowed_ips"] = list(allowed_ips)
    return answer


@csrf_exempt
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662 token introspection, for platform services that ask about a credential themselves.

    The service authenticates with a gateway key (Bearer agg_… or Accessgov-Gateway-Key). The
    `token` is an API key, a trusted application's access token, or a third-party token written
    TOKEN_ID:TOKEN_SECRET. Anything refused or unknown is {"active": false} and nothing more.
    """
    request.api_failure_counts = False
    peer = request.META.get("REMOTE_ADDR", "")
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not gateway_auth.admits(request, key=bearer if bearer.startswith("agg_") else None):
        limits.record_failure(peer)
        response = JsonResponse({"error": "invalid_client"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="accessgov introspection"'
        return response
    inactive = JsonResponse({"active": False})
    value = request.POST.get("token", "")
    if ":" in value and not value.startswith(("agk_", "agat_")):
        header = "Basic " + base64.b64encode(value.encode()).decode()
    else:
        header = f"Bearer {value}"
    try:
        presented = parse_authorization(header)
    except CredentialError:
        return inactive
    if presented.kind == Kind.OPERATOR:
        return inactive  # an operator key is nothing a platform service should accept
    kind = KINDS[presented.kind]
    record = kind.find(presented)
    # No client address here: an IP allowlist is not judged but returned, for the service to apply.
    decision = kind.decide(record, presented, ip=None, permission=None, now=timezone.now())
    if not decision.allowed:
        return inactive
    return JsonResponse(_introspected(decision.principal, record))
