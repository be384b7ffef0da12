"""Sign-in and the load balancer's health probe: pages of the project, not of a tenant."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from accessgov.core.signin import throttled


@sensitive_post_parameters("password")
@never_cache
@throttled
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in, refusing with a clear message once a guesser tries too often (accessgov.core.signin)."""
    return auth_views.LoginView.as_view(redirect_authenticated_user=True)(request)


@require_GET
def check_health(request: HttpRequest) -> JsonResponse:
    """Answer a load balancer's liveness probe: the process serves requests (no database touched)."""
    return JsonResponse({"Status": "ok"})
