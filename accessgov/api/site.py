"""The governed REST API under /api/v1/ and the operator's under /api/operator/v1/: the two Ninja APIs,
their error answers, their routers and the one OpenAPI document. Imported only by the URLconf and the
app config."""

import json
import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from accessgov.api import limits, odata
from accessgov.api.authorization import CredentialError
from accessgov.api.envelope import ApiError, error_body
from accessgov.api.middleware import too_large_answer
from accessgov.api.parser import JsonParser
from accessgov.api.routers import audit_events, me, organizations, usage, webhooks
from accessgov.api.routers.operator import credentials as operator_credentials
from accessgov.api.routers.operator import memberships as operator_memberships
from accessgov.api.routers.operator import organizations as operator_organizations
from accessgov.api.routers.operator import tenants as operator_tenants

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="accessgov API",
    version="1",
    description="The governed REST API. Every call needs HTTPS and a credential; see /api/ for examples.",
    urls_namespace="api",
    docs_url=None,
    openapi_url=None,
    parser=JsonParser(),
)
# The operator's API (/api/operator/v1/, operator keys only): its own Ninja API and URL namespace,
# described in the same OpenAPI document under the tag "Operator" (openapi_schema).
operator_api = NinjaAPI(
    title="accessgov operator API",
    version="1",
    urls_namespace="operator_api",
    docs_url=None,
    openapi_url=None,
    parser=JsonParser(),
)


def _on_api_error(request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(  # both APIs render JSON alike
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


def _on_credential_error(request: HttpRequest, error: CredentialError) -> HttpResponse:
    return _on_api_error(request, ApiError(error.status, error.code, error.message))


def _on_authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return _on_api_error(request, ApiError(401, "missing_credentials", "Send a token or an API key."))


def _on_validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', [])[1:]) or 'body'}: {item.get('msg')}"
        for item in error.errors
    )
    return _on_api_error(request, ApiError(400, "invalid_request", f"The request is not valid: {problems}."))


def _on_odata_error(request: HttpRequest, error: odata.ODataError) -> HttpResponse:
    return _on_api_error(request, ApiError(400, "invalid_query", str(error)))


def _on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return _on_api_error(request, ApiError(404, "not_found", str(error) or "Not found."))


def _on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    # Ninja wraps whatever the body parser raised (accessgov.api.parser) in "Cannot parse request
    # body": the parser's own answer, or where the JSON breaks, says more.
    cause = error.__cause__
    if isinstance(cause, ApiError):
        return _on_api_error(request, cause)
    if isinstance(cause, json.JSONDecodeError):
        return _on_api_error(
            request,
            ApiError(
                400,
                "invalid_request",
                f"The request body is not valid JSON: {cause.msg} (line {cause.lineno}, column {cause.colno}).",
            ),
        )
    return _on_api_error(request, ApiError(error.status_code, "http_error", str(error)))


def _on_body_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    # The edge refuses bodies over ACCESSGOV_API_MAX_BODY_BYTES first; this answers the same way
    # should Django's own DATA_UPLOAD_MAX_MEMORY_SIZE be set lower.
    return too_large_answer()


def _on_crash(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.exception("API request failed", exc_info=error)
    return _on_api_error(
        request,
        ApiError(500, "internal_error", "Something went wrong on our side. Try again; nothing was changed."),
    )


# The same answers on both APIs: each exception, in this order, and its handler.
HANDLERS = (
    (ApiError, _on_api_error),
    (CredentialError, _on_credential_error),
    (AuthenticationError, _on_authentication_error),
    (ValidationError, _on_validation_error),
    (odata.ODataError, _on_odata_error),
    (Http404, _on_not_found),
    (HttpError, _on_http_error),
    (RequestDataTooBig, _on_body_too_large),
    (Exception, _on_crash),
)
for _api in (api, operator_api):
    for _exception, _handler in HANDLERS:
        _api.add_exception_handler(_exception, _handler)

# Every router of /api/v1/, mounted at the root (accessgov.api.checks walks the same tuple).
ROUTERS = (me.router, audit_events.router, organizations.router, webhooks.router, usage.router)
for _router in ROUTERS:
    api.add_router("", _router)
# Every router of /api/operator/v1/ (accessgov/api/routers/operator/), likewise.
OPERATOR_ROUTERS = (
    operator_tenants.router,
    operator_organizations.router,
    operator_memberships.router,
    operator_credentials.router,
)
for _router in OPERATOR_ROUTERS:
    operator_api.add_router("", _router)


def openapi_schema() -> dict:
    """Return the OpenAPI document of both APIs, with every way to authenticate described.

    The operator's API (/api/operator/v1/) is in the same document, under its own tag, and takes
    operator keys only.
    """
    schema = api.get_openapi_schema(path_prefix="/api/v1/")
    operator = operator_api.get_openapi_schema(path_prefix="/api/operator/v1/")
    components = schema.setdefault("components", {})
    for name, component in operator.get("components", {}).get("schemas", {}).items():
        if name in components.setdefault("schemas", {}) and components["schemas"][name] != component:
            raise ValueError(f"The tenants' and the operator's APIs both define a different schema {name}.")
        components["schemas"][name] = component
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
        "operatorKey": {
            "type": "http",
            "scheme": "bearer",
            "description": "An operator key (ago_…): the operator's API only (docs/operator.md).",
        },
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [{"basicAuth": []}, {"bearerAuth": []}]
    for path in operator.get("paths", {}).values():
        for operation in path.values():
            if isinstance(operation, dict) and "security" in operation:
                operation["security"] = [{"operatorKey": []}]
    schema["paths"].update(operator.get("paths", {}))
    schema["tags"] = [
        {
            "name": "Operator",
            "description": "The operator's API (/api/operator/v1/): provision tenants, organizations and "
            "members with an operator key. No tenant credential is accepted here.",
        }
    ]
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
