"""Benchmark: the Settings > API pages with a big tenant beside a small one, time and SQL queries.

    .venv/bin/python bench/console.py [--tokens 10000] [--domains 1000] [--events 100000]

The big tenant has TOKENS tokens, DOMAINS approved webhook domains and EVENTS audit events; the
baseline is a small tenant (10, 10, 100) in the same database, pages fetched the same way (Django's
test client, in this process, signed in as each tenant's administrator). A page's query count must
not grow with the rows: the run fails if any page needs more queries for the big tenant, and prints
the median time of several fetches of each page. DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/accessgov_bench_console) names a server and a database name; the
benchmark creates and drops test_<name> there.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/accessgov_bench_console"
ROUNDS = 7
PAGES = {
    "Manage API": "",
    "Third-Party Tokens list": "tokens/",
    "Tokens list, page 200": "tokens/?page=200",
    "Webhook API (domains)": "webhooks/",
    "Activity": "activity/",
    "Activity, page 2000": "activity/?page=2000",
}


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessgov.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    import django

    django.setup()


def make_tenant(slug: str, *, tokens: int, domains: int, events: int):
    """Create a tenant with API access on, its administrator and the given numbers of rows."""
    from django.utils import timezone

    from accessgov.audit.models import AuditEvent
    from accessgov.policy import actions
    from accessgov.policy.models import PolicyVersion
    from tenants.models import Role
    from tests.factories import MembershipFactory, TenantFactory, ThirdPartyTokenFactory, UserFactory
    from tokens.models import ThirdPartyToken
    from webhooks.models import ApprovedWebhookDomain

    tenant = TenantFactory(name=f"Bench {slug}", slug=slug)
    admin = UserFactory(username=f"{slug}-admin")
    MembershipFactory(user=admin, tenant=tenant, role=Role.ADMINISTRATOR)
    actions.agree_to_policy(tenant=tenant, version=PolicyVersion.objects.current(), by=admin, ip=None)
    template = ThirdPartyTokenFactory.build(tenant=tenant)
    now = timezone.now()
    ThirdPartyToken.objects.bulk_create(
        [
            ThirdPartyToken(
                tenant=tenant,
                token_id=f"agt_{slug[:1]}{index:011d}",
                name=f"Integration {index}",
                digest=template.digest,
                pepper_id=template.pepper_id,
                starts_at=now - timedelta(days=1),
                permissions=["Me.Read", "Organizations.Read"],
                created_at=now - timedelta(seconds=index),
                updated_at=now,
                secret_set_at=now,
                revoked_at=now if index % 5 == 0 else None,
            )
            for index in range(tokens)
        ],
        batch_size=5000,
    )
    ApprovedWebhookDomain.objects.bulk_create(
        [
            ApprovedWebhookDomain(tenant=tenant, domain=f"hooks{index}.example.com")
            for index in range(domains)
        ],
        batch_size=5000,
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                tenant=tenant,
                actor=admin,
                actor_label=admin.username,
                action="token.created",
                target_type="token",
                target_id=str(index),
                target_label=f"Integration {index}",
                details={"n": index},
                ip_address="192.0.2.1",
                created_at=now - timedelta(seconds=index),
            )
            for index in range(events)
        ],
        batch_size=5000,
    )
    return tenant, admin


def measure(client, url: str) -> tuple[float, int]:
    """Return the median milliseconds and the query count of GET URL (which must answer 200)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, secure=True)
            timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        queries = len(captured)
    return statistics.median(timings[1:]), queries


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=1_000)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    _setup_django()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    grown = False
    try:
        small = make_tenant("small", tokens=10, domains=10, events=100)
        big = make_tenant("big", tokens=args.tokens, domains=args.domains, events=args.events)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"{connection.vendor}; big tenant: {args.tokens:,} tokens, {args.domains:,} domains, "
            f"{args.events:,} audit events; baseline tenant: 10, 10, 100; median of {ROUNDS - 1} fetches"
        )
        for label, suffix in PAGES.items():
            figures = []
            for tenant, admin in (small, big):
                client = Client()
                client.force_login(admin)
                page = suffix
                if "page=" in suffix and tenant is small:
                    page = suffix.split("?")[0]  # the small tenant has one page: its last is its first
                figures.append(measure(client, f"/t/{tenant.slug}/settings/api/{page}"))
            (base_ms, base_q), (big_ms, big_q) = figures
            grown = grown or big_q > base_q
            print(f"row: {label}: ms per page | {base_ms:.2f} | {big_ms:.2f} | {big_ms / base_ms:.2f}")
            print(f"row: {label}: queries per page | {base_q} | {big_q} | {big_q / base_q:.2f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    if grown:
        print("A page needs more queries for the big tenant: its query count grows with the rows.")
    return 1 if grown else 0


if __name__ == "__main__":
    sys.exit(main())
