"""The start page (which tenant) and a tenant's home (its organizations)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from tenants.access import member_required
from tenants.models import Membership


@require_GET
@login_required
def list_tenants(request: HttpRequest) -> HttpResponse:
    """Go to the user's only tenant, or list the tenants to choose from."""
    memberships = list(Membership.objects.of_user(request.user))
    if len(memberships) == 1:
        return redirect("tenants:show_tenant", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenants/tenant_list.html", {"memberships": memberships})


@require_GET
@member_required
def show_tenant(request: HttpRequest) -> HttpResponse:
    """Show the tenant's organizations and the member's role."""
    organizations = Paginator(
        request.tenant.organizations.order_by("name", "pk"), settings.ACCESSGOV_PAGE_SIZE
    )
    return render(
        request, "tenants/home.html", {"organizations": organizations.get_page(request.GET.get("page"))}
    )
