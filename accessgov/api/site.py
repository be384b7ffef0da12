"""The governed REST API under /api/v1/: the Ninja API, its error answers, its routers and the OpenAPI
document. Imported only by the URLconf and the app config."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accessgov.api import limits, odata
from accessgov.api.authorization import CredentialError
from accessgov.api.envelope import ApiError, error_body
from accessgov.api.middleware import too_large_answer
from accessgov.api.routers import audit_events, me, organizations, webhooks

logger = logging.getLogger(__name__)

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
    if not limits.counts_as_failure(error.status, error.code):
        request.api_failure_counts = False
    request.api_failure_code = error.code  # the kind of failure a block lists
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


@api.exception_handler(RequestDataTooBig)
def _on_body_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    # The edge refuses bodies over ACCESSGOV_API_MAX_BODY_BYTES first; this answers the same way
    # should Django's own DATA_UPLOAD_MAX_MEMORY_SIZE be set lower.
    return too_large_answer()


@api.exception_handler(Exception)
def _on_crash(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.exception("API request failed", exc_info=error)
    return _on_api_error(
        request,
        ApiError(500, "internal_error", "Something went wrong on our side. Try again; nothing was changed."),
    )


# Every router of /api/v1/, mounted at the root (accessgov.api.checks walks the same tuple).
ROUTERS = (me.router, audit_events.router, organizations.router, webhooks.router)
for _router in ROUTERS:
    api.add_router("", _router)


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
# follow them, e.g. from a page of organizations to one organization. The operation ids are the
# explicit ones of the routes (pinned by tests/api/test_openapi.py).
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
