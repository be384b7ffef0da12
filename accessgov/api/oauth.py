"""OAuth 2.0's token and revocation endpoints (django-oauth-toolkit's views) behind the API's
failed-request blocker."""

from functools import wraps

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views import RevokeTokenView, TokenView

from accessgov.api import limits
from accessgov.core.clientip import get_client_ip


def guarded_by_failure_blocker(view):
    """Return VIEW behind the API's failed-request blocker (per client IP, shared tiers).

    The OAuth token and revocation endpoints take client secrets, codes and refresh tokens: a
    client IP that keeps failing there is blocked like one that keeps failing on /api/v1/.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        ip = get_client_ip(request)
        if blocked := limits.blocked_for(ip):
            response = JsonResponse(
                {
                    "error": "too_many_failed_requests",
                    "error_description": f"Too many failed requests from your IP address. Try again in {blocked} seconds.",
                },
                status=429,
            )
            response["Retry-After"] = str(blocked)
            return response
        response = view(request, *args, **kwargs)
        if 400 <= response.status_code < 500:
            limits.record_failure(ip)
        return response

    return guarded


issue_token = guarded_by_failure_blocker(TokenView.as_view())
revoke_token = guarded_by_failure_blocker(RevokeTokenView.as_view())
