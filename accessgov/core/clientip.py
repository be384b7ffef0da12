"""Decide which IP address a request comes from, and read an address as the rules compare it."""

import ipaddress
import os
from functools import cache

from django.http import HttpRequest


@cache
def parse_networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Return the comma-separated networks of RAW ("10.0.0.0/8, 192.0.2.1")."""
    return tuple(ipaddress.ip_network(item.strip()) for item in raw.split(",") if item.strip())


def in_networks(address: str, networks) -> bool:
    """Return whether ADDRESS is inside one of NETWORKS (False for a malformed address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@cache
def trusted_proxies() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Return the networks of the reverse proxies whose X-Forwarded-For is believed (read once)."""
    return parse_networks(os.environ.get("ACCESSGOV_TRUSTED_PROXIES", ""))


def is_trusted_proxy(address: str) -> bool:
    """Return whether ADDRESS is one of ACCESSGOV_TRUSTED_PROXIES."""
    return in_networks(address, trusted_proxies())


def get_client_ip(request: HttpRequest) -> str:
    """Return the client's IP address.

    REMOTE_ADDR, unless it is one of ACCESSGOV_TRUSTED_PROXIES: then the right-most address of
    X-Forwarded-For that is not a trusted proxy. A client-sent X-Forwarded-For is therefore never
    believed unless a configured proxy appended to it (attack catalogue case 32).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not trusted_proxies() or not is_trusted_proxy(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for candidate in reversed(forwarded):
        if candidate and not is_trusted_proxy(candidate):
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return remote
    return remote


def parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Return VALUE as an address (IPv4-mapped IPv6 unwrapped, zone dropped), or None if malformed."""
    try:
        address = ipaddress.ip_address(value.strip() if isinstance(value, str) else value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            # fe80::1%eth0: the zone names a local interface, not part of the address.
            return ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address
