"""Benchmark-only URLconf (bench/settings.py): accessgov's URLs, and before them a bare JSON view
under each API prefix, so a baseline takes the same middleware path as the figure it is set
against.

/api/v1/ and /gateway/v1/ are answered by accessgov.api.middleware.ApiEdgeMiddleware, which skips
the console's middleware (sessions, CSRF, authentication, messages, CSP, htmx) and sets the API's
own headers; /healthz, outside those prefixes, pays for all of that. The bare views do no work of
their own: they measure Django, gunicorn and the API edge, nothing of the gate.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from accessgov.urls import urlpatterns as product_urlpatterns

BARE_API = "/api/v1/_bench/bare"
BARE_GATEWAY = "/gateway/v1/_bench/bare"


def bare(request: HttpRequest) -> JsonResponse:
    """Answer 200 with the smallest envelope: no credential, no cache, no database."""
    return JsonResponse({"Meta": {"ResponseCode": 200}})


urlpatterns = [
    path(BARE_API.removeprefix("/"), bare),
    path(BARE_GATEWAY.removeprefix("/"), bare),
    *product_urlpatterns,
]
