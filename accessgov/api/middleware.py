"""The edge of /api/v1/ and /api/operator/v1/: HTTPS only, a bounded body, JSON answers for everything, failure counting,
limit headers."""

import ipaddress
import ssl

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.base import BaseHandler
from django.core.handlers.exception import convert_exception_to_response
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from accessgov.api import limits
from accessgov.core.clientip import get_client_ip, is_trusted_proxy, trusted_proxies
from accessgov.core.rotation import rfc3339
from accessgov.gateway.auth import from_gateway_network

API_PREFIX = "/api/v1/"
OPERATOR_API_PREFIX = "/api/operator/v1/"  # the operator's API, answered by the same edge
GATEWAY_PREFIX = "/gateway/v1/"  # the decision endpoint (accessgov.api.decisions)

STATUS_CODES = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
# How long a client is asked to wait while the database is unreachable.
DATABASE_RETRY_AFTER = "15"


def _envelope(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse(
        {"Meta": {"ResponseCode": status}, "Error": {"Code": code, "Message": message}}, status=status
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def too_large_answer() -> JsonResponse:
    """Return the answer to a request whose body is over ACCESSGOV_API_MAX_BODY_BYTES."""
    limit = settings.ACCESSGOV_API_MAX_BODY_BYTES
    return _envelope(
        413, "request_too_large", f"The request body is over the API's limit of {limit:,} bytes."
    )


def body_too_large(request: HttpRequest) -> bool:
    """Return whether REQUEST announces a body over ACCESSGOV_API_MAX_BODY_BYTES.

    Content-Length is the whole story: Django reads no more than it says (a body without one, as
    chunked, reads as empty), so the body is refused before a byte of it is read.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True  # not a number: nothing sensible can be read, refuse it like a huge one
    return length > settings.ACCESSGOV_API_MAX_BODY_BYTES


def _blocked_answer(seconds: int) -> JsonResponse:
    return _envelope(
        429,
        "ip_blocked",
        f"Too many failed requests from your IP address. Try again in {seconds} seconds.",
        Retry_After=str(seconds),
    )


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def came_over_tls(request: HttpRequest) -> bool:
    """Return whether REQUEST itself reached this process over TLS.

    Under gunicorn the socket says so: its wsgi.url_scheme is not evidence, since gunicorn sets it
    to https for X-Forwarded-Proto, X-Forwarded-Ssl or X-Forwarded-Protocol from any peer in its
    forwarded_allow_ips (127.0.0.1 by default), whatever this project trusts. Other servers (and
    the test client) set wsgi.url_scheme from their own transport.
    """
    sock = request.META.get("gunicorn.socket")
    if sock is not None:
        return isinstance(sock, ssl.SSLSocket)
    return request.META.get("wsgi.url_scheme") == "https"


def proxy_says_https(request: HttpRequest) -> bool:
    """Return whether a TLS proxy we believe (SECURE_PROXY_SSL_HEADER) says REQUEST was HTTPS.

    The header is believed only from the proxies listed in ACCESSGOV_TRUSTED_PROXIES, when that
    list is set: a client that reaches the app server directly cannot claim HTTPS by sending the
    header itself.
    """
    header = settings.SECURE_PROXY_SSL_HEADER
    # Only when the header is present: without it Django's is_secure() falls back to
    # wsgi.url_scheme, which the app server may have set from other headers (came_over_tls).
    if header is None or header[0] not in request.META or not request.is_secure():
        return False
    return not trusted_proxies() or is_trusted_proxy(request.META.get("REMOTE_ADDR", ""))


def secure_enough(request: HttpRequest) -> bool:
    """Return whether REQUEST may reach the API: HTTPS, or plain HTTP from loopback with DEBUG on."""
    if came_over_tls(request) or proxy_says_https(request):
        return True
    return settings.DEBUG and _is_loopback(request.META.get("REMOTE_ADDR", ""))


def database_unreachable() -> bool:
    """Return whether a database this request used failed and cannot be reached now.

    Asked only after a 5xx: a connection that saw an error is probed (reconnecting if it never
    connected), so a bug answers 500 while an outage answers 503.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.errors_occurred:
            continue
        try:
            conn.ensure_connection()
            if conn.is_usable():
                continue
        except DatabaseError:
            pass
        return True
    return False


def database_unavailable_page() -> HttpResponse:
    """Return the console's friendly 503 page (rendered without the database or a request)."""
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = DATABASE_RETRY_AFTER
    return response


class _ApiHandler(BaseHandler):
    """Django's request handling with no middleware of its own: URL resolution, view, exceptions."""

    def __init__(self):
        super().__init__()
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self.chain = convert_exception_to_response(self._get_response)


class ApiEdgeMiddleware:
    """Answer /api/v1/ itself, below the security middleware and above everything else.

    The API reads no cookie and renders no page, so the console's middleware (sessions, CSRF,
    authentication, messages, framing and CSP headers, htmx) is skipped altogether: a session
    cookie cannot reach the API even by mistake, and a warm API call costs less.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_handler = _ApiHandler()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith((API_PREFIX, OPERATOR_API_PREFIX, GATEWAY_PREFIX)):
            response = self.get_response(request)
            if response.status_code >= 500 and database_unreachable():
                # Whatever the view was doing ran in a transaction that never committed.
                return database_unavailable_page()
            return response
        ip = get_client_ip(request)
        try:
            # The console answers a foreign Host with 400 through CommonMiddleware; so does the API.
            request.get_host()
        except DisallowedHost:
            return self._finish(request, _envelope(400, "bad_host", "This host name is not served here."))
        if not secure_enough(request) and not (
            request.path_info.startswith(GATEWAY_PREFIX)
            and from_gateway_network(request.META.get("REMOTE_ADDR", ""))
        ):
            # Refused before the credentials are looked at, and never redirected: a client must not
            # learn to send its secret over plain HTTP first.
            response = _envelope(403, "https_required", "The API is served over HTTPS only. Use https://.")
            if not limits.blocked_for(ip):
                # A blocked client's requests are refused anyway; counting them would extend its block.
                limits.record_failure(ip)
            return self._finish(request, response)
        if body_too_large(request):
            if request.path_info.startswith(GATEWAY_PREFIX):
                # Never counted there: the caller is a gateway relaying many clients (or a
                # stranger refused before any work).
                return self._finish(request, too_large_answer())
            if blocked := limits.blocked_for(ip):
                # A blocked client's requests are refused anyway; counting them would extend its block.
                return self._finish(request, _blocked_answer(blocked))
            limits.record_failure(ip)  # bad input is a failed request (SECURITY.md)
            return self._finish(request, too_large_answer())
        request.api_failure_counts = True
        response = self.api_handler.chain(request)
        if response.status_code >= 500 and database_unreachable():
            response = _envelope(
                503,
                "service_unavailable",
                "The service is briefly unavailable; nothing was changed. Try again shortly.",
                Retry_After=DATABASE_RETRY_AFTER,
            )
        if (
            response.status_code >= 300
            and response.get("Content-Type", "").split(";")[0] != "application/json"
        ):
            # Django answered (an unknown path, a wrong method, a crash): say it in the envelope.
            if 400 <= response.status_code < 500 and (blocked := limits.blocked_for(ip)):
                request.api_failure_counts = False
                response = _blocked_answer(blocked)
            else:
                response = self._as_envelope(response)
        if 400 <= response.status_code < 500 and getattr(request, "api_failure_counts", True):
            limits.record_failure(
                ip,
                tenants=getattr(request, "api_failure_tenants", ()),
                kind=getattr(request, "api_failure_code", "")
                or STATUS_CODES.get(response.status_code, "error"),
                usage=getattr(request, "api_usage", None),
            )
        return self._finish(request, response)

    @staticmethod
    def _as_envelope(response: HttpResponse) -> HttpResponse:
        status = response.status_code
        if status >= 500:
            return _envelope(status, "internal_error", "Something went wrong on our side. Try again later.")
        if status == 405:
            allowed = response.get("Allow", "")
            return _envelope(405, "method_not_allowed", f"Use one of: {allowed}.", Allow=allowed)
        code = STATUS_CODES.get(status, "error")
        message = (
            "No such endpoint. The endpoints are listed at /api/." if status == 404 else "Request refused."
        )
        return _envelope(status, code, message)

    @staticmethod
    def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        gate = getattr(request, "api_gate", None)
        if gate is not None and (tightest := gate.tightest) is not None:
            # The IETF HTTPAPI draft's structured fields, every window of the endpoint ...
            response["RateLimit-Policy"] = ", ".join(
                f'"{state.window.seconds}s";q={state.window.limit};w={state.window.seconds}'
                for state in gate.windows
            )
            response["RateLimit"] = ", ".join(
                f'"{state.window.seconds}s";r={state.remaining};t={state.reset_seconds}'
                for state in gate.windows
            )
            # ... and the older three headers of the tightest window, which clients already read
            # (docs/api.md).
            response["RateLimit-Limit"] = str(tightest.window.limit)
            response["RateLimit-Remaining"] = str(tightest.remaining)
            response["RateLimit-Reset"] = str(tightest.reset_seconds)
        principal = getattr(request, "api_principal", None)
        if principal is not None and principal.expires_at is not None:
            # In band, so an integration sees its credential expiring before it is refused.
            response["Accessgov-Credential-Expires"] = principal.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if principal is not None and principal.secret_retires_at is not None:
            # The request used the old secret of a rolled credential: say when it stops working.
            response["Accessgov-Secret-Retires"] = rfc3339(principal.secret_retires_at)
        response["Cache-Control"] = "no-store"
        return response
