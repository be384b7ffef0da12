"""Sign-in and the load balancer's health probe: pages of the project, not of a tenant."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET
from django_ratelimit.core import is_ratelimited

from accessgov.core.clientip import get_client_ip


def _login_ip_key(group: str, request: HttpRequest) -> str:
    return get_client_ip(request)


def _login_username_key(group: str, request: HttpRequest) -> str:
    # Case-folded so "Demo-Admin" and "demo-admin" share one budget.
    return request.POST.get("username", "").strip().casefold()[:150]


@sensitive_post_parameters("password")
@never_cache
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in, refusing with a clear message once an IP or a username tries too often."""
    if request.method == "POST":
        # Every budget is counted (no short-circuit), so a guesser pays on each of them.
        limits = [
            is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
            for group, key, rate in (
                ("login-ip", _login_ip_key, settings.LOGIN_RATE_PER_IP),
                ("login-username", _login_username_key, settings.LOGIN_RATE_PER_USERNAME),
            )
        ]
        if any(limits):
            form = auth_views.AuthenticationForm(request)
            response = render(
                request, "registration/login.html", {"form": form, "rate_limited": True}, status=429
            )
            response["Retry-After"] = "60"
            return response
    return auth_views.LoginView.as_view(redirect_authenticated_user=True)(request)


@require_GET
def check_health(request: HttpRequest) -> JsonResponse:
    """Answer a load balancer's liveness probe: the process serves requests (no database touched)."""
    return JsonResponse({"Status": "ok"})
