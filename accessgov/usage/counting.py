"""Counting one call of a credential: with Redis inside the request's one round trip, else in memory.

With Redis, accessgov.api.limits runs `LUA` inside the script it already runs for the request (the
gate for allowed and rate-limited calls, the failure script for refusals), with the keys and
arguments `redis_keys` and `redis_args` give: a hash per credential and day (UTC) of counts by
outcome, permission and endpoint, a hash of its last addresses (first seen, last seen, last
endpoint; at most ADDRESSES_KEPT), a set of the credentials counted since the last rollup, and one
of each tenant's credentials counted in the last LIVE_DAYS.
Nothing is read back: the request pays a few commands inside a script it runs anyway.

Without Redis (the embedded default: one process), calls are added up in this process's memory
and written to the database by `flush`: before any read (accessgov.usage.reading), at most every
ACCESSGOV_USAGE_FLUSH_SECONDS on a call, and at exit.
"""

import atexit
import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage

logger = logging.getLogger(__name__)

# A credential's last addresses kept in Redis between rollups (the console shows 5).
ADDRESSES_KEPT = 16
# Days a day's counts stay in Redis: the rollup copies them well before.
LIVE_DAYS = 3
FIELD_SEPARATOR = "\t"

_TYPES = {
    "tokens.thirdpartytoken": CredentialType.TOKEN,
    "accessgov.apikey": CredentialType.API_KEY,
    "accessgov.trustedapplicationauthorization": CredentialType.AUTHORIZATION,
}


@dataclass(frozen=True)
class Hit:
    """One call of a tenant's credential: whose, to which endpoint, from where, and (if refused) why."""

    credential_type: str
    credential_id: int
    tenant_id: int
    endpoint: str
    permission: str
    address: str  # empty: not recorded (a call whose secret did not match)
    outcome: str = ""  # empty: decided by the rate limits (allowed or rate-limited)

    @property
    def member(self) -> str:
        return f"{self.credential_type}:{self.credential_id}:{self.tenant_id}"


def enabled() -> bool:
    return bool(getattr(settings, "ACCESSGOV_USAGE_COUNTING", True))


def hit_for(row, *, endpoint, address: str, outcome: str = "") -> Hit | None:
    """Return the Hit of a call of ROW (a token, API key or authorization) to ENDPOINT, or None.

    None for what is not counted: operator keys (no tenant), or counting switched off.
    """
    if row is None or not enabled():
        return None
    kind = _TYPES.get(row._meta.label_lower)
    tenant_id = getattr(row, "tenant_id", None)
    if kind is None or tenant_id is None:
        return None
    return Hit(kind, row.pk, tenant_id, endpoint.key, endpoint.permission, address, outcome)


def prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:usage:"


def day_key(credential_type: str, credential_id: int, day: date) -> str:
    return f"{prefix()}d:{day.isoformat()}:{credential_type}:{credential_id}"


def address_key(credential_type: str, credential_id: int) -> str:
    return f"{prefix()}a:{credential_type}:{credential_id}"


def dirty_key() -> str:
    return f"{prefix()}dirty"


def tenant_key(tenant_id: int) -> str:
    """Return the sorted set of the tenant's credentials by last call, the last LIVE_DAYS (GET /api/v1/Usage)."""
    return f"{prefix()}t:{tenant_id}"


def tenant_copied_key(tenant_id: int) -> str:
    """Return the key holding when GET /api/v1/Usage last copied the tenant's credentials (ms)."""
    return f"{prefix()}tc:{tenant_id}"


def rolling_key() -> str:
    return f"{prefix()}rolling"


def field(outcome: str, permission: str, endpoint: str) -> str:
    return FIELD_SEPARATOR.join((outcome, permission, endpoint))


def parse_field(value: str) -> tuple[str, str, str]:
    outcome, permission, endpoint = value.split(FIELD_SEPARATOR, 2)
    return outcome, permission, endpoint


# A Lua function the limiter's scripts call as count_usage(first_key, first_arg, outcome): the keys
# KEYS[k]..KEYS[k+3] are redis_keys(), the arguments ARGV[a]..ARGV[a+6] redis_args().
LUA = """
local function count_usage(k, a, outcome)
  local now = ARGV[a + 3]
  local ttl = tonumber(ARGV[a + 4])
  -- Each command is paid on every call: expiries and trims only when something new was added.
  if redis.call('HINCRBY', KEYS[k], outcome .. ARGV[a], 1) == 1 then redis.call('PEXPIRE', KEYS[k], ttl) end
  local address = ARGV[a + 1]
  -- No address for a call whose secret did not match: a stranger must not push the real ones out.
  if address ~= '' then
    local seen = redis.call('HGET', KEYS[k + 1], address)
    local first = now
    if seen then first = string.match(seen, '^(%d+)') or now end
    local added = redis.call('HSET', KEYS[k + 1], address, first .. '|' .. now .. '|' .. ARGV[a + 2])
    if added == 1 and redis.call('HLEN', KEYS[k + 1]) > tonumber(ARGV[a + 5]) then
      local all = redis.call('HGETALL', KEYS[k + 1])
      local oldest, oldest_at = nil, nil
      for i = 1, #all, 2 do
        local last = tonumber(string.match(all[i + 1], '^%d+|(%d+)'))
        if oldest_at == nil or last < oldest_at then oldest, oldest_at = all[i], last end
      end
      redis.call('HDEL', KEYS[k + 1], oldest)
    end
    redis.call('PEXPIRE', KEYS[k + 1], ttl)
  end
  redis.call('SADD', KEYS[k + 2], ARGV[a + 6])
  -- The tenant's credentials by last call, the last LIVE_DAYS only (GET /api/v1/Usage copies
  -- those called since its last copy).
  if redis.call('ZADD', KEYS[k + 3], now, ARGV[a + 6]) == 1 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now - ttl)
  end
  redis.call('PEXPIRE', KEYS[k + 3], ttl)
end
"""


@functools.lru_cache(maxsize=4)
def _day(day_number: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + day_number)


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def redis_keys(hit: Hit, now: float) -> list[str]:
    day = _day(int(now // 86_400))  # the UTC day, without building a datetime per call
    start = prefix()  # the names day_key(), address_key(), dirty_key() and tenant_key() give
    credential = f"{hit.credential_type}:{hit.credential_id}"
    return [
        f"{start}d:{day.isoformat()}:{credential}",
        f"{start}a:{credential}",
        f"{start}dirty",
        f"{start}t:{hit.tenant_id}",
    ]


def redis_args(hit: Hit, now: float) -> list[object]:
    """Return the six arguments of count_usage (and the member, seventh) for HIT at NOW."""
    return [
        FIELD_SEPARATOR + hit.permission + FIELD_SEPARATOR + hit.endpoint,
        hit.address,
        hit.endpoint,
        int(now * 1000),
        LIVE_DAYS * 86_400_000,
        ADDRESSES_KEPT,
        hit.member,
    ]


# The embedded default's counts not yet written: (type, id, tenant, day, endpoint, permission,
# outcome) -> calls, and (type, id, tenant, address) -> [first, last, endpoint] as timestamps.
_lock = threading.Lock()
_calls: dict[tuple, int] = {}
_addresses: dict[tuple, list] = {}
_last_flush = time.monotonic()


def count_in_memory(hit: Hit, outcome: str, now: float) -> None:
    """Count HIT with OUTCOME in this process (the embedded default), writing now and then."""
    global _last_flush
    day = datetime.fromtimestamp(now, UTC).date()
    key = (hit.credential_type, hit.credential_id, hit.tenant_id, day, hit.endpoint, hit.permission, outcome)
    with _lock:
        _calls[key] = _calls.get(key, 0) + 1
        where = (hit.credential_type, hit.credential_id, hit.tenant_id, hit.address)
        seen = _addresses.get(where)
        if not hit.address:
            pass  # a call whose secret did not match: its address is not recorded
        elif seen is None:
            _addresses[where] = [now, now, hit.endpoint]
        else:
            seen[1], seen[2] = now, hit.endpoint
        every = float(getattr(settings, "ACCESSGOV_USAGE_FLUSH_SECONDS", 60))
        due = every > 0 and time.monotonic() - _last_flush >= every
    if due:
        try:
            flush()
        except Exception:  # noqa: BLE001 - never the request's (nor its limits') problem
            logger.exception("Could not write usage counts; they are kept and tried again later")


def flush() -> int:
    """Write this process's counts to the database; return how many rows were written."""
    global _last_flush
    with _lock:
        calls, addresses = dict(_calls), dict(_addresses)
        _calls.clear()
        _addresses.clear()
        _last_flush = time.monotonic()
    if not calls and not addresses:
        return 0
    written = 0
    work = [(_add_calls, key, count) for key, count in calls.items()]
    work += [(_see_address, key, seen) for key, seen in addresses.items()]
    for n, (write, key, value) in enumerate(work):
        try:
            with transaction.atomic():
                write(*key, value)
            written += 1
        except IntegrityError:
            # Its tenant was deleted meanwhile: nothing to keep it for.
            logger.warning("Usage counts of a deleted tenant dropped: %s", key[:3])
        except Exception:
            # Put the rest back: a database that failed now may answer on the next flush.
            _put_back(work[n:])
            raise
    return written


def _put_back(work) -> None:
    with _lock:
        for write, key, value in work:
            if write is _add_calls:
                _calls[key] = _calls.get(key, 0) + value
            else:
                _addresses.setdefault(key, value)


def _add_calls(kind, pk, tenant_id, day, endpoint, permission, outcome, count) -> None:
    rows = CredentialUsage.objects.filter(
        credential_type=kind, credential_id=pk, day=day, endpoint=endpoint, outcome=outcome
    )
    if rows.update(calls=F("calls") + count):
        return
    try:
        with transaction.atomic():
            CredentialUsage.objects.create(
                tenant_id=tenant_id,
                credential_type=kind,
                credential_id=pk,
                day=day,
                endpoint=endpoint,
                permission=permission,
                outcome=outcome,
                calls=count,
            )
    except IntegrityError:
        # Created meanwhile by another process; or its tenant is gone (nothing to add to: raise).
        if not rows.update(calls=F("calls") + count):
            raise


def _see_address(kind, pk, tenant_id, address, seen: list) -> None:
    first, last, endpoint = seen
    first_at, last_at = datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)
    row = CredentialAddress.objects.filter(credential_type=kind, credential_id=pk, address=address).first()
    if row is None:
        CredentialAddress.objects.create(
            tenant_id=tenant_id,
            credential_type=kind,
            credential_id=pk,
            address=address,
            first_seen=first_at,
            last_seen=last_at,
            last_endpoint=endpoint,
        )
    elif last_at >= row.last_seen:
        CredentialAddress.objects.filter(pk=row.pk).update(last_seen=last_at, last_endpoint=endpoint)


def _flush_at_exit() -> None:
    if not getattr(settings, "ACCESSGOV_USAGE_FLUSH_AT_EXIT", True):
        return  # the test settings: their database is gone by then
    try:
        flush()
    except Exception:  # noqa: BLE001 - the process is ending; say so and go
        logger.exception("Could not write the last usage counts at exit")


atexit.register(_flush_at_exit)


def discard() -> None:
    """Forget the counts not yet written (tests start each from none)."""
    with _lock:
        _calls.clear()
        _addresses.clear()
