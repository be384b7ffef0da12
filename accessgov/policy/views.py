"""Settings > API › Manage API: the API Policy, the API user, the Partner ID and API keys."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accessgov.core.clientip import get_client_ip
from accessgov.core.confirm import render_confirmation
from accessgov.core.errors import ActionRefused
from accessgov.core.forms import ConfirmForm
from accessgov.core.rotation import RollForm
from accessgov.policy import actions
from accessgov.policy.access import access_on
from accessgov.policy.forms import (
    AgreePolicyForm,
    ApiKeyForm,
    LeakResponseForm,
    LifetimePolicyForm,
    SecurityContactForm,
)
from accessgov.policy.models import ApiKey, ApiUser, LifetimePolicy, PolicyAcceptance, PolicyVersion
from accessgov.usage import chart, reading
from accessgov.usage.models import CredentialType
from tenants.access import administrator_required


def _manage_api_context(request: HttpRequest, **extra) -> dict:
    tenant = request.tenant
    try:
        api_user = tenant.api_user
    except ApiUser.DoesNotExist:
        api_user = None
    api_keys = Paginator(
        ApiKey.objects.for_tenant(tenant).select_related("created_by").order_by("name", "pk"),
        settings.ACCESSGOV_PAGE_SIZE,
    )
    page = api_keys.get_page(request.GET.get("page"))
    # The calls per day of every key on the page, in one query (never one per row).
    calls = reading.sparklines(CredentialType.API_KEY, [key.pk for key in page.object_list])
    policy = PolicyVersion.objects.current()
    context = {
        "tab": "manage",
        "api_user": api_user,
        "api_enabled": access_on(tenant),
        "policy": policy,
        "acceptance": PolicyAcceptance.objects.for_tenant(tenant)
        .select_related("version", "accepted_by")
        .first(),
        "api_keys": page,
        "key_rows": [{"api_key": key, "spark": chart.sparkline(calls[key.pk])} for key in page.object_list],
        "partner_id_visible": request.GET.get("partner_id") == "show",
        "agree_form": AgreePolicyForm(initial={"version": policy.version if policy else ""}),
        "key_form": ApiKeyForm(),
        "now": timezone.now(),
        "leak_form": LeakResponseForm(initial={"leak_response": tenant.leak_response}),
        "contact_form": SecurityContactForm(
            initial={"security_contacts": "\n".join(tenant.security_contacts)}
        ),
        "lifetime_form": _lifetime_form(tenant),
    }
    context.update(extra)
    return context


@require_GET
@administrator_required
def show_manage_api(request: HttpRequest) -> HttpResponse:
    """Show Settings > API › Manage API; with htmx, just the Partner ID or an API key's usage when asked.

    `?usage=<key>` adds that key's usage (chart, calls by endpoint, addresses) under the key list.
    """
    context = _manage_api_context(request, **_key_usage(request))
    if request.htmx and request.htmx.target == "partner-id":
        return render(request, "policy/manage_api.html#partner-id", context)
    if request.htmx and request.htmx.target == "api-key-usage":
        return render(request, "policy/manage_api.html#api-key-usage", context)
    return render(request, "policy/manage_api.html", context)


def _key_usage(request: HttpRequest) -> dict:
    """Return the usage of the key `?usage=` names (the tenant's own, else 404), or nothing."""
    wanted = request.GET.get("usage", "")
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 18):
        return {}  # a value not understood is ignored, as the lists' filters do
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.tenant), pk=int(wanted))
    usage = reading.report(CredentialType.API_KEY, api_key.pk, api_key.tenant_id)
    return {
        "usage_key": api_key,
        "usage": usage,
        "chart": chart.daily(usage.days, width=480, height=160),
        "chart_id": f"api-key-{api_key.pk}-usage-chart",
    }


def _manage_api_url(request: HttpRequest) -> str:
    return reverse("policy:show_manage_api", args=[request.tenant.slug])


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, message)
    return redirect(_manage_api_url(request))


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
    except ActionRefused as refusal:
        return _refuse(request, str(refusal))
    messages.success(request, f"API access is on. Your API user is {api_user.username}.")
    return redirect(_manage_api_url(request))


@require_http_methods(["GET", "POST"])
@administrator_required
def turn_off_api_access(request: HttpRequest) -> HttpResponse:
    """Ask for confirmation, then turn API access off for the tenant."""
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.disable_api_access(tenant=request.tenant, by=request.user, ip=get_client_ip(request))
        except ActionRefused as refusal:
            return _refuse(request, str(refusal))
        messages.success(
            request, "API access is off. Every API key and token of this tenant has stopped working."
        )
        return redirect(_manage_api_url(request))
    return render_confirmation(
        request,
        form,
        text="policy/manage_api.html#turn-off-api-access",
        title="Turn API access off",
        button="Turn API access off",
        cancel_url=_manage_api_url(request),
        tab="manage",
    )


@require_POST
@administrator_required
def set_security_contact(request: HttpRequest) -> HttpResponse:
    """Save the tenant's security contact addresses (allowed whether API access is on or off)."""
    form = SecurityContactForm(request.POST)
    if not form.is_valid():
        context = _manage_api_context(request, contact_form=form)
        template = "policy/manage_api.html#security-contact" if request.htmx else "policy/manage_api.html"
        return render(request, template, context, status=400)
    actions.set_security_contacts(
        tenant=request.tenant,
        contacts=form.cleaned_data["security_contacts"],
        by=request.user,
        ip=get_client_ip(request),
    )
    if request.htmx:
        return render(
            request,
            "policy/manage_api.html#security-contact",
            _manage_api_context(request, contact_saved=True),
        )
    messages.success(request, "Security contact saved.")
    return redirect(_manage_api_url(request) + "#security-contact")


def _lifetime_form(tenant, data=None) -> LifetimePolicyForm:
    policy = LifetimePolicy.of(tenant)
    return LifetimePolicyForm(data, initial={name: getattr(policy, name) for name in actions.LIFETIME_FIELDS})


@require_POST
@administrator_required
def set_lifetime_policy(request: HttpRequest) -> HttpResponse:
    """Save the tenant's lifetime policy for tokens; existing tokens that break it are flagged in the list."""
    form = _lifetime_form(request.tenant, request.POST)
    if not form.is_valid():
        context = _manage_api_context(request, lifetime_form=form)
        template = "policy/manage_api.html#lifetime-policy" if request.htmx else "policy/manage_api.html"
        return render(request, template, context, status=400)
    actions.set_lifetime_policy(
        tenant=request.tenant, values=form.cleaned_data, by=request.user, ip=get_client_ip(request)
    )
    if request.htmx:
        return render(
            request,
            "policy/manage_api.html#lifetime-policy",
            _manage_api_context(request, lifetime_saved=True),
        )
    messages.success(request, "Lifetime policy saved.")
    return redirect(_manage_api_url(request) + "#lifetime-policy")


def _set_suspended(request: HttpRequest, key_id: int, *, suspended: bool) -> HttpResponse:
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.tenant), pk=key_id)
    try:
        actions.set_api_key_suspended(
            api_key=api_key, suspended=suspended, by=request.user, ip=get_client_ip(request)
        )
    except ActionRefused as refusal:
        return _refuse(request, str(refusal))
    if suspended:
        message = f"Key “{api_key.name}” is suspended; requests made with it are refused until you resume it."
    else:
        message = f"Key “{api_key.name}” is resumed and works again."
    messages.success(request, message)
    return redirect(_manage_api_url(request) + "#api-keys")


@require_POST
@administrator_required
def suspend_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    """Suspend a key: refused from the next request on, kept until resumed or deleted."""
    return _set_suspended(request, key_id, suspended=True)


@require_POST
@administrator_required
def resume_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    """Resume a suspended key: it works again from the next request on."""
    return _set_suspended(request, key_id, suspended=False)


@require_POST
@administrator_required
def set_leak_response(request: HttpRequest) -> HttpResponse:
    """Save what happens when a secret of the tenant is reported leaked."""
    form = LeakResponseForm(request.POST)
    if not form.is_valid():
        return render(
            request, "policy/manage_api.html", _manage_api_context(request, leak_form=form), status=400
        )
    if actions.set_leak_response(
        tenant=request.tenant,
        response=form.cleaned_data["leak_response"],
        by=request.user,
        ip=get_client_ip(request),
    ):
        messages.success(request, "Saved what happens to leaked secrets.")
    return redirect(_manage_api_url(request) + "#leaked-secrets")


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
        except ActionRefused as refusal:
            form.add_error("name", str(refusal))
            status = 400
        else:
            revealed = {"key": api_key, "secret": raw_key}
            form = ApiKeyForm()
    else:
        status = 400
    context = _manage_api_context(request, key_form=form, revealed=revealed)
    template = "policy/manage_api.html#api-keys" if request.htmx else "policy/manage_api.html"
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
        except ActionRefused as refusal:
            return _refuse(request, str(refusal))
        messages.success(request, f"Key “{api_key.name}” is deleted; requests made with it now fail.")
        return redirect(_manage_api_url(request))
    return render_confirmation(
        request,
        form,
        text="policy/manage_api.html#delete-api-key",
        title="Delete API key",
        button="Delete",
        cancel_url=_manage_api_url(request),
        tab="manage",
        api_key=api_key,
    )


@never_cache
@sensitive_variables()  # every local: the new secret also sits in `revealed` and the context
@require_http_methods(["GET", "POST"])
@administrator_required
def regenerate_api_key(request: HttpRequest, key_id: int) -> HttpResponse:
    """Ask for the overlap, then give a key a new secret and show it in this response only."""
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.tenant), pk=key_id)
    form = RollForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, raw_key = actions.roll_api_key(
                api_key=api_key,
                overlap=form.cleaned_data["overlap"],
                by=request.user,
                ip=get_client_ip(request),
            )
        except ActionRefused as refusal:
            return _refuse(request, str(refusal))
        revealed = {"key": api_key, "secret": raw_key, "rolled": True}
        return render(request, "policy/manage_api.html", _manage_api_context(request, revealed=revealed))
    return render_confirmation(
        request,
        form,
        text="policy/manage_api.html#regenerate-api-key",
        title="Regenerate API key",
        button="Regenerate key",
        primary=True,
        cancel_url=_manage_api_url(request),
        tab="manage",
        api_key=api_key,
        old_secret_live=api_key.previous_secret_live(timezone.now()),
    )


@require_http_methods(["GET", "POST"])
@administrator_required
def retire_old_key_secret(request: HttpRequest, key_id: int) -> HttpResponse:
    """Ask for confirmation, then stop a regenerated key's old secret at once."""
    api_key = get_object_or_404(ApiKey.objects.for_tenant(request.tenant), pk=key_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if actions.retire_previous_key_secret(api_key=api_key, by=request.user, ip=get_client_ip(request)):
            messages.success(
                request, f"The old secret of “{api_key.name}” is retired: only the new one works."
            )
        else:
            messages.info(request, f"“{api_key.name}” has no old secret still working.")
        return redirect(_manage_api_url(request))
    live = api_key.previous_secret_live(timezone.now())
    return render_confirmation(
        request,
        form if live else None,
        text="policy/manage_api.html#retire-old-key-secret",
        title="Retire old secret now",
        button="Retire old secret now",
        cancel_url=_manage_api_url(request),
        cancel_label="Cancel" if live else "Back to Manage API",
        tab="manage",
        api_key=api_key,
        old_secret_live=live,
    )
