"""Blocks of client addresses after failed API requests: which are in force, for whom, and lifting one.

The failed-request blocker (accessgov.api.limits) writes, in the same Redis round trip that starts
a block, a small record of it (since, until, tier, failures in the tier's window, failures by
kind, the tenants whose credentials the failures named) and puts the address in a capped sorted
set per tenant. This module reads those and lifts a block by deleting the state the limiter's
script reads (the block, its failure counters, its index entries), so every app server serves
the address again on its next request. Floor 0: the console's views (tokens, staff) call it.

Only Redis keeps these records; the embedded default (one process, no Redis) lists no blocks.
"""

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

# How many blocked addresses each tenant's index keeps (the ones ending soonest go first).
TENANT_BLOCKS_KEPT = 200
# How many tenants one address's failures are remembered for (a scanner trying every token).
TENANTS_PER_ADDRESS = 8


def prefix() -> str:
    """Return the prefix of the limiter's keys (accessgov.api.limits uses the same)."""
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:api:"


def info_key_prefix() -> str:
    return f"{prefix()}blockinfo:"


def tenant_index_prefix() -> str:
    return f"{prefix()}tblocks:"


@dataclass(frozen=True)
class Block:
    address: str  # the IPv4 address or the IPv6 /64 the limiter counts in
    since: datetime
    until: datetime
    tier: int  # 1-based, in ACCESSGOV_API_FAILURE_TIERS order
    failures: int  # failures in the tier's window when the block started
    kinds: dict[str, int] = field(default_factory=dict)  # error code -> failures
    tenant_ids: frozenset[int] = frozenset()

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        try:
            return ipaddress.ip_network(self.address, strict=False)
        except ValueError:
            return None


def _client():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(None, write=True)


def available() -> bool:
    """Return whether blocks are recorded here (Redis); the embedded default records none."""
    return _client() is not None


def _when(milliseconds) -> datetime:
    return datetime.fromtimestamp(int(milliseconds) / 1000, tz=UTC)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _block(address: str, fields: dict) -> Block | None:
    values = {_text(k): _text(v) for k, v in fields.items()}
    if "until" not in values:
        return None
    return Block(
        address=address,
        since=_when(values.get("since", 0)),
        until=_when(values["until"]),
        tier=int(values.get("tier", 0)),
        failures=int(values.get("failures", 0)),
        kinds={k[2:]: int(v) for k, v in values.items() if k.startswith("k:")},
        tenant_ids=frozenset(int(k[2:]) for k in values if k.startswith("t:")),
    )


def _index(tenant_id: int | None) -> str:
    return f"{prefix()}blocked" if tenant_id is None else f"{tenant_index_prefix()}{tenant_id}"


def count_blocks(*, tenant_id: int | None = None, now: datetime) -> int:
    """Return how many blocks are in force (of TENANT_ID's, or all), one Redis call."""
    client = _client()
    if client is None:
        return 0
    return int(client.zcount(_index(tenant_id), f"({int(now.timestamp() * 1000)}", "+inf"))


def blocks(*, tenant_id: int | None = None, now: datetime, offset: int = 0, limit: int = 50) -> list[Block]:
    """Return blocks in force, ending soonest first: TENANT_ID's, or (None) everyone's. Two round trips."""
    client = _client()
    if client is None:
        return []
    addresses = [
        _text(a)
        for a in client.zrangebyscore(
            _index(tenant_id), f"({int(now.timestamp() * 1000)}", "+inf", start=offset, num=limit
        )
    ]
    pipe = client.pipeline(transaction=False)
    for address in addresses:
        pipe.hgetall(info_key_prefix() + address)
    found = [_block(address, fields) for address, fields in zip(addresses, pipe.execute(), strict=True)]
    return [
        block for block in found if block is not None and (tenant_id is None or tenant_id in block.tenant_ids)
    ]


def find_block(address: str, *, now: datetime) -> Block | None:
    """Return the block of ADDRESS (as listed) in force, or None."""
    client = _client()
    if client is None:
        return None
    block = _block(address, client.hgetall(info_key_prefix() + address))
    return block if block is not None and block.until > now else None


UNBLOCK_SCRIPT = """
local tenants = redis.call('HKEYS', KEYS[1])
for _, f in ipairs(tenants) do
  if string.sub(f, 1, 2) == 't:' then redis.call('ZREM', ARGV[2] .. string.sub(f, 3), ARGV[1]) end
end
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
"""


def unblock(address: str) -> bool:
    """Lift ADDRESS's block at once for every app server; return whether a block was there."""
    client = _client()
    if client is None:
        return False
    keys = [
        info_key_prefix() + address,
        f"{prefix()}block:{address}",
        f"{prefix()}fail:{address}",  # a fresh start: its failures so far do not block it again
        f"{prefix()}blocked",
        f"{prefix()}failing",
    ]
    return int(client.eval(UNBLOCK_SCRIPT, len(keys), *keys, address, tenant_index_prefix())) > 0
