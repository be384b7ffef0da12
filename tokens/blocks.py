"""Blocked addresses: Settings > API › Blocked addresses for a tenant, and /staff/blocks/ for staff.

A tenant's administrators see the client addresses blocked after failed requests that named one
of the tenant's credentials (accessgov.core.lockouts), and may lift ("Unblock") a block of an
address on one of its tokens' IP allowlists. Staff see and may lift every block. Every lift is
audited, and takes effect on every app server at once (it deletes the state in Redis).
"""

import ipaddress

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accessgov.audit.actions import record_event
from accessgov.audit.models import Action
from accessgov.core import lockouts
from accessgov.core.clientip import get_client_ip, in_networks
from tenants.access import administrator_required, staff_required
from tenants.models import Tenant
from tokens.models import ThirdPartyToken


class _Blocks:
    """The blocks in force as a sequence Paginator can page through (a count, then one slice)."""

    def __init__(self, tenant_id: int | None):
        self.tenant_id = tenant_id
        self.now = timezone.now()

    def count(self) -> int:
        return lockouts.count_blocks(tenant_id=self.tenant_id, now=self.now)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, where: slice) -> list[lockouts.Block]:
        return lockouts.blocks(
            tenant_id=self.tenant_id,
            now=self.now,
            offset=where.start or 0,
            limit=where.stop - (where.start or 0),
        )


def _allowlists(tenant: Tenant) -> list:
    """Return the networks on TENANT's tokens' IP allowlists (one query)."""
    networks = []
    for allowlist in ThirdPartyToken.objects.for_tenant(tenant).values_list("allowed_ips", flat=True):
        for value in allowlist or ():
            try:
                networks.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                continue
    return networks


def on_allowlist(block: lockouts.Block, networks: list) -> bool:
    """Return whether BLOCK's address (an IPv4 address or an IPv6 /64) is on one of NETWORKS."""
    if "/" not in block.address:
        return in_networks(block.address, networks)
    blocked = block.network
    return blocked is not None and any(blocked.overlaps(network) for network in networks)


@require_GET
@administrator_required
def list_blocks(request: HttpRequest) -> HttpResponse:
    """List the addresses blocked after failed requests that named this tenant's credentials."""
    page = Paginator(_Blocks(request.tenant.pk), settings.ACCESSGOV_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    networks = _allowlists(request.tenant)
    rows = [{"block": block, "liftable": on_allowlist(block, networks)} for block in page.object_list]
    return render(
        request,
        "blocks/tenant_blocks.html",
        {"page": page, "rows": rows, "tab": "manage", "redis": lockouts.available()},
    )


@require_POST
@administrator_required
def unblock(request: HttpRequest) -> HttpResponse:
    """Lift the block of an address on one of the tenant's tokens' allowlists; anything else is 404."""
    address = request.POST.get("address", "")
    block = lockouts.find_block(address, now=timezone.now())
    if (
        block is None
        or request.tenant.pk not in block.tenant_ids
        or not on_allowlist(block, _allowlists(request.tenant))
    ):
        raise Http404("No such block.")
    lockouts.unblock(block.address)
    record_event(
        tenant=request.tenant,
        actor=request.user,
        action=Action.ADDRESS_UNBLOCKED,
        details=_details(block),
        ip=get_client_ip(request),
    )
    messages.success(request, f"{block.address} is unblocked and may call the API again.")
    return redirect(reverse("blocks:list_blocks", args=[request.tenant.slug]))


def _details(block: lockouts.Block) -> dict:
    return {
        "address": block.address,
        "since": block.since.isoformat(),
        "until": block.until.isoformat(),
        "tier": block.tier,
        "failures": block.failures,
    }


@require_GET
@staff_required
def staff_blocks(request: HttpRequest) -> HttpResponse:
    """List every block in force, with the tenants whose credentials its failures named."""
    page = Paginator(_Blocks(None), settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    wanted = {pk for block in page.object_list for pk in block.tenant_ids}
    names = dict(Tenant.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    rows = [
        {"block": block, "tenants": sorted(names[pk] for pk in block.tenant_ids if pk in names)}
        for block in page.object_list
    ]
    return render(
        request, "blocks/staff_blocks.html", {"page": page, "rows": rows, "redis": lockouts.available()}
    )


@require_POST
@staff_required
def staff_unblock(request: HttpRequest) -> HttpResponse:
    """Lift any block; audited once per tenant concerned, or once platform-wide when none is."""
    block = lockouts.find_block(request.POST.get("address", ""), now=timezone.now())
    if block is None:
        messages.info(request, "That address is no longer blocked.")
        return redirect(reverse("staff_blocks:staff_blocks"))
    lockouts.unblock(block.address)
    tenants = list(Tenant.objects.filter(pk__in=block.tenant_ids)) or [None]
    for tenant in tenants:
        record_event(
            tenant=tenant,
            actor=request.user,
            action=Action.ADDRESS_UNBLOCKED,
            details={**_details(block), "by_staff": True},
            ip=get_client_ip(request),
        )
    messages.success(request, f"{block.address} is unblocked and may call the API again.")
    return redirect(reverse("staff_blocks:staff_blocks"))


tenant_urls = (
    [
        path("", list_blocks, name="list_blocks"),
        path("unblock/", unblock, name="unblock"),
    ],
    "blocks",
)

staff_urls = (
    [
        path("", staff_blocks, name="staff_blocks"),
        path("unblock/", staff_unblock, name="staff_unblock"),
    ],
    "staff_blocks",
)
