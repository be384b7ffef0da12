"""Copying the live counts (Redis, or this process's memory) into the database.

`rollup` (cron: `manage.py rollup_usage`) copies every credential counted since the last run;
`refresh` copies just the credentials a page or an API answer is about to show, so what it shows
is current. Redis holds each day's counts as totals, and the copy keeps the larger of the two
numbers, so copying twice changes nothing and a run killed halfway is finished by the next one.
"""

import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accessgov.usage import counting
from accessgov.usage.models import CredentialAddress, CredentialUsage

logger = logging.getLogger(__name__)

# Atomically: move the credentials counted since the last run into the set this run works through
# (a run killed halfway left its own there; they are done again).
CLAIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[2], KEYS[1])
  redis.call('DEL', KEYS[1])
end
return redis.call('SMEMBERS', KEYS[2])
"""


@dataclass
class Run:
    credentials: int = 0
    rows: int = 0
    addresses: int = 0
    pruned: int = 0

    def log_line(self) -> str:
        return (
            f"rollup_usage credentials={self.credentials} rows={self.rows} "
            f"addresses={self.addresses} pruned={self.pruned}"
        )

    def describe(self) -> str:
        return (
            f"Usage rolled up: {self.credentials} credential(s), {self.rows} day count(s), "
            f"{self.addresses} address(es); {self.pruned} old row(s) deleted."
        )


def _client():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(None, write=True)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _live_days(today: date) -> list[date]:
    return [today - timedelta(days=n) for n in range(counting.LIVE_DAYS)]


# Credentials read from Redis per round trip: bounds the memory of a rollup whatever their number.
BATCH = 500


def _copy(client, subjects: list[tuple[str, int, int]], today: date) -> Run:
    """Copy the Redis counts and addresses of SUBJECTS ((type, id, tenant)) into the database."""
    run = Run()
    for start in range(0, len(subjects), BATCH):
        batch = _copy_batch(client, subjects[start : start + BATCH], today)
        run.credentials += batch.credentials
        run.rows += batch.rows
        run.addresses += batch.addresses
    return run


def _copy_batch(client, subjects: list[tuple[str, int, int]], today: date) -> Run:
    run = Run()
    days = _live_days(today)
    pipe = client.pipeline(transaction=False)
    for kind, pk, _tenant in subjects:
        for day in days:
            pipe.hgetall(counting.day_key(kind, pk, day))
        pipe.hgetall(counting.address_key(kind, pk))
    replies = iter(pipe.execute())
    for kind, pk, tenant_id in subjects:
        counts = {day: next(replies) for day in days}
        addresses = next(replies)
        if not any(counts.values()) and not addresses:
            continue  # nothing in Redis (never counted, or gone with its days): nothing to write
        try:
            with transaction.atomic():
                for day, fields in counts.items():
                    run.rows += _store_day(kind, pk, tenant_id, day, fields)
                run.addresses += _store_addresses(kind, pk, tenant_id, addresses)
        except IntegrityError:
            # Its tenant was deleted since: nothing to keep. Anything else stops the run (and the
            # next run starts again with this credential).
            logger.warning("Usage of %s %s dropped: its tenant %s is gone", kind, pk, tenant_id)
            continue
        run.credentials += 1
    return run


def _store_day(kind: str, pk: int, tenant_id: int, day: date, fields: dict) -> int:
    if not fields:
        return 0
    # Locked (PostgreSQL): a page's refresh and the rollup copying the same day at once each keep
    # the larger number of the other's, never lower it.
    existing = {
        (row.endpoint, row.outcome): row.calls
        for row in CredentialUsage.objects.select_for_update().filter(
            credential_type=kind, credential_id=pk, day=day
        )
    }
    # One row per endpoint and outcome: an endpoint whose permission changed in the catalogue
    # during the day has two fields, added up under the permission that counted more.
    totals: dict[tuple[str, str], list] = {}
    for name, value in fields.items():
        outcome, permission, endpoint = counting.parse_field(_text(name))
        total = totals.setdefault((endpoint, outcome), [0, permission, 0])
        total[0] += int(value)
        if int(value) > total[2]:
            total[1], total[2] = permission, int(value)
    rows = []
    for (endpoint, outcome), (value, permission, _) in totals.items():
        calls = max(value, existing.get((endpoint, outcome), 0))
        rows.append(
            CredentialUsage(
                tenant_id=tenant_id,
                credential_type=kind,
                credential_id=pk,
                day=day,
                endpoint=endpoint,
                permission=permission,
                outcome=outcome,
                calls=calls,
            )
        )
    CredentialUsage.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["credential_type", "credential_id", "day", "endpoint", "outcome"],
        update_fields=["calls"],
    )
    return len(rows)


def _when(milliseconds) -> datetime:
    return datetime.fromtimestamp(int(milliseconds) / 1000, UTC)


def _store_addresses(kind: str, pk: int, tenant_id: int, addresses: dict) -> int:
    if not addresses:
        return 0
    existing = {
        row.address: row
        for row in CredentialAddress.objects.select_for_update().filter(
            credential_type=kind, credential_id=pk
        )
    }
    rows = []
    for name, value in addresses.items():
        address = _text(name)
        first, last, endpoint = _text(value).split("|", 2)
        first_seen, last_seen = _when(first), _when(last)
        old = existing.get(address)
        if old is not None:
            first_seen = min(first_seen, old.first_seen)
            if old.last_seen > last_seen:
                last_seen, endpoint = old.last_seen, old.last_endpoint
        rows.append(
            CredentialAddress(
                tenant_id=tenant_id,
                credential_type=kind,
                credential_id=pk,
                address=address,
                first_seen=first_seen,
                last_seen=last_seen,
                last_endpoint=endpoint,
            )
        )
    CredentialAddress.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["credential_type", "credential_id", "address"],
        update_fields=["first_seen", "last_seen", "last_endpoint"],
    )
    return len(rows)


def _members(values) -> list[tuple[str, int, int]]:
    subjects = []
    for value in values:
        kind, pk, tenant_id = _text(value).split(":")
        subjects.append((kind, int(pk), int(tenant_id)))
    return sorted(set(subjects))


def rollup(*, now: datetime | None = None) -> Run:
    """Copy every credential counted since the last run into the database; delete old rows."""
    now = now or timezone.now()
    run = Run()
    client = _client()
    if client is None:
        counting.flush()  # this process's own counts (the server's are written by the server)
    else:
        members = _members(client.eval(CLAIM_SCRIPT, 2, counting.dirty_key(), counting.rolling_key()))
        run = _copy(client, members, now.astimezone(UTC).date())
        client.delete(counting.rolling_key())
    oldest = now.astimezone(UTC).date() - timedelta(days=settings.ACCESSGOV_USAGE_KEEP_DAYS)
    run.pruned = CredentialUsage.objects.filter(day__lt=oldest).delete()[0]
    run.pruned += CredentialAddress.objects.filter(
        last_seen__lt=now - timedelta(days=settings.ACCESSGOV_USAGE_KEEP_DAYS)
    ).delete()[0]
    return run


def refresh(subjects: list[tuple[str, int, int]], *, now: datetime | None = None) -> bool:
    """Bring the counts of SUBJECTS ((type, id, tenant)) up to date in the database before a read.

    Return whether they are current. Bounded like every Redis call in a request
    (ACCESSGOV_REDIS_TIMEOUT): when Redis does not answer, the page shows what the last rollup
    copied (and False says so).
    """
    client = _client()
    try:
        if client is None:
            counting.flush()
        elif subjects:
            _copy(client, sorted(set(subjects)), (now or timezone.now()).astimezone(UTC).date())
    except Exception:  # noqa: BLE001 - an outage: show the last rollup's numbers
        logger.warning("Usage counts could not be brought up to date; showing the last rollup", exc_info=True)
        return False
    return True


def live_totals(
    subjects: list[tuple[str, int]], *, now: datetime | None = None
) -> dict[tuple[str, int], dict]:
    """Return the calls per day Redis holds for SUBJECTS ((type, id)), in one round trip, writing nothing.

    For list pages: {(type, id): {day: calls}} for the days Redis keeps. Empty without Redis (the
    process's own counts are written first instead) or when Redis does not answer in time.
    """
    client = _client()
    if client is None:
        counting.flush()
        return {}
    if not subjects:
        return {}
    days = _live_days((now or timezone.now()).astimezone(UTC).date())
    try:
        pipe = client.pipeline(transaction=False)
        for kind, pk in subjects:
            for day in days:
                pipe.hvals(counting.day_key(kind, pk, day))
        replies = iter(pipe.execute())
    except Exception:  # noqa: BLE001 - a Redis outage: the list shows the last rollup
        logger.warning("Usage counts could not be read from Redis; showing the last rollup", exc_info=True)
        return {}
    return {(kind, pk): {day: sum(int(v) for v in next(replies)) for day in days} for kind, pk in subjects}


LIVE_MS = counting.LIVE_DAYS * 86_400_000
# App servers' clocks differ a little: a call stamped by a server slightly behind still counts as new.
CLOCK_SKEW_MS = 5_000


def refresh_tenant(tenant_id: int, *, now: datetime | None = None) -> bool:
    """Bring TENANT_ID's credentials called since its last refresh up to date (GET /api/v1/Usage).

    Only those called since the previous refresh are copied (the tenant's sorted set by last call),
    so reading the usage again costs nothing more. Return whether the numbers are current.
    """
    client = _client()
    if client is None:
        return refresh([], now=now)
    copied = counting.tenant_copied_key(tenant_id)
    try:
        now_ms = int((now or timezone.now()).timestamp() * 1000)
        # Taken before the read: a call counted while this copy runs is copied again next time.
        since = client.set(copied, now_ms, get=True, px=LIVE_MS)
        members = client.zrangebyscore(
            counting.tenant_key(tenant_id), int(since or 0) - CLOCK_SKEW_MS, "+inf"
        )
        _copy(client, _members(members), (now or timezone.now()).astimezone(UTC).date())
    except Exception:  # noqa: BLE001
        logger.warning("Usage counts could not be read from Redis; showing the last rollup", exc_info=True)
        # The next refresh copies everything again (Redis failing already: the rollup copies it).
        with contextlib.suppress(Exception):
            client.delete(copied)
        return False
    return True
