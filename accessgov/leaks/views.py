"""The leak intake (public), GitLab's token revocation API, and "whose key is this?" pages."""

import hmac
import json

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from accessgov.core.clientip import get_client_ip
from accessgov.leaks import actions
from accessgov.leaks.forms import LookupForm
from accessgov.leaks.identify import identify
from tenants.access import administrator_required, staff_required

MAX_BODY_BYTES = 64 * 1024
# GitLab's secret detection names a finding by its gitleaks rule; these are our rules' ids
# (docs/secret-scanning.md), lower-cased and joined as GitLab does.
GITLAB_TOKEN_TYPES = (
    "gitleaks_rule_id_accessgov_api_key",
    "gitleaks_rule_id_accessgov_token_secret",
    "gitleaks_rule_id_accessgov_oauth_token",
    "gitleaks_rule_id_accessgov_operator_key",
)


def _address_key(group: str, request: HttpRequest) -> str:
    return get_client_ip(request)


def _over_budget(request: HttpRequest) -> bool:
    return is_ratelimited(
        request,
        group="leak-report",
        key=_address_key,
        rate=settings.ACCESSGOV_LEAK_REPORT_RATE,
        method="POST",
        increment=True,
    )


def _problem(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json_body(request: HttpRequest):
    if len(request.body) > MAX_BODY_BYTES:
        return None, _problem(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return json.loads(request.body), None
    except (ValueError, UnicodeDecodeError):
        return None, _problem(400, "The body must be JSON.")


@csrf_exempt
@sensitive_variables()
@require_POST
def report_leaks(request: HttpRequest) -> HttpResponse:
    """Take secrets found in the open: {"secrets": [...], "url": "...", "source": "..."}.

    Always 202 with the same body for a well-formed report, whatever it held: the answer says
    nothing about whether a value was a secret of ours.
    """
    if _over_budget(request):
        response = _problem(429, "Too many reports from this address; try again in a minute.")
        response["Retry-After"] = "60"
        return response
    body, problem = _json_body(request)
    if problem is not None:
        return problem
    secrets = body.get("secrets") if isinstance(body, dict) else None
    if not isinstance(secrets, list) or not all(isinstance(value, str) for value in secrets) or not secrets:
        return _problem(
            400, 'Send {"secrets": ["…"], "url": "where they were found", "source": "who you are"}.'
        )
    if len(secrets) > actions.MAX_VALUES:
        return _problem(400, f"Send at most {actions.MAX_VALUES} secrets per report.")
    location = body.get("url") if isinstance(body.get("url"), str) else ""
    source = body.get("source") if isinstance(body.get("source"), str) else ""
    actions.handle_report(values=secrets, location=location, source=source, ip=get_client_ip(request))
    return JsonResponse({"status": "received"}, status=202)


def _gitlab_authorized(request: HttpRequest) -> bool:
    expected = settings.ACCESSGOV_GITLAB_REVOCATION_TOKEN
    if not expected:
        raise Http404("The GitLab token revocation API is not configured.")
    given = request.headers.get("Authorization", "")
    if given.lower().startswith("bearer "):
        given = given[7:]
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@csrf_exempt
@require_GET
def gitlab_token_types(request: HttpRequest) -> HttpResponse:
    """GET /v1/revocable_token_types of GitLab's Token Revocation API."""
    if not _gitlab_authorized(request):
        return _problem(401, "Send the pre-shared token in Authorization.")
    return JsonResponse({"types": list(GITLAB_TOKEN_TYPES)})


@csrf_exempt
@sensitive_variables()
@require_POST
def gitlab_revoke_tokens(request: HttpRequest) -> HttpResponse:
    """POST /v1/revoke_tokens of GitLab's Token Revocation API: [{"type", "token", "location"}, ...]."""
    if not _gitlab_authorized(request):
        return _problem(401, "Send the pre-shared token in Authorization.")
    body, problem = _json_body(request)
    if problem is not None:
        return problem
    if not isinstance(body, list) or len(body) > actions.MAX_VALUES:
        return _problem(400, f"Send a JSON list of at most {actions.MAX_VALUES} tokens.")
    ip = get_client_ip(request)
    for finding in body:
        if not isinstance(finding, dict) or not isinstance(finding.get("token"), str):
            return _problem(400, 'Each item is {"type": "…", "token": "…", "location": "…"}.')
    for finding in body:
        location = finding.get("location") if isinstance(finding.get("location"), str) else ""
        actions.handle_report(
            values=[finding["token"]], location=location, source="GitLab secret detection", ip=ip
        )
    return HttpResponse(status=204)


def _render_lookup(request: HttpRequest, *, template: str, staff: bool, context: dict) -> HttpResponse:
    form = LookupForm(request.POST if request.method == "POST" else None)
    found = None
    searched = False
    if request.method == "POST" and form.is_valid():
        searched = True
        found = identify(form.cleaned_data["value"])
        if found is not None and not staff and found.tenant != request.tenant:
            found = None  # another tenant's credential is answered like an unknown one
    # The pasted value is never shown again: a password input does not render its value, and a
    # valid form comes back empty.
    shown = form if form.is_bound and not form.is_valid() else LookupForm()
    response = render(
        request,
        template,
        {**context, "form": shown, "found": found, "searched": searched, "staff": staff},
        status=400 if shown.is_bound else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@sensitive_post_parameters("value")
@require_http_methods(["GET", "POST"])
@administrator_required
def lookup_for_tenant(request: HttpRequest) -> HttpResponse:
    """Settings > API › Whose key is this?: a tenant administrator pastes a key, token ID or prefix."""
    return _render_lookup(request, template="leaks/lookup.html", staff=False, context={"tab": "manage"})


@never_cache
@sensitive_post_parameters("value")
@require_http_methods(["GET", "POST"])
@staff_required
def lookup_for_staff(request: HttpRequest) -> HttpResponse:
    """Staff's "whose key is this?" across every tenant."""
    return _render_lookup(request, template="leaks/lookup_staff.html", staff=True, context={})
