"""Settings > API › Third-Party Tokens: list, Create Token, Details, Edit, Revoke, Regenerate Token Secret."""

import base64
from urllib.parse import urlencode

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

from accessgov.core import catalogue
from accessgov.core.catalogue import label_of
from accessgov.core.clientip import get_client_ip
from accessgov.core.confirm import render_confirmation
from accessgov.core.errors import ActionRefused
from accessgov.core.forms import ConfirmForm
from accessgov.core.rotation import RollForm
from accessgov.policy import lifetime
from accessgov.policy.access import access_on
from accessgov.policy.models import LifetimePolicy
from accessgov.usage import chart, reading
from accessgov.usage.models import CredentialType
from tenants.access import administrator_required
from tenants.models import Organization
from tokens import actions, narrowing, rotation, suspension
from tokens.forms import ALL, SELECTED, NarrowForm, TokenFilterForm, TokenForm, format_allowlist
from tokens.models import ThirdPartyToken


def _token_or_404(request: HttpRequest, pk: int) -> ThirdPartyToken:
    return get_object_or_404(
        ThirdPartyToken.objects.for_tenant(request.tenant).select_related(
            "tenant", "created_by", "revoked_by", "suspended_by"
        ),
        pk=pk,
    )


def _token_url(request: HttpRequest, token: ThirdPartyToken) -> str:
    return reverse("tokens:show_token", args=[request.tenant.slug, token.pk])


def _organization_names(request: HttpRequest, tokens: list[ThirdPartyToken]) -> dict[int, str]:
    """Return the names of the organizations TOKENS are scoped to, in one query."""
    wanted = {pk for token in tokens if not token.all_organizations for pk in token.organization_ids}
    if not wanted:
        return {}
    return dict(
        Organization.objects.for_tenant(request.tenant).filter(pk__in=wanted).values_list("pk", "name")
    )


def _policy_breaches(policy: LifetimePolicy, token: ThirdPartyToken) -> list[lifetime.Breach]:
    """Return how TOKEN breaks POLICY; a revoked token is on its way out and is not flagged."""
    if token.revoked_at is not None or not policy.requires_anything:
        return []
    return lifetime.breaches(
        policy,
        starts_at=token.starts_at,
        expires_at=token.expires_at,
        permissions=token.permissions,
        allowed_ips=token.allowed_ips,
    )


def _row(
    token: ThirdPartyToken, names: dict[int, str], now, policy: LifetimePolicy, calls: list[int] | None = None
) -> dict:
    found = [names[pk] for pk in token.organization_ids if pk in names]
    return {
        "spark": chart.sparkline(calls) if calls is not None else None,
        "policy_breaches": _policy_breaches(policy, token),
        "token": token,
        "status": token.status(now),
        "status_text": token.describe_status(now),
        "organizations": found,
        # An organization deleted since: the token keeps no access to anything else because of it.
        "deleted_organizations": len(token.organization_ids) - len(found),
    }


def _breaking_ids(policy: LifetimePolicy, tokens) -> list[int]:
    """Return the ids of TOKENS that break POLICY, in one query over the columns the policy reads.

    The rule is Python (lifetime.breaches, shared with the forms); a tenant holds at most
    ACCESSGOV_MAX_CREDENTIALS_PER_TENANT live tokens, so reading their terms is bounded.
    """
    if not policy.requires_anything:
        return []
    rows = tokens.filter(revoked_at__isnull=True).values_list(
        "pk", "starts_at", "expires_at", "permissions", "allowed_ips"
    )
    return [
        pk
        for pk, starts_at, expires_at, permissions, allowed_ips in rows
        if lifetime.breaches(
            policy,
            starts_at=starts_at,
            expires_at=expires_at,
            permissions=permissions,
            allowed_ips=allowed_ips,
        )
    ]


@require_GET
@administrator_required
def list_tokens(request: HttpRequest) -> HttpResponse:
    """List the tenant's tokens, filtered by status and searched by name or token ID, newest first."""
    now = timezone.now()
    filters = TokenFilterForm(request.GET)
    filters.is_valid()
    status = filters.cleaned_data.get("status", "")
    term = filters.cleaned_data.get("q", "")
    breaks_policy = filters.cleaned_data.get("breaks_policy", False)
    policy = LifetimePolicy.of(request.tenant)
    tokens = ThirdPartyToken.objects.for_tenant(request.tenant).select_related("created_by")
    if status:
        tokens = tokens.with_status(status, now)
    if breaks_policy:
        tokens = tokens.filter(pk__in=_breaking_ids(policy, tokens))
    tokens = tokens.search(term).order_by("-created_at", "-pk")
    page = Paginator(tokens, settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    names = _organization_names(request, page.object_list)
    # The calls per day of every token on the page, in one query (never one per row).
    calls = reading.sparklines(CredentialType.TOKEN, [token.pk for token in page.object_list])
    context = {
        "tab": "tokens",
        # The fields show what the list is filtered by; a value not understood is ignored, not shown.
        "filters": TokenFilterForm(initial={"status": status, "q": term, "breaks_policy": breaks_policy}),
        "page": page,
        "rows": [_row(token, names, now, policy, calls[token.pk]) for token in page.object_list],
        "query": urlencode(
            {
                k: v
                for k, v in (("status", status), ("q", term), ("breaks_policy", breaks_policy and "on"))
                if v
            }
        ),
        "filtered": bool(status or term or breaks_policy),
        "api_enabled": access_on(request.tenant),
    }
    if request.htmx:
        return render(request, "tokens/token_list.html#token-list", context)
    return render(request, "tokens/token_list.html", context)


@sensitive_variables()  # every local: the secret is in several of them
def _reveal(
    request: HttpRequest, token: ThirdPartyToken, secret: str, *, heading: str, rolled: bool = False
) -> HttpResponse:
    credentials = base64.b64encode(f"{token.token_id}:{secret}".encode()).decode()
    header = f"Authorization: Basic {credentials}"
    context = {
        "tab": "tokens",
        "token": token,
        "secret": secret,
        "header": header,
        "curl": f"curl --fail-with-body -H '{header}' https://{request.get_host()}/api/v1/Me",
        "heading": heading,
        "rolled": rolled,
    }
    return render(request, "tokens/token_reveal.html", context)


def _form_page(
    request: HttpRequest,
    form: TokenForm,
    *,
    token: ThirdPartyToken | None,
    status: int = 200,
    renewing: ThirdPartyToken | None = None,
):
    context = {
        "renewing": renewing,
        "tab": "tokens",
        "form": form,
        "token": token,
        "api_enabled": access_on(request.tenant),
        "has_organizations": Organization.objects.for_tenant(request.tenant).exists(),
    }
    return render(request, "tokens/token_form.html", context, status=status)


@never_cache
@sensitive_variables()  # every local: the secret is in several of them
@require_http_methods(["GET", "POST"])
@administrator_required
def create_token(request: HttpRequest) -> HttpResponse:
    """Show Create Token; on Create, make the token and show its secret in this response only."""
    if request.method == "GET":
        return _form_page(request, TokenForm(tenant=request.tenant), token=None)
    form = TokenForm(request.POST, tenant=request.tenant)
    if request.POST.get("preset") == "read-only":
        return _form_page(request, form.with_read_only_preset(), token=None)
    if not form.is_valid():
        return _form_page(request, form, token=None, status=400)
    try:
        token, secret = actions.create_token(
            tenant=request.tenant, terms=form.terms(), by=request.user, ip=get_client_ip(request)
        )
    except ActionRefused as refusal:
        form.add_error(None, str(refusal))
        return _form_page(request, form, token=None, status=400)
    return _reveal(request, token, secret, heading=f"Token “{token.name}” created")


@require_GET
@administrator_required
def show_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a token's Details, Authorization and Usage, with Edit, Revoke and Regenerate Token Secret."""
    token = _token_or_404(request, pk)
    now = timezone.now()
    names = _organization_names(request, [token])
    row = _row(token, names, now, LifetimePolicy.of(request.tenant))
    usage = reading.report(CredentialType.TOKEN, token.pk, token.tenant_id, now=now)
    context = {
        "tab": "tokens",
        "row": row,
        "policy_breaches": row["policy_breaches"],
        "token": token,
        "allowlist": format_allowlist(token.allowed_ips).splitlines(),
        # A permission the catalogue no longer has grants nothing; it is shown as such.
        "permissions": [(p, label_of(p), p in catalogue.current().permissions) for p in token.permissions],
        "can_reinstate": token.can_be_reinstated(now),
        "old_secret_live": token.previous_secret_live(now),
        "usage": usage,
        "chart": chart.daily(usage.days),
        "chart_id": "token-usage-chart",
    }
    # report() just brought the counts up to date.
    review = narrowing.review_narrowing(token, now=now, refresh=False)
    context["narrowing"] = review
    context["unused"] = [(p, label_of(p)) for p in review.unused]
    return render(request, "tokens/token_detail.html", context)


@require_http_methods(["GET", "POST"])
@administrator_required
def narrow_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the permissions a token kept and those unused in 30 days; on Remove, remove those (audited).

    The form carries the permissions shown: if others are unused by the time it is posted (one was
    used, or granted, meanwhile), nothing is removed and the review is shown again as it is now.
    """
    token = _token_or_404(request, pk)
    if request.method == "POST":
        form = NarrowForm(request.POST, token=token)
        if form.is_valid():
            try:
                removed = narrowing.narrow_token(
                    token=token,
                    reviewed=form.cleaned_data["remove"],
                    by=request.user,
                    ip=get_client_ip(request),
                )
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
            else:
                messages.success(
                    request,
                    f"Removed {len(removed)} unused permission(s) from “{token.name}”: {', '.join(removed)}.",
                )
                return redirect(_token_url(request, token) + "#unused-permissions")
        else:
            messages.error(request, " ".join(form.errors["remove"]))
        token = _token_or_404(request, pk)  # as it is now, for the review shown again
    review = narrowing.review_narrowing(token)
    return render_confirmation(
        request,
        NarrowForm(initial={"remove": review.unused}, token=token) if review.can_narrow else None,
        text="tokens/token_detail.html#narrow-token",
        title=f"Remove unused permissions of {token.name}",
        button="Remove unused permissions",
        cancel_url=_token_url(request, token),
        cancel_label="Back to the token",
        tab="tokens",
        token=token,
        review=review,
        removed=[(p, label_of(p)) for p in review.unused],
        kept=[(p, label_of(p)) for p in review.kept],
    )


@require_http_methods(["GET", "POST"])
@administrator_required
def edit_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a token's details and authorization (never its ID or secret); each change is audited."""
    token = _token_or_404(request, pk)
    if token.revoked_at is not None:
        messages.error(
            request, f"“{token.name}” is revoked. Reinstate it with “Regenerate Token Secret” to edit it."
        )
        return redirect(_token_url(request, token))
    if request.method == "GET":
        return _form_page(request, TokenForm(tenant=request.tenant, instance=token), token=token)
    form = TokenForm(request.POST, tenant=request.tenant, instance=token)
    if request.POST.get("preset") == "read-only":
        return _form_page(request, form.with_read_only_preset(), token=token)
    if not form.is_valid():
        return _form_page(request, form, token=token, status=400)
    try:
        changed = actions.update_token(
            token=token, terms=form.terms(), by=request.user, ip=get_client_ip(request)
        )
    except ActionRefused as refusal:
        form.add_error(None, str(refusal))
        return _form_page(request, form, token=token, status=400)
    if changed:
        messages.success(request, f"Saved the changes to “{form.cleaned_data['name']}”.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect(_token_url(request, token))


@require_http_methods(["GET", "POST"])
@administrator_required
def revoke_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then revoke a token so it stops working at once."""
    token = _token_or_404(request, pk)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.revoke_token(token=token, by=request.user, ip=get_client_ip(request))
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                f"“{token.name}” is revoked and stopped working. It will be deleted on "
                f"{token.deleted_on():%Y-%m-%d} unless you reinstate it with “Regenerate Token Secret”.",
            )
        return redirect(_token_url(request, token))
    revoked = token.revoked_at is not None
    return render_confirmation(
        request,
        None if revoked else form,
        text="tokens/token_detail.html#revoke-token",
        title=f"Revoke {token.name}",
        button="Revoke",
        cancel_url=_token_url(request, token),
        cancel_label="Back to the token" if revoked else "Cancel",
        tab="tokens",
        token=token,
    )


def _set_suspended(request: HttpRequest, pk: int, *, suspended: bool) -> HttpResponse:
    token = _token_or_404(request, pk)
    change = suspension.suspend_token if suspended else suspension.resume_token
    try:
        change(token=token, by=request.user, ip=get_client_ip(request))
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            f"“{token.name}” is suspended: requests made with it are refused until you resume it."
            if suspended
            else f"“{token.name}” is resumed and works again.",
        )
    return redirect(_token_url(request, token))


@require_POST
@administrator_required
def suspend_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Suspend a token: refused from the next request on, everything kept until it is resumed."""
    return _set_suspended(request, pk, suspended=True)


@require_POST
@administrator_required
def resume_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume a suspended token: it works again with its secret and restrictions unchanged."""
    return _set_suspended(request, pk, suspended=False)


@never_cache
@sensitive_variables()  # every local: the secret is in several of them
@require_http_methods(["GET", "POST"])
@administrator_required
def regenerate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then give a token a new secret (reinstating it within its grace)."""
    token = _token_or_404(request, pk)
    now = timezone.now()
    revoked = token.revoked_at is not None
    # A live token rolls with the overlap chosen; a revoked one is reinstated, with no overlap.
    form = ConfirmForm(request.POST or None) if revoked else RollForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = get_client_ip(request)
        try:
            if revoked:
                token, secret, _ = actions.regenerate_secret(token=token, by=request.user, ip=ip)
            else:
                token, secret = rotation.roll_token_secret(
                    token=token, overlap=form.cleaned_data["overlap"], by=request.user, ip=ip
                )
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
            return redirect(_token_url(request, token))
        heading = f"Token “{token.name}” reinstated" if revoked else f"New secret for “{token.name}”"
        return _reveal(request, token, secret, heading=heading, rolled=not revoked)
    can_reinstate = token.can_be_reinstated(now)
    asks = not revoked or can_reinstate  # past its grace, there is nothing to confirm
    return render_confirmation(
        request,
        form if asks else None,
        text="tokens/token_detail.html#regenerate-secret",
        title="Regenerate Token Secret",
        button="Regenerate Token Secret",
        primary=True,
        cancel_url=_token_url(request, token),
        cancel_label="Cancel" if asks else "Back to the token",
        tab="tokens",
        token=token,
        revoked=revoked,
        can_reinstate=can_reinstate,
        old_secret_live=token.previous_secret_live(now),
        status_text=token.describe_status(now),
    )


@require_http_methods(["GET", "POST"])
@administrator_required
def retire_old_secret(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then stop a rolled token's old secret at once."""
    token = _token_or_404(request, pk)
    now = timezone.now()
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if rotation.retire_previous_secret(token=token, by=request.user, ip=get_client_ip(request), now=now):
            messages.success(request, f"The old secret of “{token.name}” is retired: only the new one works.")
        else:
            messages.info(request, f"“{token.name}” has no old secret still working.")
        return redirect(_token_url(request, token))
    live = token.previous_secret_live(now)
    return render_confirmation(
        request,
        form if live else None,
        text="tokens/token_detail.html#retire-old-secret",
        title="Retire old secret now",
        button="Retire old secret now",
        cancel_url=_token_url(request, token),
        cancel_label="Cancel" if live else "Back to the token",
        tab="tokens",
        token=token,
        old_secret_live=live,
    )


@require_GET
@administrator_required
def renew_token(request: HttpRequest, pk: int) -> HttpResponse:
    """Show Create Token prefilled from a token (name suffixed, a new expiry) for review; no secret is copied."""
    source = _token_or_404(request, pk)
    now = timezone.now()
    initial = {
        "name": rotation.renewal_name(source.name, now),
        "description": source.description,
        "expires_at": rotation.renewal_expiry(source, now),
        "allowed_ips": format_allowlist(source.allowed_ips),
        "organization_access": ALL if source.all_organizations else SELECTED,
        "organizations": source.organization_ids,
        "permissions": source.permissions,
    }
    return _form_page(request, TokenForm(tenant=request.tenant, initial=initial), token=None, renewing=source)
