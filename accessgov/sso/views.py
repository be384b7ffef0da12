"""Sign in through the operator's identity provider: start (a POST from the sign-in page) and callback."""

from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accessgov.mfa.views import next_url_for, sign_in_or_ask_second_factor
from accessgov.sso import actions, provider
from tenants.access import PROVIDER_SESSION_KEY

NEXT_SESSION_KEY = "accessgov_sso_next"
BACKEND = "django.contrib.auth.backends.ModelBackend"


def _refused(request: HttpRequest, refused: provider.Refusal) -> HttpResponse:
    status = 503 if refused.reason == "provider_unreachable" else 403
    context = {"form": AuthenticationForm(request), "sso_error": refused.message, "next": ""}
    return render(request, "registration/login.html", context, status=status)


@require_POST
@never_cache
def start_sso(request: HttpRequest) -> HttpResponse:
    """Send the browser to the identity provider (a POST, so no other site can start it)."""
    request.session[NEXT_SESSION_KEY] = next_url_for(request, request.POST.get("next"))
    try:
        return provider.start_sign_in(
            request, redirect_uri=request.build_absolute_uri(reverse("sso:finish_sso"))
        )
    except provider.Refusal as refused:
        actions.record_refusal(request=request, refused=refused)
        return _refused(request, refused)


@require_GET
@never_cache
def finish_sso(request: HttpRequest) -> HttpResponse:
    """Check the provider's answer, then sign the person in (or ask for accessgov's second factor)."""
    claims = None
    try:
        claims = provider.finish_sign_in(request)
        user, identity = actions.sign_in_from_claims(request=request, claims=claims)
    except provider.Refusal as refused:
        actions.record_refusal(request=request, refused=refused, claims=claims)
        return _refused(request, refused)
    next_url = request.session.pop(NEXT_SESSION_KEY, None) or next_url_for(request, None)
    # The provider's word on a second factor counts for "Administrators must use MFA" (tenants.access);
    # without it, someone who has a factor here gives it, as after a password.
    mark = {PROVIDER_SESSION_KEY: {"mfa": identity.mfa}}
    if identity.mfa:
        auth.login(request, user, backend=BACKEND)
        request.session.update(mark)
        return redirect(next_url)
    return sign_in_or_ask_second_factor(request, user, backend=BACKEND, next_url=next_url, session=mark)
