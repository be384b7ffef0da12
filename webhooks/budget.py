"""The budget of governance-event deliveries per tenant, and deferring what exceeds it.

`POST Notify` has its own budget per tenant at the API (one call queues one delivery per
subscribed destination), test events and redeliveries have the console's manual-send rate; the
governance events (ACCESSGOV_TENANT_WEBHOOK_RATE) are counted here, by the worker, as attempts in
fixed windows aligned to the clock (a 3,600 s window starts on the hour), deliveries being sent
included. A tenant whose budget is used up keeps its governance deliveries: they are deferred to
the start of the window where it has room again, with no attempt counted, and go out then.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q

from webhooks.events import NOTIFY, TEST
from webhooks.models import WebhookAttempt, WebhookDelivery

# Deliveries outside the budget (each is bounded by a budget of its own elsewhere).
UNBUDGETED = (NOTIFY, TEST)
GOVERNANCE = ~Q(event_type__in=UNBUDGETED)


@dataclass(frozen=True)
class Room:
    """What a tenant may still send of governance events now, and until when it must wait if none."""

    remaining: int | float  # math.inf when no budget is configured
    free_at: datetime | None = None  # when every exhausted window has reset; None with room left


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = now.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / seconds) * seconds, tz=UTC)


def room_of(tenant_ids: list[int], *, now: datetime) -> dict[int, Room]:
    """Return the governance-event budget left to each of TENANT_IDS now (one query per window, one more)."""
    windows = settings.ACCESSGOV_TENANT_WEBHOOK_RATE
    if not windows or not tenant_ids:
        return {tenant_id: Room(remaining=math.inf) for tenant_id in tenant_ids}
    # Deliveries a worker holds are being sent: they count before their attempt is recorded.
    in_flight = dict(
        WebhookDelivery.objects.filter(GOVERNANCE, tenant_id__in=tenant_ids, lease_expires_at__gt=now)
        .values_list("tenant_id")
        .annotate(n=Count("pk"))
    )
    remaining = {tenant_id: math.inf for tenant_id in tenant_ids}
    free_at: dict[int, datetime] = {}
    for limit, seconds in windows:
        start = _window_start(now, seconds)
        used = dict(
            WebhookAttempt.objects.filter(tenant_id__in=tenant_ids, started_at__gte=start)
            .exclude(delivery__event_type__in=UNBUDGETED)
            .values_list("tenant_id")
            .annotate(n=Count("pk"))
        )
        for tenant_id in tenant_ids:
            left = limit - used.get(tenant_id, 0) - in_flight.get(tenant_id, 0)
            remaining[tenant_id] = min(remaining[tenant_id], left)
            if left <= 0:
                end = start + timedelta(seconds=seconds)
                free_at[tenant_id] = max(free_at.get(tenant_id, end), end)
    return {
        tenant_id: Room(remaining=max(left, 0), free_at=free_at.get(tenant_id) if left <= 0 else None)
        for tenant_id, left in remaining.items()
    }


def defer_governance(due, *, tenant_id: int, until: datetime) -> int:
    """Move TENANT_ID's governance deliveries among DUE to UNTIL, counting no attempt; return how many."""
    return due.filter(GOVERNANCE, tenant_id=tenant_id).update(next_attempt_at=until)
