"""The load balancer's health probe: a page of the project, not of a tenant."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def check_health(request: HttpRequest) -> JsonResponse:
    """Answer a load balancer's liveness probe: the process serves requests (no database touched)."""
    return JsonResponse({"Status": "ok"})
