"""Settings > API › Trusted Applications: the list, an authorization's page, Revoke authorization, and the OAuth consent page."""

from urllib.parse import urlencode, urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.http import OAuth2ResponseRedirect
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauthlib.oauth2.rfc6749 import errors

from accessgov.core import catalogue
from accessgov.core.clientip import get_client_ip
from accessgov.core.confirm import render_confirmation
from accessgov.core.errors import ActionRefused
from accessgov.core.forms import ConfirmForm
from accessgov.policy.access import access_on
from accessgov.trusted import actions
from accessgov.trusted.changes import Terms, compare_terms
from accessgov.trusted.models import TrustedApplication, TrustedApplicationAuthorization
from accessgov.usage import chart, reading
from accessgov.usage.models import CredentialType
from tenants.access import administrator_required
from tenants.models import Membership, Organization, Role

# Logos are images on the vendor's https host; an image cannot run script, so these pages allow any
# https image source and keep the rest of the console's policy.
IMAGE_SOURCES = [CSP.SELF, "data:", "https:"]


def _policy(**directives: list[str]) -> dict:
    return {**settings.SECURE_CSP, "img-src": IMAGE_SOURCES, **directives}


def _permissions(permissions: list[str]) -> list[tuple[str, str]]:
    return [(p, catalogue.label_of(p)) for p in permissions]


def _organization_names(tenant, authorizations) -> dict[int, str]:
    wanted = {pk for a in authorizations if not a.all_organizations for pk in a.organization_ids}
    if not wanted:
        return {}
    return dict(Organization.objects.for_tenant(tenant).filter(pk__in=wanted).values_list("pk", "name"))


@require_GET
@administrator_required
@csp_override(_policy())
def list_applications(request: HttpRequest) -> HttpResponse:
    """List the trusted applications and what each asks for, and the tenant's authorizations."""
    tenant = request.tenant
    applications = TrustedApplication.objects.filter(is_enabled=True).order_by("name", "pk")
    authorizations = (
        TrustedApplicationAuthorization.objects.for_tenant(tenant)
        .select_related("application", "authorized_by", "revoked_by")
        .order_by("-authorized_at", "-pk")
    )
    page = Paginator(authorizations, settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    names = _organization_names(tenant, page.object_list)
    # The calls per day of every authorization on the page, in one query (never one per row).
    calls = reading.sparklines(CredentialType.AUTHORIZATION, [a.pk for a in page.object_list])
    context = {
        "tab": "trusted",
        "api_enabled": access_on(tenant),
        "applications": [
            {"application": app, "permissions": _permissions(app.permissions)} for app in applications
        ],
        "page": page,
        "rows": [
            {
                "authorization": authorization,
                "permissions": _permissions(authorization.permissions),
                "organizations": [names[pk] for pk in authorization.organization_ids if pk in names],
                "spark": chart.sparkline(calls[authorization.pk]),
            }
            for authorization in page.object_list
        ],
    }
    if request.htmx:
        return render(request, "trusted/trusted_apps.html#authorization-list", context)
    return render(request, "trusted/trusted_apps.html", context)


def _authorization_or_404(request: HttpRequest, pk: int) -> TrustedApplicationAuthorization:
    return get_object_or_404(
        TrustedApplicationAuthorization.objects.for_tenant(request.tenant).select_related(
            "application", "tenant", "authorized_by", "revoked_by"
        ),
        pk=pk,
    )


@require_GET
@administrator_required
@csp_override(_policy())
def show_authorization(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one authorization: what the application may do, and its usage over the last 30 days."""
    authorization = _authorization_or_404(request, pk)
    usage = reading.report(CredentialType.AUTHORIZATION, authorization.pk, authorization.tenant_id)
    names = _organization_names(request.tenant, [authorization])
    context = {
        "tab": "trusted",
        "authorization": authorization,
        "permissions": _permissions(authorization.permissions),
        "organizations": [names[pk] for pk in authorization.organization_ids if pk in names],
        "usage": usage,
        "chart": chart.daily(usage.days),
        "chart_id": "authorization-usage-chart",
    }
    return render(request, "trusted/authorization.html", context)


@require_http_methods(["GET", "POST"])
@administrator_required
def revoke_authorization(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then revoke an authorization so the application's tokens stop at once."""
    authorization = _authorization_or_404(request, pk)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.revoke_authorization(
                authorization=authorization, by=request.user, ip=get_client_ip(request)
            )
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                f"{authorization.application.name} is no longer authorized; its tokens stopped working.",
            )
        return redirect("trusted:list_applications", tenant_slug=request.tenant.slug)
    revoked = authorization.revoked_at is not None
    return render_confirmation(
        request,
        None if revoked else form,
        text="trusted/trusted_apps.html#revoke-authorization",
        title="Trusted Applications",
        button="Revoke authorization",
        cancel_url=reverse("trusted:list_applications", args=[request.tenant.slug]),
        cancel_label="Back to Trusted Applications" if revoked else "Cancel",
        tab="trusted",
        authorization=authorization,
    )


def _replacement(
    tenant, live: TrustedApplicationAuthorization | None, application, permissions: list[str], form
) -> dict | None:
    """Return what consenting would change in the LIVE authorization, for the page (None: a first consent)."""
    if live is None:
        return None
    chosen = form.initial.get("organizations", [])
    # Sent back (say, refused): compare with the organizations submitted, if they were valid.
    if form.is_bound and (form.is_valid() or "organizations" in form.cleaned_data):
        chosen = form.cleaned_data["organizations"]
    change = compare_terms(
        Terms.of(
            permissions=live.permissions,
            all_organizations=live.all_organizations,
            organization_ids=live.organization_ids,
        ),
        Terms.of(
            permissions=permissions, all_organizations=application.all_organizations, organization_ids=chosen
        ),
    )
    ids = change.organizations_added + change.organizations_removed
    names = dict(Organization.objects.for_tenant(tenant).filter(pk__in=ids).values_list("pk", "name"))

    def named(pks):
        # A granted organization deleted since is still a removal; its name went with it.
        return [names.get(pk, f"An organization no longer in {tenant.name} (#{pk})") for pk in pks]

    return {
        "authorization": live,
        "change": change,
        "permissions_added": _permissions(list(change.permissions_added)),
        "permissions_removed": _permissions(list(change.permissions_removed)),
        "organizations_added": named(change.organizations_added),
        "organizations_removed": named(change.organizations_removed),
    }


class ConsentForm(forms.Form):
    organizations = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose organizations of this tenant only."},
    )

    def __init__(self, *args, organizations, application: TrustedApplication, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["organizations"]
        field.choices = [(o.pk, o.name) for o in organizations]
        field.label = f"Choose the organizations {application.name} may use"


def _oauth_error_redirect(error: OAuthToolkitError, application: TrustedApplication | None) -> HttpResponse:
    """Send the error back to the (already validated) redirect URI, as RFC 6749 4.1.2.1 asks."""
    oauthlib_error = error.oauthlib_error
    redirect_uri = oauthlib_error.redirect_uri or ""
    separator = "&" if "?" in redirect_uri else "?"
    schemes = application.oauth_application.get_allowed_schemes() if application else ["https"]
    return OAuth2ResponseRedirect(redirect_uri + separator + oauthlib_error.urlencoded, schemes)


def _refused(request: HttpRequest, description: str, status: int = 400) -> HttpResponse:
    # Unknown client or unregistered redirect URI: shown here and never redirected (RFC 6749 4.1.2.1).
    context = {"tab": "trusted", "fatal": description}
    return render(request, "trusted/consent.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
@administrator_required
def authorize_application(request: HttpRequest) -> HttpResponse:
    """Show what an application asks of this tenant; on Authorize, record consent and issue the code."""
    core = get_oauthlib_core()
    try:
        scopes, credentials = core.validate_authorization_request(request)
    except FatalClientError as error:
        return _refused(request, error.oauthlib_error.description or error.oauthlib_error.error)
    except OAuthToolkitError as error:
        return _oauth_error_redirect(error, None)
    application = (
        TrustedApplication.objects.select_related("oauth_application")
        .filter(oauth_application__client_id=credentials["client_id"], is_enabled=True)
        .first()
    )
    if application is None:
        return _refused(request, "This application is not a trusted application of accessgov.")
    if credentials.get("code_challenge_method") != "S256":
        # DOT refuses "plain" only when it stores the code; say so before the administrator consents.
        error = errors.InvalidRequestError(
            description="Use PKCE with code_challenge_method=S256.", state=credentials.get("state")
        )
        return _oauth_error_redirect(OAuthToolkitError(error, credentials["redirect_uri"]), application)
    tenant = request.tenant
    organizations = (
        []
        if application.all_organizations
        else list(Organization.objects.for_tenant(tenant).order_by("name"))
    )
    live = (
        TrustedApplicationAuthorization.objects.for_tenant(tenant)
        .live()
        .filter(application=application)
        .select_related("authorized_by")
        .first()
    )
    # Consenting again starts from the live choice, so an unchanged re-consent changes nothing (an
    # organization deleted since cannot be ticked: the page lists it as removed).
    choices = {o.pk for o in organizations}
    initial = {"organizations": [pk for pk in live.organization_ids if pk in choices]} if live else {}
    form = ConsentForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        organizations=organizations,
        application=application,
    )
    api_enabled = access_on(tenant)
    status = 200
    if request.method == "POST":
        grant = {
            "client_id": credentials["client_id"],
            "redirect_uri": credentials["redirect_uri"],
            "response_type": credentials["response_type"],
            "state": credentials.get("state"),
            "code_challenge": credentials.get("code_challenge"),
            "code_challenge_method": credentials.get("code_challenge_method"),
        }
        try:
            if request.POST.get("decision") != "authorize":
                core.create_authorization_response(request, scopes, grant, allow=False)
            if form.is_valid():
                with transaction.atomic():
                    authorization = actions.authorize_application(
                        tenant=tenant,
                        application=application,
                        permissions=list(scopes),
                        organization_ids=form.cleaned_data["organizations"],
                        by=request.user,
                        ip=get_client_ip(request),
                    )
                    uri, _, _, _ = core.create_authorization_response(
                        request, scopes, {**grant, "trusted_authorization_id": authorization.pk}, allow=True
                    )
                return OAuth2ResponseRedirect(uri, application.oauth_application.get_allowed_schemes())
        except OAuthToolkitError as error:
            return _oauth_error_redirect(error, application)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        status = 400
    redirect_parts = urlsplit(credentials["redirect_uri"])
    context = {
        "tab": "trusted",
        "application": application,
        "permissions": _permissions(list(scopes)),
        "organizations": organizations,
        "form": form,
        "api_enabled": api_enabled,
        "redirect_host": redirect_parts.hostname,
        "replacement": _replacement(tenant, live, application, list(scopes), form),
    }
    response = render(request, "trusted/consent.html", context, status=status)
    # The form's answer is a redirect to the application's registered redirect URI.
    origin = f"{redirect_parts.scheme}://{redirect_parts.netloc}"
    with_policy = csp_override(_policy(**{"form-action": [CSP.SELF, origin]}))
    return with_policy(lambda _request: response)(request)


@never_cache
@require_GET
@login_required
def choose_tenant(request: HttpRequest) -> HttpResponse:
    """Send /o/authorize/ to the consent page of the tenant the user administers (or let them choose)."""
    memberships = [m for m in Membership.objects.of_user(request.user) if m.role == Role.ADMINISTRATOR]
    query = urlencode(list(request.GET.lists()), doseq=True)
    if len(memberships) == 1:
        consent = reverse("trusted:authorize_application", args=[memberships[0].tenant.slug])
        return redirect(f"{consent}?{query}")
    if not memberships:
        return _refused(
            request,
            "Only an administrator of a tenant can authorize a trusted application. Ask one of your "
            "tenant's administrators to do it.",
            status=403,
        )
    context = {
        "choices": [
            (m.tenant, reverse("trusted:authorize_application", args=[m.tenant.slug])) for m in memberships
        ],
        "query": query,
    }
    return render(request, "trusted/consent.html", context)
