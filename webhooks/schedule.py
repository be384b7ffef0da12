"""What a receiver's answer makes accessgov do next: pure functions, no database, time passed in.

The retry schedule follows the Standard Webhooks recommendation of retrying for several days:
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 12 h, the last attempt about 66 hours (under
three days) after the first. Each delay gets up to ACCESSGOV_WEBHOOKS_RETRY_JITTER (default 10 %)
added at random, so receivers that failed together are not all retried in the same second; the
jitter only lengthens a delay, so an attempt is never earlier than the schedule says.

`410 Gone` means "stop": the destination is disabled. `429` and `503` may carry `Retry-After`
(seconds, or an HTTP date): the next attempt is no sooner than asked (and no sooner than the
schedule), with what is asked capped at ACCESSGOV_WEBHOOKS_RETRY_AFTER_CAP seconds (default 12 h)
so a receiver cannot park a delivery for ever.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    *(timedelta(hours=12),) * 4,
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DEFAULT_JITTER = 0.1
DEFAULT_RETRY_AFTER_CAP = 12 * 3600
GONE = 410
HONOURS_RETRY_AFTER = frozenset({429, 503})

_random = random.SystemRandom()


def describe_delay(delay: timedelta) -> str:
    """Return DELAY the way the console and the docs write it: "5 s", "30 min", "12 h"."""
    seconds = int(delay.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    if seconds % 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 3600} h"


def describe_schedule() -> str:
    """Return the whole retry schedule as one line for the destination page."""
    first = [describe_delay(delay) for delay in RETRY_DELAYS if delay < timedelta(hours=12)]
    span = sum(RETRY_DELAYS, timedelta())
    return (
        f"{', '.join(first)}, then every 12 h: {MAX_ATTEMPTS} attempts over about "
        f"{span.total_seconds() / 3600:.0f} hours, each delay plus up to {jitter_fraction():.0%} at random"
    )


def jitter_fraction() -> float:
    return float(getattr(settings, "ACCESSGOV_WEBHOOKS_RETRY_JITTER", DEFAULT_JITTER))


def retry_after_cap() -> timedelta:
    return timedelta(
        seconds=int(getattr(settings, "ACCESSGOV_WEBHOOKS_RETRY_AFTER_CAP", DEFAULT_RETRY_AFTER_CAP))
    )


def parse_retry_after(value: str, *, now: datetime) -> timedelta | None:
    """Return how long a `Retry-After` VALUE asks to wait from NOW, or None if it is not one.

    Delay-seconds (a non-negative integer) or an HTTP date; a date in the past asks for no wait.
    """
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=min(int(value), 10**9))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


@dataclass(frozen=True)
class Verdict:
    """What one attempt's outcome decides: deliver, retry at a time (and why), give up, or stop."""

    delivered: bool = False
    gone: bool = False
    retry_at: datetime | None = None
    reason: str = ""


def judge(
    *,
    ok: bool,
    status_code: int | None,
    retry_after: str,
    attempts: int,
    max_attempts: int,
    now: datetime,
    retryable: bool = True,
    rng: random.Random | None = None,
) -> Verdict:
    """Return what to do after attempt number ATTEMPTS (of MAX_ATTEMPTS) ended as described."""
    if ok:
        return Verdict(delivered=True)
    if status_code == GONE and retryable:
        return Verdict(gone=True, reason="The receiver answered 410 Gone: the destination is disabled.")
    if not retryable or attempts >= max_attempts:
        return Verdict(reason="")
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    delay += timedelta(seconds=delay.total_seconds() * jitter_fraction() * (rng or _random).random())
    reason = f"Retry {attempts} of {max_attempts - 1} on the schedule ({describe_delay(RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1])})."
    asked = parse_retry_after(retry_after, now=now) if status_code in HONOURS_RETRY_AFTER else None
    if asked is not None:
        granted = min(asked, retry_after_cap())
        capped = " (capped)" if granted < asked else ""
        if granted > delay:
            delay = granted
            reason = f"Retry-After asked {int(asked.total_seconds())} s{capped}."
        else:
            reason = f"Retry-After asked {int(asked.total_seconds())} s; the schedule waits longer."
    return Verdict(retry_at=now + delay, reason=reason)
