"""How many more deliveries each destination may be sent right now: concurrency and rate limits.

A destination takes at most ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY deliveries in flight at once
(claimed, lease held, outcome not yet recorded) and at most ACCESSGOV_WEBHOOKS_MAX_PER_SECOND
claimed in any one second; a destination's own `max_concurrency` / `max_per_second` override
either. The claim skips a destination with no room left, so a burst reaches a receiver at a pace it
can take and a slow receiver holds only its own few deliveries, never the workers' other work.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q

from webhooks.models import DeliveryState, WebhookDelivery

DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_MAX_PER_SECOND = 20
RATE_WINDOW = timedelta(seconds=1)


def default_concurrency() -> int:
    return int(getattr(settings, "ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY))


def default_per_second() -> int:
    return int(getattr(settings, "ACCESSGOV_WEBHOOKS_MAX_PER_SECOND", DEFAULT_MAX_PER_SECOND))


@dataclass(frozen=True)
class Usage:
    """What one destination is doing now: deliveries in flight, and claimed in the last second."""

    in_flight: int = 0
    recent: int = 0


def room(*, usage: Usage, max_concurrency: int | None, max_per_second: int | None) -> int:
    """Return how many more deliveries a destination with these limits may be claimed now."""
    concurrency = max_concurrency or default_concurrency()
    per_second = max_per_second or default_per_second()
    return max(0, min(concurrency - usage.in_flight, per_second - usage.recent))


def in_flight_window() -> timedelta:
    """Return how long after its claim a delivery may still be in flight: the send timeout, and a margin.

    A claim older than that whose lease still holds belongs to a worker that died; it is not
    sending, so it does not count against the destination's concurrency.
    """
    return timedelta(seconds=float(getattr(settings, "ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT", 10.0)) + 5)


def usage_by_destination(now) -> dict[int, Usage]:
    """Return the usage of every destination with a claim young enough to be in flight (others use none)."""
    # Only the last few seconds of claims are read (the claimed_at index), so this stays cheap
    # however long the queue: every thread asks it every round.
    rows = (
        WebhookDelivery.objects.filter(claimed_at__gt=now - max(in_flight_window(), RATE_WINDOW))
        .values("destination_id")
        .annotate(
            in_flight=Count("pk", filter=Q(state=DeliveryState.PENDING, lease_expires_at__gt=now)),
            recent=Count("pk", filter=Q(claimed_at__gt=now - RATE_WINDOW)),
        )
        .order_by()
    )
    return {row["destination_id"]: Usage(row["in_flight"], row["recent"]) for row in rows}
