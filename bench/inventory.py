"""Benchmark: the staff credential inventory with 100 tenants and 50,000 credentials.

    .venv/bin/python bench/inventory.py [--tenants 100] [--credentials 50000]

The baseline is the same pages in the same database before it grows: 10 tenants and 1,000
credentials of the same mix (80% third-party tokens, 10% API keys, 6% webhook destinations, 4%
trusted-application authorizations), fetched the same way (Django's test client, in this process,
signed in as verified staff). Then the database grows to TENANTS tenants and CREDENTIALS
credentials and the pages are fetched again. A page's query count must not grow with the rows (the
run fails if it does); the aim, a page in well under a second on PostgreSQL, is reported met or not.
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/accessgov_bench_inventory) names a server
and a database name; the benchmark creates and drops test_<name> there.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/accessgov_bench_inventory"
ROUNDS = 7
AIM_MS = 500
PAGES = {
    "Inventory, first page": "/staff/credentials/",
    "Inventory, expires within 30 days": "/staff/credentials/?filter=expiring",
    "Inventory, search": "/staff/credentials/?q=Integration+4",
    "Inventory, page 1000": "/staff/credentials/?page=1000",
}


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessgov.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    import django

    django.setup()


def grow(first_tenant: int, tenants: int, credentials: int, applications: list) -> None:
    """Add TENANTS tenants holding CREDENTIALS credentials between them, in bulk."""
    from django.utils import timezone

    from accessgov.policy.models import ApiKey, ApiUser
    from accessgov.trusted.models import TrustedApplicationAuthorization
    from tenants.models import Tenant
    from tokens.models import ThirdPartyToken
    from webhooks.models import WebhookDestination

    now = timezone.now()
    made = Tenant.objects.bulk_create(
        [
            Tenant(name=f"Tenant {n:04d}", slug=f"tenant-{n:04d}", partner_id=f"P-BENCH{n:07d}")
            for n in range(first_tenant, first_tenant + tenants)
        ]
    )
    ApiUser.objects.bulk_create([ApiUser(tenant=t, username=f"api-{t.partner_id}") for t in made])
    share = {"tokens": 0.80, "keys": 0.10, "destinations": 0.06}
    per_tenant = {kind: max(1, int(credentials * part) // tenants) for kind, part in share.items()}
    authorizations = max(0, credentials - sum(per_tenant.values()) * tenants) // tenants
    tokens, keys, destinations, grants = [], [], [], []
    for t in made:
        for i in range(per_tenant["tokens"]):
            tokens.append(
                ThirdPartyToken(
                    tenant=t,
                    token_id=f"agt_{t.pk:05d}{i:07d}",
                    name=f"Integration {i}",
                    digest="0" * 64,
                    pepper_id="1",
                    starts_at=now - timedelta(days=200),
                    expires_at=(now + timedelta(days=i % 400)) if i % 3 else None,
                    allowed_ips=["192.0.2.0/24"] if i % 2 else [],
                    permissions=["Me.Read", "Organizations.Read"],
                    created_at=now - timedelta(days=200),
                    updated_at=now,
                    secret_set_at=now,
                    last_used_at=(now - timedelta(days=i % 180)) if i % 4 else None,
                    revoked_at=now if i % 10 == 0 else None,
                )
            )
        for i in range(per_tenant["keys"]):
            keys.append(
                ApiKey(
                    tenant=t,
                    name=f"Key {i}",
                    prefix=f"agk_{t.pk:05d}{i:07d}",
                    digest="0" * 64,
                    pepper_id="1",
                    created_at=now,
                )
            )
        for i in range(per_tenant["destinations"]):
            destinations.append(
                WebhookDestination(
                    tenant=t,
                    url=f"https://hooks.example.com/{t.pk}/{i}",
                    host="hooks.example.com",
                    signing_secret="whsec_bench",
                )
            )
        for application in applications[:authorizations]:
            grants.append(
                TrustedApplicationAuthorization(
                    tenant=t, application=application, authorized_at=now, permissions=["Me.Read"]
                )
            )
    ThirdPartyToken.objects.bulk_create(tokens, batch_size=5000)
    ApiKey.objects.bulk_create(keys, batch_size=5000)
    WebhookDestination.objects.bulk_create(destinations, batch_size=5000)
    TrustedApplicationAuthorization.objects.bulk_create(grants, batch_size=5000)


def measure(client, url: str) -> tuple[float, int]:
    """Return the median milliseconds and the query count of GET URL (which must answer 200)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries = [], 0
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, secure=True)
            timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        queries = len(captured)
    return statistics.median(timings[1:]), queries


def measure_all(client) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {label: measure(client, url) for label, url in PAGES.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--credentials", type=int, default=50_000)
    args = parser.parse_args()
    _setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tests.conftest import verified_client_for
    from tests.factories import PolicyVersionFactory, TrustedApplicationFactory, UserFactory

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    grown_queries = False
    try:
        PolicyVersionFactory()
        applications = [TrustedApplicationFactory() for _ in range(20)]
        client: Client = verified_client_for(UserFactory(username="support", is_staff=True))
        grow(0, 10, 1_000, applications)
        base = measure_all(client)
        grow(10, args.tenants - 10, args.credentials - 1_000, applications)
        big = measure_all(client)
        print(
            f"{connection.vendor}; {args.tenants} tenants, {args.credentials:,} credentials; baseline: "
            f"10 tenants, 1,000 credentials in the same database; median of {ROUNDS - 1} fetches"
        )
        slowest = 0.0
        for label in PAGES:
            (base_ms, base_q), (big_ms, big_q) = base[label], big[label]
            grown_queries = grown_queries or big_q > base_q
            slowest = max(slowest, big_ms)
            print(f"row: {label}: ms per page | {base_ms:.2f} | {big_ms:.2f} | {big_ms / base_ms:.2f}")
            print(f"row: {label}: queries per page | {base_q} | {big_q} | {big_q / base_q:.2f}")
        verdict = "met" if slowest < AIM_MS else "not met"
        print(
            f"aim: every inventory page under {AIM_MS} ms with {args.credentials:,} credentials: {verdict} (slowest {slowest:.0f} ms)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    if grown_queries:
        print(
            "An inventory page needs more queries with more credentials: its query count grows with the rows."
        )
    return 1 if grown_queries else 0


if __name__ == "__main__":
    sys.exit(main())
