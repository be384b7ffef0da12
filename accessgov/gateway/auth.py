"""Is this caller one of the operator's gateways? A gateway key (agg_…) in the Accessgov-Gateway-Key
header, an address in ACCESSGOV_GATEWAY_NETWORKS, or both, as the operator configures.

A verified key is kept per process for ACCESSGOV_CREDENTIAL_CACHE_SECONDS, so a decision costs no
query for it: deleting a key stops it at once on the app server that deleted it, and on the
others within that many seconds (docs/gateway.md).
"""

import time

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone

from accessgov.core import keys
from accessgov.core.clientip import in_networks, parse_networks
from accessgov.core.credentials import credential_changed, record_last_use
from accessgov.gateway.actions import GATEWAY_KEY_PREFIX, gateway_cache_key
from accessgov.gateway.models import GatewayKey

HEADER = "Accessgov-Gateway-Key"
_verified: dict[str, tuple[GatewayKey, float]] = {}


def gateway_networks() -> tuple:
    """Return the networks gateways call from (ACCESSGOV_GATEWAY_NETWORKS); empty: any address."""
    return parse_networks(settings.ACCESSGOV_GATEWAY_NETWORKS)


def from_gateway_network(address: str) -> bool:
    """Return whether ADDRESS is inside ACCESSGOV_GATEWAY_NETWORKS (False when none are set)."""
    return in_networks(address, gateway_networks())


def verified_key(secret: str, *, ip: str) -> GatewayKey | None:
    """Return the gateway key SECRET, or None if it is malformed, unknown or wrong."""
    parsed = keys.parse_secret(secret, GATEWAY_KEY_PREFIX) if secret else None
    if parsed is None:
        return None
    prefix = keys.visible_prefix(secret, GATEWAY_KEY_PREFIX)
    entry = _verified.get(prefix)
    if entry is not None and time.monotonic() - entry[1] <= settings.ACCESSGOV_CREDENTIAL_CACHE_SECONDS:
        key = entry[0]
        return key if key.matches(secret) else None
    key = GatewayKey.objects.filter(prefix=prefix).first()
    if key is None:
        keys.burn_equal_time(secret)
        return None
    if not key.matches(secret):
        return None
    _verified[prefix] = (key, time.monotonic())
    record_last_use(key, ip=ip, now=timezone.now())
    return key


def admits(request, *, key: str | None = None) -> bool:
    """Return whether REQUEST comes from one of the operator's gateways (KEY: its key, if it was
    sent elsewhere than in the Accessgov-Gateway-Key header).

    With ACCESSGOV_GATEWAY_NETWORKS set, the peer must be inside them; with ACCESSGOV_GATEWAY_REQUIRE_KEY
    on (the default), it must also send a gateway key. With neither, nobody is a gateway.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    if gateway_networks() and not from_gateway_network(peer):
        return False
    if settings.ACCESSGOV_GATEWAY_REQUIRE_KEY:
        return verified_key(key or request.headers.get(HEADER, ""), ip=peer) is not None
    return bool(gateway_networks())


@receiver(credential_changed, dispatch_uid="gateway-keys-changed")
def _forget(sender, *, cache_keys, everything, **kwargs) -> None:
    if everything:
        _verified.clear()
    for prefix in list(_verified):
        if gateway_cache_key(prefix) in cache_keys:
            _verified.pop(prefix, None)
