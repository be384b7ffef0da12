"""Sign-in, the tenant home, and Settings > API › Manage API and Activity."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from accessgov import actions
from accessgov.audit import Action
from accessgov.clientip import get_client_ip
from accessgov.forms import AgreePolicyForm, ApiKeyForm, ConfirmForm
from accessgov.models import ApiKey, ApiUser, AuditEvent, PolicyAcceptance, PolicyVersion
from tenants.access import administrator_required, member_required
from tenants.models import Membership


def _login_ip_key(group: str, request: HttpRequest) -> str:
    return get_client_ip(request)


def _login_username_key(group: str, request: HttpRequest) -> str:
    # Case-folded so "Demo-Admin" and "demo-admin" share one budget.
    return request.POST.get("username", "").strip().casefold()[:150]


@sensitive_post_parameters("password")
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    """Sign in, refusing with a clear message once an IP or a username tries too often."""
    if request.method == "POST":
        limits = [
            is_ratelimited(
                request,
                group="login-ip",
                key=_login_ip_key,
                rate=settings.LOGIN_RATE_PER_IP,
                method="POST",
                increment=True,
            ),
            is_ratelimited(
                request,
                group="login-username",
                key=_login_username_key,
                rate=settings.LOGIN_RATE_PER_USERNAME,
                method="POST",
                increment=True,
            ),
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
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer a load balancer's liveness probe: the process serves requests (no database touched)."""
    return JsonResponse({"Status": "ok"})


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Go to the user's only tenant, or list the tenants to choose from."""
    memberships = list(Membership.objects.of_user(request.user))
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "home.html", {"memberships": memberships})


@require_GET
@member_required
def tenant_home(request: HttpRequest) -> HttpResponse:
    """Show the tenant's organizations and the member's role."""
    organizations = Paginator(
        request.tenant.organizations.order_by("name", "pk"), settings.ACCESSGOV_PAGE_SIZE
    )
    return render(
        request, "tenants/home.html", {"organizations": organizations.get_page(request.GET.get("page"))}
    )


def _manage_api_context(request: HttpRequest, **extra) -> dict:
    tenant = request.tenant
    api_user = ApiUser.objects.filter(tenant=tenant).first()
    api_keys = Paginator(
        ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("name", "pk"),
        settings.ACCESSGOV_PAGE_SIZE,
    )
    context = {
        "tab": "manage",
        "api_user": api_user,
        "api_enabled": api_user is not None and api_user.is_active,
        "policy": PolicyVersion.objects.current(),
        "acceptance": PolicyAcceptance.objects.for_tenant(tenant)
        .select_related("version", "accepted_by")
        .first(),
        "api_keys": api_keys.get_page(request.GET.get("page")),
        "partner_id_visible": request.GET.get("partner_id") == "show",
        "agree_form": AgreePolicyForm(),
        "key_form": ApiKeyForm(),
    }
    context.update(extra)
    return context


@require_GET
@administrator_required
def manage_api(request: HttpRequest) -> HttpResponse:
    """Show Settings > API › Manage API; with htmx, just the Partner ID part when that is asked for."""
    context = _manage_api_context(request)
    if request.htmx and request.htmx.target == "partner-id":
        return render(request, "accessgov/manage_api.html#partner-id", context)
    return render(request, "accessgov/manage_api.html", context)


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect("manage_api", tenant_slug=request.tenant.slug)


@require_POST
@administrator_required
def agree_policy(request: HttpRequest) -> HttpResponse:
    """Agree to the current API Policy, which turns API access on."""
    form = AgreePolicyForm(request.POST)
    policy = PolicyVersion.objects.current()
    if policy is None:
        return _refuse(request, "No API Policy has been published yet; ask support to publish one.")
    if not form.is_valid():
        return _refuse(request, "Tick “Agree to the API Policy” to turn API access on.")
    if form.cleaned_data["version"] != policy.version:
        return _refuse(
            request, "The API Policy changed while you were reading it. Read the new version and agree again."
        )
    try:
        api_user = actions.agree_to_policy(
            tenant=request.tenant, version=policy, by=request.user, ip=get_client_ip(request)
        )
    except actions.ActionRefused as refusal:
        return _refuse(request, str(refusal))
    messages.success(request, f"API access is on. Your API user is {api_user.username}.")
    return redirect("manage_api", tenant_slug=request.tenant.slug)


@require_http_methods(["GET", "POST"])
@administrator_required
def disable_api(request: HttpRequest) -> HttpResponse:
    """Ask for confirmation, then turn API access off for the tenant."""
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.disable_api_access(tenant=request.tenant, by=request.user, ip=get_client_ip(request))
        except actions.ActionRefused as refusal:
            return _refuse(request, str(refusal))
        messages.success(
            request, "API access is off. Every API key and token of this tenant has stopped working."
        )
        return redirect("manage_api", tenant_slug=request.tenant.slug)
    status = 400 if form.is_bound else 200
    return render(request, "accessgov/disable_api.html", {"tab": "manage", "form": form}, status=status)


@never_cache
@sensitive_variables()  # every local: the new key also sits in `revealed` and the context
@require_POST
@administrator_required
def create_api_key(request: HttpRequest) -> HttpResponse:
    """Create a key and show it in this response only; it is never shown again."""
    form = ApiKeyForm(request.POST)
    status = 200
    revealed = None
    if form.is_valid():
        try:
            api_key, raw_key = actions.issue_api_key(
                tenant=request.tenant,
                name=form.cleaned_data["name"],
                by=request.user,
                ip=get_client_ip(request),
            )
        except actions.ActionRefused as refusal:
            form.add_error("name", str(refusal))
            status = 400
        else:
            revealed = {"key": api_key, "secret": raw_key}
            form = ApiKeyForm()
    else:
        status = 400
    context = _manage_api_context(request, key_form=form, revealed=revealed)
    template = "accessgov/manage_api.html#api-keys" if request.htmx else "accessgov/manage_api.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@administrator_required
def delete_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    """Ask for confirmation, then delete a key so it stops working at once."""
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.tenant), pk=key_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.delete_api_key(api_key=api_key, by=request.user, ip=get_client_ip(request))
        except actions.ActionRefused as refusal:
            return _refuse(request, str(refusal))
        messages.success(request, f"Key “{api_key.name}” is deleted; requests made with it now fail.")
        return redirect("manage_api", tenant_slug=request.tenant.slug)
    status = 400 if form.is_bound else 200
    context = {"tab": "manage", "api_key": api_key, "form": form}
    return render(request, "accessgov/delete_api_key.html", context, status=status)


@require_GET
@administrator_required
def activity(request: HttpRequest) -> HttpResponse:
    """List the tenant's audit events, newest first, optionally of one action."""
    events = AuditEvent.objects.for_tenant(request.tenant).order_by("-created_at", "-pk")
    action = request.GET.get("action", "")
    if action in Action.values:
        events = events.filter(action=action)
    else:
        action = ""
    page = Paginator(events, settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"tab": "activity", "events": page, "actions": Action.choices, "selected_action": action}
    if request.htmx:
        return render(request, "accessgov/activity.html#event-list", context)
    return render(request, "accessgov/activity.html", context)
