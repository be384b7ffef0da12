"""Rate limits per credential, the failed-request blocker per client IP, and credential versions.

All counters live in the shared cache so that every app server sees the same numbers:

- with Redis (production, CI), each API request makes one round trip: a Lua script that checks the
  IP block, checks and counts every window of the credential's limits at once (atomically: a
  refused request consumes nothing), and reads the credential versions used by the per-process
  credential cache (accessgov.apiauth);
- with the embedded default (Django's database cache, one process), the same rules run under a
  process lock.

Some endpoints also have a budget per tenant (ACCESSGOV_API_TENANT_RATE_LIMITS: POST Notify), shared
by all the tenant's credentials, so a tenant cannot multiply its budget by creating credentials.
It is counted by the same round trip, with the credential's windows, under a tenant key: a request
passes only if every window of both has room, and a refused request consumes nothing of either.

Rate limits are counted in fixed windows aligned to the clock (a window of 3,600 s starts on the
hour): within one window no more than the limit passes, whatever the concurrency; across a window
edge a client can spend the end of one window and the start of the next.

Failures are counted per client address (IPv4, or the IPv6 /64) in FAILURE_SLOTS fixed sub-windows
per tier, and a tier sums its last FAILURE_SLOTS + 1 of them: every failure younger than the tier's
window counts (so 30 failures straddling a minute edge are still 30 failures in a minute), and one
up to a sub-window older may count too. Blocks therefore come no later than with an exact sliding
log, and each address costs a few counters whatever its number of failures. Reaching a tier's
threshold blocks the address for the tier's block time; a longer block in force is never
shortened, and refused requests of a blocked address are not counted (they would otherwise
extend the block forever).

The number of addresses is bounded too (ACCESSGOV_FAILURE_TRACKED_ADDRESSES): an index of the
counted addresses by last failure forgets the least recently failing address when a new one would
exceed it, and an index of blocks by end forgets the block that ends soonest when a new block would
exceed it. Both are kept by the same script as the counting, in the same round trip.

When Redis cannot be reached, or does not answer within ACCESSGOV_REDIS_TIMEOUT, the limits fail
open (the API keeps answering, the outage is logged) and the credential cache is bypassed, so
revocations still apply on the next request; a per-process circuit breaker then skips Redis for
ACCESSGOV_REDIS_BREAKER_SECONDS, so a hung Redis costs one request that wait, not every request.
"""

import ipaddress
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from accessgov.core import catalogue, lockouts
from accessgov.core.catalogue import Endpoint, Window
from accessgov.usage import counting as usage_counting
from accessgov.usage import models as usage_models

logger = logging.getLogger(__name__)


def _prefix() -> str:
    # The cache's KEY_PREFIX keeps deployments (and concurrent test runs) sharing one Redis apart.
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:api:"


@dataclass(frozen=True)
class FailureTier:
    threshold: int
    seconds: int
    block_seconds: int


@dataclass(frozen=True)
class WindowState:
    window: Window
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(self.window.limit - self.used, 0)


@dataclass
class GateResult:
    """What the one round trip of a request found out."""

    blocked_for: int = 0  # seconds the client IP stays blocked; 0 if it is not blocked
    limited: bool = False  # a window of the credential's or tenant's limits is used up; nothing was counted
    windows: list[WindowState] = field(default_factory=list)  # the credential's
    tenant_windows: list[WindowState] = field(default_factory=list)  # the tenant's budget, if any
    versions: tuple[str, str] | None = None  # (global, credential); None when unknown
    available: bool = True  # False when the shared cache could not be reached

    @property
    def tightest(self) -> WindowState | None:
        """Return the window with the fewest requests remaining (ties: the one that resets last)."""
        if not self.windows:
            return None
        return min(self.windows, key=lambda state: (state.remaining, -state.reset_seconds))

    @property
    def tenant_limited(self) -> bool:
        """Return whether the request was refused by the tenant's budget alone, not the credential's."""
        # When limited, the states hold the counts before this request: used up means none remaining.
        return self.limited and not any(state.remaining == 0 for state in self.windows)

    @property
    def retry_after(self) -> int:
        """Return the seconds until every exhausted window (the tenant's when it alone refused) has reset."""
        states = self.tenant_windows if self.tenant_limited else self.windows
        exhausted = [state.reset_seconds for state in states if state.remaining == 0]
        return max(exhausted, default=1)


def windows_for(endpoint: Endpoint) -> list[Window]:
    """Return the rate-limit windows of ENDPOINT: its own, or the settings' for its permission."""
    if endpoint.windows is not None:
        return list(endpoint.windows)
    table = settings.ACCESSGOV_API_RATE_LIMITS
    return [Window(limit, seconds) for limit, seconds in table.get(endpoint.permission, table["default"])]


def tenant_windows_for(endpoint: Endpoint) -> list[Window]:
    """Return the windows of ENDPOINT's budget per tenant; none for most endpoints."""
    if endpoint.governs_platform:
        return []  # the platform's endpoints declare their own limits, per credential
    tiers = settings.ACCESSGOV_API_TENANT_RATE_LIMITS.get(endpoint.permission, ())
    return [Window(limit, seconds) for limit, seconds in tiers]


def tenant_rate_key(tenant_id: int) -> str:
    """Return what a tenant's budget is counted under: never the name of a credential (one letter)."""
    return f"tenant:{tenant_id}"


def windows_of_permission(permission: str) -> list[Window]:
    """Return the distinct windows of the endpoints that need PERMISSION, in catalogue order."""
    found = [w for e in catalogue.current().endpoints_of(permission) for w in windows_for(e)]
    return list(dict.fromkeys(found))


def bucket_of(endpoint: Endpoint) -> str:
    """Return what ENDPOINT's requests are counted under, per credential.

    accessgov's own endpoints count per permission (a list and its items share a budget, as the
    windows are the permission's); the platform's count per endpoint, since each declares its own.
    """
    return f"{endpoint.method}{endpoint.path}" if endpoint.governs_platform else endpoint.permission


# Refusals that are not failed requests (SECURITY.md): the blocker's own 429, and a credential's or
# its tenant's own rate limit (one busy integration must not get its office's address blocked).
NOT_FAILURES = frozenset({"ip_blocked", "rate_limited", "tenant_rate_limited"})


def counts_as_failure(status: int, code: str) -> bool:
    """Return whether an answer of STATUS and error CODE is a failed request of its client IP."""
    return 400 <= status < 500 and code not in NOT_FAILURES


def failure_tiers() -> list[FailureTier]:
    """Return the configured failed-request tiers."""
    return [FailureTier(*tier) for tier in settings.ACCESSGOV_API_FAILURE_TIERS]


def ip_bucket(address: str) -> str:
    """Return the unit an address is counted in: the IPv4 address, or the IPv6 /64."""
    if ":" not in address and address.count(".") == 3:
        return address  # REMOTE_ADDR or a validated forwarded address: already a plain IPv4 address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def _block_key_prefix() -> str:
    return f"{_prefix()}block:"


def _block_key(address: str) -> str:
    return _block_key_prefix() + ip_bucket(address)


def _counter_key(credential: str, bucket: str, window: Window, now: float) -> str:
    return f"{_prefix()}rl:{credential}:{bucket}:{window.seconds}:{int(now // window.seconds)}"


def _reset_seconds(window: Window, now: float) -> int:
    return max(math.ceil((int(now // window.seconds) + 1) * window.seconds - now), 1)


def _version_keys(credential: str) -> tuple[str, str]:
    return f"{_prefix()}v:global", f"{_prefix()}v:cred:{credential}"


GATE_SCRIPT = (
    usage_counting.LUA
    + """
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then return {1, blocked} end
local n = tonumber(ARGV[1])
local versions = {redis.call('GET', KEYS[2]) or '0', redis.call('GET', KEYS[3]) or '0'}
local expected = ARGV[2 + 2 * n]
if expected ~= '' and expected ~= versions[1] .. ':' .. versions[2] then
  return {0, 0, versions[1], versions[2]}
end
local counts = {}
local limited = 0
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[3 + i]) or '0')
  if used >= tonumber(ARGV[1 + 2 * i - 1]) then limited = 1 end
  counts[i] = used
end
if limited == 0 then
  for i = 1, n do
    counts[i] = redis.call('INCR', KEYS[3 + i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[3 + i], ARGV[1 + 2 * i]) end
  end
end
if ARGV[4 + 2 * n] == '1' then
  local outcome = 'allowed'
  if limited == 1 then
    outcome = 'tenant_rate_limited'
    for i = 1, tonumber(ARGV[3 + 2 * n]) do
      if counts[i] >= tonumber(ARGV[1 + 2 * i - 1]) then outcome = 'rate_limited' end
    end
  end
  count_usage(4 + n, 5 + 2 * n, outcome)
end
local out = {0, limited, versions[1], versions[2]}
for i = 1, n do out[4 + i] = counts[i] end
return out
"""
)

# Sub-windows per failure tier: a failure counts for at least the tier's window and at most 1/12
# longer, and an address costs at most 13 counters per tier instead of a log of THRESHOLD entries.
FAILURE_SLOTS = 12

FAILURE_SCRIPT = (
    usage_counting.LUA
    + """
local now = tonumber(ARGV[1])
local bucket = ARGV[2]
local cap = tonumber(ARGV[3])
local slots = tonumber(ARGV[4])
-- ARGV: 4 fixed, 3 per tier, 8 more (up to extra + 6), then 8 of usage (extra + 7..14).
local n = (#ARGV - 20) / 3
local counts = {}
local fields = redis.call('HGETALL', KEYS[2])
for j = 1, #fields, 2 do counts[fields[j]] = tonumber(fields[j + 1]) end
local block_for = 0
local block_tier = 0
local block_failures = 0
local keep = 0
local current = {}
local extra = 6 + 3 * n
-- What the console shows of a block (accessgov.core.lockouts): failures by kind, and the tenants
-- whose credentials they named (at most ARGV[extra + 5] of them per address).
if ARGV[extra + 3] ~= '' then
  counts['k:' .. ARGV[extra + 3]] = redis.call('HINCRBY', KEYS[2], 'k:' .. ARGV[extra + 3], 1)
end
for t in string.gmatch(ARGV[extra + 4], '%d+') do
  if not counts['t:' .. t] then
    local known = 0
    for f, _ in pairs(counts) do if string.sub(f, 1, 2) == 't:' then known = known + 1 end end
    if known < tonumber(ARGV[extra + 5]) then
      redis.call('HSET', KEYS[2], 't:' .. t, 1)
      counts['t:' .. t] = 1
    end
  end
end
for i = 1, n do
  local threshold = tonumber(ARGV[4 + 3 * (i - 1) + 1])
  local window = tonumber(ARGV[4 + 3 * (i - 1) + 2])
  local block = tonumber(ARGV[4 + 3 * (i - 1) + 3])
  local width = math.ceil(window / slots)
  current[i] = math.floor(now / width)
  local field = i .. ':' .. current[i]
  counts[field] = redis.call('HINCRBY', KEYS[2], field, 1)
  local total = 0
  for j = current[i] - slots, current[i] do total = total + (counts[i .. ':' .. j] or 0) end
  if total >= threshold and block > block_for then
    block_for = block
    block_tier = i
    block_failures = total
  end
  if window + width > keep then keep = window + width end
end
for f, _ in pairs(counts) do
  local i, slot = string.match(f, '^(%d+):(%d+)$')
  i = tonumber(i)
  local detail = string.sub(f, 1, 2) == 'k:' or string.sub(f, 1, 2) == 't:'
  if not detail and (i == nil or current[i] == nil or tonumber(slot) < current[i] - slots) then
    redis.call('HDEL', KEYS[2], f)
  end
end
redis.call('PEXPIRE', KEYS[2], keep)
-- The index of counted addresses: forget the least recently failing ones, never this one.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - keep)
if not redis.call('ZSCORE', KEYS[3], bucket) then
  local excess = redis.call('ZCARD', KEYS[3]) - cap + 1
  if excess > 0 then
    local gone = redis.call('ZPOPMIN', KEYS[3], excess)
    for j = 1, #gone, 2 do redis.call('DEL', ARGV[5 + 3 * n] .. gone[j]) end
  end
end
redis.call('ZADD', KEYS[3], now, bucket)
if block_for > 0 then
  local left = redis.call('PTTL', KEYS[1])
  if left < block_for then
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
    if not redis.call('ZSCORE', KEYS[4], bucket) then
      local excess = redis.call('ZCARD', KEYS[4]) - cap + 1
      if excess > 0 then
        local gone = redis.call('ZPOPMIN', KEYS[4], excess)
        for j = 1, #gone, 2 do redis.call('DEL', ARGV[6 + 3 * n] .. gone[j], ARGV[extra + 1] .. gone[j]) end
      end
    end
    redis.call('SET', KEYS[1], '1', 'PX', block_for)
    redis.call('ZADD', KEYS[4], now + block_for, bucket)
    local info = ARGV[extra + 1] .. bucket
    local record = {'since', now, 'until', now + block_for, 'tier', block_tier, 'failures', block_failures}
    for f, v in pairs(counts) do
      local kind = string.sub(f, 1, 2)
      if kind == 'k:' or kind == 't:' then
        table.insert(record, f)
        table.insert(record, v)
        if kind == 't:' then
          local index = ARGV[extra + 2] .. string.sub(f, 3)
          redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
          redis.call('ZADD', index, now + block_for, bucket)
          local over = redis.call('ZCARD', index) - tonumber(ARGV[extra + 6])
          if over > 0 then redis.call('ZPOPMIN', index, over) end
          if redis.call('PTTL', index) < block_for then redis.call('PEXPIRE', index, block_for) end
        end
      end
    end
    redis.call('DEL', info)
    redis.call('HSET', info, unpack(record))
    redis.call('PEXPIRE', info, block_for)
  end
end
-- The refused call, in the usage of the credential it named (accessgov.usage.counting).
if ARGV[extra + 7] ~= '' then count_usage(5, extra + 8, ARGV[extra + 7]) end
return block_for
"""
)


def tracked_addresses() -> int:
    """Return how many client addresses the failed-request log counts (and blocks) at most."""
    return max(int(settings.ACCESSGOV_FAILURE_TRACKED_ADDRESSES), 1)


def _failure_key(bucket: str) -> str:
    return f"{_prefix()}fail:{bucket}"


class RedisLimiter:
    """Counters in Redis, one Lua script per question."""

    def __init__(self, cache: RedisCache):
        self.cache = cache
        self._redis = None
        self._scripts: dict[str, object] = {}

    def _client(self):
        # Django builds a new Redis client object on every get_client(); one per process is enough
        # (it is thread-safe, and its pool reconnects after a fork).
        if self._redis is None:
            self._redis = self.cache._cache.get_client(None, write=True)
        return self._redis

    def _script(self, name: str, source: str):
        if name not in self._scripts:
            self._scripts[name] = self._client().register_script(source)
        return self._scripts[name]

    def gate(
        self,
        *,
        ip: str,
        credential: str,
        bucket: str,
        windows: list[Window],
        now: float,
        expect: tuple[str, str] | None = None,
        tenant: str | None = None,
        tenant_windows: list[Window] = (),
        usage: usage_counting.Hit | None = None,
    ) -> GateResult:
        keys = [_block_key(ip), *_version_keys(credential)]
        counters = _counters(credential, bucket, windows, tenant, tenant_windows, now)
        keys += [key for key, _ in counters]
        args: list[object] = [len(counters)]
        for _, window in counters:
            args += [window.limit, window.seconds * 1000]
        args.append(":".join(expect) if expect is not None else "")
        # Counted in the same script (accessgov.usage.counting): allowed, or which limit refused it.
        args += [len(windows), "1" if usage is not None else ""]
        if usage is not None:
            keys += usage_counting.redis_keys(usage, now)
            args += usage_counting.redis_args(usage, now)
        reply = self._script("gate", GATE_SCRIPT)(keys=keys, args=args)
        if int(reply[0]) == 1:
            return GateResult(blocked_for=max(math.ceil(int(reply[1]) / 1000), 1))
        if len(reply) == 4:  # the versions moved on: nothing was counted
            return GateResult(versions=(_text(reply[2]), _text(reply[3])))
        versions = (_text(reply[2]), _text(reply[3]))
        return _result(int(reply[1]) == 1, counters, reply[4:], len(windows), now, versions)

    def peek(self, *, ip: str, credential: str) -> tuple[int, tuple[str, str]]:
        pipe = self._client().pipeline(transaction=False)
        pipe.pttl(_block_key(ip))
        pipe.mget(_version_keys(credential))
        remaining, values = pipe.execute()
        blocked = max(math.ceil(remaining / 1000), 1) if remaining and remaining > 0 else 0
        return blocked, (_text(values[0] or b"0"), _text(values[1] or b"0"))

    def blocked_for(self, *, ip: str) -> int:
        remaining = self._client().pttl(_block_key(ip))
        return max(math.ceil(remaining / 1000), 1) if remaining and remaining > 0 else 0

    def record_failure(
        self,
        *,
        ip: str,
        now: float,
        tenants: tuple[int, ...] = (),
        kind: str = "",
        usage: usage_counting.Hit | None = None,
    ) -> int:
        bucket = ip_bucket(ip)
        # The evicted addresses' keys are named inside the script from these prefixes: accessgov
        # runs on one Redis (not a cluster), where a script may touch keys it did not declare.
        keys = [_block_key(ip), _failure_key(bucket), f"{_prefix()}failing", f"{_prefix()}blocked"]
        args: list[object] = [int(now * 1000), bucket, tracked_addresses(), FAILURE_SLOTS]
        for tier in failure_tiers():
            args += [tier.threshold, tier.seconds * 1000, tier.block_seconds * 1000]
        args += [_failure_key(""), _block_key_prefix()]
        args += [lockouts.info_key_prefix(), lockouts.tenant_index_prefix(), kind]
        args += [",".join(str(t) for t in tenants), lockouts.TENANTS_PER_ADDRESS, lockouts.TENANT_BLOCKS_KEPT]
        # The refused call in the usage of the credential it named, by its outcome (the error code).
        if usage is not None:
            keys += usage_counting.redis_keys(usage, now)
            args += [usage.outcome or kind, *usage_counting.redis_args(usage, now)]
        else:
            args += [""] * 8
        return math.ceil(int(self._script("failure", FAILURE_SCRIPT)(keys=keys, args=args)) / 1000)

    def bump(self, credential: str | None) -> None:
        global_key, credential_key = _version_keys(credential or "")
        # A fresh random value, never a counter: a counter restarted after an eviction or a flush
        # could come back to the very value an app server cached, and its stale row would pass.
        self._client().set(credential_key if credential else global_key, secrets.token_hex(8))

    def reset(self) -> None:
        client = self._client()
        for key in client.scan_iter(match=f"{_prefix()}*", count=1000):
            client.delete(key)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _counters(credential, bucket, windows, tenant, tenant_windows, now) -> list[tuple[str, Window]]:
    """Return the counter key and window of every window a request is counted in, the credential's first."""
    counters = [(_counter_key(credential, bucket, window, now), window) for window in windows]
    if tenant is not None:
        counters += [(_counter_key(tenant, bucket, window, now), window) for window in tenant_windows]
    return counters


def _result(limited: bool, counters, used, own: int, now: float, versions) -> GateResult:
    """Return the GateResult of counts USED of COUNTERS, whose first OWN are the credential's."""
    states = [
        WindowState(window, int(count), _reset_seconds(window, now))
        for (_, window), count in zip(counters, used, strict=True)
    ]
    return GateResult(limited=limited, windows=states[:own], tenant_windows=states[own:], versions=versions)


def _outcome(result: GateResult) -> str:
    """Return the usage outcome of a call the limits judged (accessgov.usage.models)."""
    if not result.limited:
        return usage_models.ALLOWED
    return usage_models.TENANT_RATE_LIMITED if result.tenant_limited else usage_models.RATE_LIMITED


class CacheLimiter:
    """The same rules on any Django cache, for the single-process embedded default."""

    def __init__(self, cache):
        self.cache = cache
        self.lock = threading.Lock()

    def gate(
        self,
        *,
        ip: str,
        credential: str,
        bucket: str,
        windows: list[Window],
        now: float,
        expect: tuple[str, str] | None = None,
        tenant: str | None = None,
        tenant_windows: list[Window] = (),
        usage: usage_counting.Hit | None = None,
    ) -> GateResult:
        # EXPECT is never met here: without Redis nothing is cached (versions are None).
        with self.lock:
            blocked_until = self.cache.get(_block_key(ip))
            if blocked_until and blocked_until > now:
                return GateResult(blocked_for=max(math.ceil(blocked_until - now), 1))
            counters = _counters(credential, bucket, windows, tenant, tenant_windows, now)
            used = [int(self.cache.get(key) or 0) for key, _ in counters]
            limited = any(count >= window.limit for count, (_, window) in zip(used, counters, strict=True))
            if not limited:
                used = [count + 1 for count in used]
                for count, (key, window) in zip(used, counters, strict=True):
                    self.cache.set(key, count, _reset_seconds(window, now) + 1)
            result = _result(limited, counters, used, len(windows), now, None)
        if usage is not None:
            usage_counting.count_in_memory(usage, _outcome(result), now)
        return result

    def peek(self, *, ip: str, credential: str) -> tuple[int, None]:
        return self.blocked_for(ip=ip), None

    def blocked_for(self, *, ip: str) -> int:
        blocked_until = self.cache.get(_block_key(ip))
        now = time.time()
        return max(math.ceil(blocked_until - now), 1) if blocked_until and blocked_until > now else 0

    def record_failure(
        self,
        *,
        ip: str,
        now: float,
        tenants: tuple[int, ...] = (),
        kind: str = "",
        usage: usage_counting.Hit | None = None,
    ) -> int:
        # The embedded default keeps no record of whose credentials failed (no Redis: no list).
        block_for = self._count_failure(ip=ip, now=now)
        if usage is not None:
            usage_counting.count_in_memory(usage, usage.outcome or kind, now)
        return block_for

    def _count_failure(self, *, ip: str, now: float) -> int:
        bucket = ip_bucket(ip)
        tiers = failure_tiers()
        with _address_lock:
            key = _failure_key(bucket)
            counts: dict[tuple[int, int], int] = self.cache.get(key) or {}
            block_for, keep = 0, 0
            current = {}
            for i, tier in enumerate(tiers):
                width = math.ceil(tier.seconds * 1000 / FAILURE_SLOTS)
                current[i] = int(now * 1000 // width)
                counts[(i, current[i])] = counts.get((i, current[i]), 0) + 1
                total = sum(
                    counts.get((i, slot), 0) for slot in range(current[i] - FAILURE_SLOTS, current[i] + 1)
                )
                if total >= tier.threshold:
                    block_for = max(block_for, tier.block_seconds)
                keep = max(keep, tier.seconds * 1000 + width)
            counts = {
                (i, slot): count
                for (i, slot), count in counts.items()
                if i in current and slot >= current[i] - FAILURE_SLOTS
            }
            self.cache.set(key, counts, math.ceil(keep / 1000))
            _remember(_failing, key, now, now - keep / 1000, self.cache)
            if block_for:
                block_key = _block_key(ip)
                current_until = self.cache.get(block_key) or 0
                if current_until < now + block_for:
                    self.cache.set(block_key, now + block_for, block_for)
                    _remember(_blocked, block_key, now + block_for, now, self.cache)
            return block_for

    def bump(self, credential: str | None) -> None:
        """Nothing to do: without Redis there is no credential cache to invalidate."""

    def reset(self) -> None:
        """Forget the counted and blocked addresses (tests start each from empty indexes)."""
        with _address_lock:
            _failing.clear()
            _blocked.clear()


# The embedded default's indexes of counted and blocked addresses (key -> last failure, or block
# end): the database cache serves one process, so the indexes live in it; a restart forgets them,
# and the keys they named expire with their window or block.
_address_lock = threading.Lock()
_failing: OrderedDict[str, float] = OrderedDict()  # in order of last failure
_blocked: OrderedDict[str, float] = OrderedDict()


def _remember(index: OrderedDict[str, float], key: str, score: float, stale_before: float, cache) -> None:
    """Put KEY last in INDEX with SCORE, forgetting stale entries and, over the cap, the lowest scores."""
    index.pop(key, None)
    while index and next(iter(index.values())) < stale_before:
        index.popitem(last=False)  # expired in the cache already
    while len(index) >= tracked_addresses():
        # The failure index is in score order (first is lowest); blocks of different tiers are not.
        lowest = next(iter(index)) if index is _failing else min(index, key=index.__getitem__)
        del index[lowest]
        cache.delete(lowest)
    index[key] = score


_limiter: RedisLimiter | CacheLimiter | None = None


def get_limiter() -> RedisLimiter | CacheLimiter:
    """Return the limiter for the configured cache."""
    global _limiter
    cache = caches["default"]
    if _limiter is None or _limiter.cache is not cache:
        _limiter = RedisLimiter(cache) if isinstance(cache, RedisCache) else CacheLimiter(cache)
    return _limiter


class Breaker:
    """Skip the shared cache for a while after it failed, so a hung Redis costs one request, not all.

    Per process: after a failure (refused, timed out) the cache is not asked again for
    ACCESSGOV_REDIS_BREAKER_SECONDS; what it would have answered fails as README says (limits and
    blocks off, the credential cache bypassed). The first request after that asks again, and
    closes the breaker when the cache answers.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.open_until: float | None = None
        self.lock = threading.Lock()

    def allows(self) -> bool:
        open_until = self.open_until
        return open_until is None or self.clock() >= open_until

    def failed(self) -> None:
        seconds = settings.ACCESSGOV_REDIS_BREAKER_SECONDS
        with self.lock:
            self.open_until = self.clock() + seconds
        logger.exception(
            "Rate-limit store unreachable; limits are off, failed requests are not counted and the "
            "credential cache is bypassed for %s s",
            seconds,
        )

    def succeeded(self) -> None:
        if self.open_until is None:
            return
        with self.lock:
            self.open_until = None
        logger.warning("Rate-limit store answers again; limits are on")

    def reset(self) -> None:
        """Close the breaker without asking the cache (tests start each from a closed one)."""
        self.open_until = None


breaker = Breaker()


def _guarded(ask, fallback):
    """Return ASK()'s answer, or FALLBACK when the cache fails now or failed a moment ago."""
    if not breaker.allows():
        # Said once, when the breaker opened; one line per request would flood the log.
        logger.debug("Rate-limit store skipped after a recent failure; limits are off for this request")
        return fallback
    try:
        answer = ask()
    except Exception:  # noqa: BLE001 - any cache outage: fail open, documented in README
        breaker.failed()
        return fallback
    breaker.succeeded()
    return answer


def gate(
    *,
    ip: str,
    credential: str,
    endpoint: Endpoint,
    now: float | None = None,
    expect: tuple[str, str] | None = None,
    tenant_id: int | None = None,
    usage: usage_counting.Hit | None = None,
) -> GateResult:
    """Check the IP block and count one request of CREDENTIAL (of TENANT_ID's) on ENDPOINT.

    With EXPECT (the versions a cached credential was verified under), the request is counted only
    if they are still current; otherwise nothing is counted and the current versions are returned.
    With TENANT_ID, ENDPOINT's budget per tenant, if it has one, is checked and counted too.
    """
    now = time.time() if now is None else now
    return _guarded(
        lambda: get_limiter().gate(
            ip=ip,
            credential=credential,
            bucket=bucket_of(endpoint),
            windows=windows_for(endpoint),
            now=now,
            expect=expect,
            tenant=tenant_rate_key(tenant_id) if tenant_id is not None else None,
            tenant_windows=tenant_windows_for(endpoint),
            usage=usage,
        ),
        GateResult(available=False),
    )


def peek(ip: str, credential: str) -> tuple[int, tuple[str, str] | None]:
    """Return how long IP stays blocked and CREDENTIAL's versions (None without Redis), in one trip."""
    return _guarded(lambda: get_limiter().peek(ip=ip, credential=credential), (0, None))


def blocked_for(ip: str) -> int:
    """Return the seconds IP stays blocked (0: not blocked); 0 when the store is unreachable."""
    return _guarded(lambda: get_limiter().blocked_for(ip=ip), 0)


def record_failure(
    ip: str,
    now: float | None = None,
    *,
    tenants: tuple[int, ...] = (),
    kind: str = "",
    usage: usage_counting.Hit | None = None,
) -> int:
    """Count one failed request of IP; return the block it earned in seconds (0: none).

    TENANTS are those whose credential the request named and KIND its error code, kept with a
    block for the console (accessgov.core.lockouts). USAGE, the refused call of a credential that
    was found, is counted in that credential's usage in the same round trip.
    """
    now = time.time() if now is None else now
    return _guarded(
        lambda: get_limiter().record_failure(ip=ip, now=now, tenants=tenants, kind=kind, usage=usage), 0
    )


def bump_versions(*credentials: str, everything: bool = False) -> None:
    """Tell every app server that these credentials (or, with EVERYTHING, all) changed."""
    limiter = get_limiter()
    try:
        # Asked even while the breaker is open: a lost bump is what bounds staleness by
        # ACCESSGOV_CREDENTIAL_CACHE_SECONDS, so it is worth one bounded wait after a change.
        if everything:
            limiter.bump(None)
        for credential in credentials:
            limiter.bump(credential)
    except Exception:  # noqa: BLE001
        logger.exception(
            "Could not publish a credential change; other servers see it within the cache's lifetime"
        )
