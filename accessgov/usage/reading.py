"""What the console and GET /api/v1/Usage show: calls per day, per endpoint and outcome, addresses."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Sum
from django.utils import timezone

from accessgov.core import catalogue
from accessgov.usage import rollup
from accessgov.usage.models import ALLOWED, CredentialAddress, CredentialUsage, outcome_label

DAYS = 30
ADDRESSES_SHOWN = 5


@dataclass(frozen=True)
class Line:
    """Calls of one endpoint with one outcome over the DAYS shown."""

    endpoint: str
    permission: str
    outcome: str
    calls: int
    last_day: date

    @property
    def label(self) -> str:
        return outcome_label(self.outcome)

    @property
    def allowed(self) -> bool:
        return self.outcome == ALLOWED


@dataclass(frozen=True)
class Day:
    day: date
    allowed: int = 0
    refused: int = 0
    limited: int = 0

    @property
    def total(self) -> int:
        return self.allowed + self.refused + self.limited


@dataclass
class Report:
    """One credential's last DAYS: a day per entry (oldest first), lines, addresses."""

    days: list[Day]
    lines: list[Line]
    addresses: list[CredentialAddress]

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)

    @property
    def last_endpoint(self) -> str:
        return self.addresses[0].last_endpoint if self.addresses else ""


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def window(until: date | None = None) -> list[date]:
    """Return the DAYS days shown, oldest first, ending UNTIL (today, UTC)."""
    until = until or today()
    return [until - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def _bucket(outcome: str) -> str:
    if outcome == ALLOWED:
        return "allowed"
    if outcome.endswith("rate_limited"):
        return "limited"
    return "refused"


def report(
    credential_type: str, credential_id: int, tenant_id: int, *, now: datetime | None = None
) -> Report:
    """Return the usage of one credential over the last DAYS days (brought up to date first)."""
    rollup.refresh([(credential_type, credential_id, tenant_id)], now=now)
    days = window((now or timezone.now()).astimezone(UTC).date())
    rows = CredentialUsage.objects.filter(
        credential_type=credential_type, credential_id=credential_id, day__gte=days[0]
    ).values_list("day", "endpoint", "permission", "outcome", "calls")
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    lines: dict[tuple[str, str], list] = {}
    for day, endpoint, permission, outcome, calls in rows:
        per_day[day][_bucket(outcome)] += calls
        line = lines.setdefault((endpoint, outcome), [permission, 0, day])
        line[1] += calls
        line[2] = max(line[2], day)
    addresses = list(
        CredentialAddress.objects.filter(
            credential_type=credential_type, credential_id=credential_id
        ).order_by("-last_seen")[:ADDRESSES_SHOWN]
    )
    return Report(
        days=[Day(day, **per_day[day]) for day in days],
        lines=sorted(
            (
                Line(endpoint, p, outcome, calls, last)
                for (endpoint, outcome), (p, calls, last) in lines.items()
            ),
            key=lambda line: (-line.calls, line.endpoint, line.outcome),
        ),
        addresses=addresses,
    )


def sparklines(credential_type: str, ids: list[int], *, now: datetime | None = None) -> dict[int, list[int]]:
    """Return the calls per day (oldest first, DAYS of them) of each credential of IDS.

    For a list page, and read-only: one query, and one Redis round trip for the days Redis still
    holds (a day's number is the larger of Redis's and the last rollup's, as the rollup keeps it).
    """
    days = window((now or timezone.now()).astimezone(UTC).date())
    index = {day: n for n, day in enumerate(days)}
    lines = {pk: [0] * DAYS for pk in ids}
    live = rollup.live_totals([(credential_type, pk) for pk in lines], now=now)
    rows = (
        CredentialUsage.objects.filter(
            credential_type=credential_type, credential_id__in=list(lines), day__gte=days[0]
        )
        .values("credential_id", "day")
        .annotate(calls=Sum("calls"))
        .order_by()
    )
    for row in rows:
        lines[row["credential_id"]][index[row["day"]]] = row["calls"]
    for (_, pk), per_day in live.items():
        for day, calls in per_day.items():
            if day in index:
                lines[pk][index[day]] = max(lines[pk][index[day]], calls)
    return lines


def unused_permissions(
    credential_type: str, credential_id: int, granted, *, since: date | None = None
) -> list[str]:
    """Return the permissions of GRANTED that no allowed call used since SINCE (DAYS days ago).

    Call after report() (which brings the counts up to date) or on its own from the database.
    """
    since = since or window()[0]
    used = set(
        CredentialUsage.objects.filter(
            credential_type=credential_type, credential_id=credential_id, day__gte=since, outcome=ALLOWED
        )
        .values_list("permission", flat=True)
        .distinct()
    )
    # A widening permission with no endpoint of its own (AuditEvents.ReadAddresses) is used by
    # every call of the permission it widens: that call's answer showed what it adds.
    known = catalogue.current()
    own_endpoints = {endpoint.permission for endpoint in known.endpoints}
    for permission in known.all_permissions:
        if permission.widens in used and permission.name not in own_endpoints:
            used.add(permission.name)
    return sorted(set(granted) - used)
