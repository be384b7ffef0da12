"""Resolve the tenant of a /t/<slug>/ URL and check the member's role: the one gate for tenant views."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tenants.models import Membership, Role, Tenant

# Set by accessgov.sso in a session signed in through the identity provider: {"mfa": bool}, mfa
# true when the provider said the person used a second factor there (docs/sso.md). tenants (floor 0)
# owns the key because its gate reads it; the password sign-in removes it.
PROVIDER_SESSION_KEY = "accessgov_provider_sign_in"


def provider_sign_in(request: HttpRequest) -> dict | None:
    """Return what the identity provider said about this session's sign-in, or None for a password one."""
    # A request without a session (no SessionMiddleware) is no provider sign-in.
    session = getattr(request, "session", None)
    value = session.get(PROVIDER_SESSION_KEY) if session is not None else None
    return value if isinstance(value, dict) else None


def tenants_requiring_provider(user) -> list[Tenant]:
    """Return the tenants whose password sign-in is off and that USER belongs to (none for staff).

    Staff and superusers keep their password (and second factor) for /admin/; the tenant gate
    still asks them to sign in through the provider before opening such a tenant.
    """
    if user.is_staff or user.is_superuser:
        return []
    return list(Tenant.objects.filter(memberships__user=user, password_sign_in=False).order_by("name"))


def is_verified(user) -> bool:
    """Return whether USER's session passed a second factor (set by django-otp's OTPMiddleware).

    tenants (floor 0) cannot import the MFA package: it reads the attribute the middleware sets,
    and a request without it (the middleware missing) counts as not verified.
    """
    check = getattr(user, "is_verified", None)
    return callable(check) and bool(check())


def tenant_member_required(role: Role | None = None) -> Callable:
    """Return a decorator that sets request.tenant and request.membership, or refuses.

    A session signed in with a password gets 403 on a tenant whose password sign-in is off. An
    administrator of a tenant that requires MFA whose session is not verified by a second factor
    (accessgov's own, or the identity provider's when it said so) is sent to settings.MFA_ENROL_URL.
    A user who is not a member of the tenant gets 404, exactly as for a slug that does not exist,
    so nobody learns which tenants exist; so does a member of a tenant the operator deactivated. A member without ROLE gets 403 with a page saying why.
    """

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, tenant_slug: str, *args, **kwargs) -> HttpResponse:
            membership = (
                Membership.objects.select_related("tenant")
                .filter(user=request.user, tenant__slug=tenant_slug, tenant__is_active=True)
                .first()
            )
            if membership is None:
                raise Http404("No such tenant.")
            via_provider = provider_sign_in(request)
            if not membership.tenant.password_sign_in and via_provider is None:
                # Also a session signed in with a password before the tenant turned it off.
                return render(request, "tenants/sso_required.html", {"tenant": membership.tenant}, status=403)
            if (
                membership.is_administrator
                and membership.tenant.administrators_must_use_mfa
                and not is_verified(request.user)
                and not (via_provider or {}).get("mfa")
            ):
                # Before any page of the tenant, whatever the page's own role: the administrator
                # adds (or, signed in before adding one, signs in again with) a second factor.
                return redirect(settings.MFA_ENROL_URL)
            request.tenant = membership.tenant
            request.membership = membership
            if role is not None and membership.role != role:
                return render(
                    request,
                    "tenants/forbidden.html",
                    {"required_role": role.label, "your_role": membership.get_role_display()},
                    status=403,
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


administrator_required = tenant_member_required(Role.ADMINISTRATOR)
member_required = tenant_member_required()


def staff_required(view: Callable) -> Callable:
    """Let staff with a verified second factor through: anonymous → sign-in, others 404, unverified → MFA."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404("No such page.")
        if not is_verified(request.user):
            return redirect(settings.MFA_ENROL_URL)
        return view(request, *args, **kwargs)

    return wrapped
