"""Benchmark tokens.auth.check_token: cost per call beside one plain indexed SELECT.

    .venv/bin/python bench/token_check.py [--calls 3000] [--tokens 10000]

The baseline is the least any check can cost: one SELECT of the token's id by its token ID
through a raw cursor. check_token adds the ORM, the joins to the tenant and its API user, the
HMAC-SHA256 of the secret and the rules. Unknown IDs and wrong secrets are timed too: they must
cost about the same (the API answers both identically). DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/accessgov_tokens_bench) names a server and a database name;
the benchmark creates and drops test_<name> there.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/accessgov_tokens_bench"


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessgov.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    import django

    django.setup()


def _per_call_us(function, calls: int, rounds: int = 5) -> float:
    """Return the median over ROUNDS of the mean microseconds per call of FUNCTION."""
    function()  # warm up the connection and caches
    results = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(calls // rounds):
            function()
        results.append((time.perf_counter_ns() - started) / (calls // rounds) / 1000)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--tokens", type=int, default=10_000, help="other tokens in the table")
    args = parser.parse_args()
    _setup_django()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    created = connection.vendor != "sqlite"
    if created:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    try:
        _run(args)
    finally:
        if created:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def _run(args) -> None:
    from django.db import connection
    from django.utils import timezone

    from accessgov.core import keys
    from tests.factories import ApiUserFactory, OrganizationFactory, TenantFactory, ThirdPartyTokenFactory
    from tokens.auth import check_token
    from tokens.models import ThirdPartyToken, generate_token_id

    tenant = TenantFactory(slug="bench-check")
    ApiUserFactory(tenant=tenant)
    organization = OrganizationFactory(tenant=tenant)
    ThirdPartyToken.objects.bulk_create(
        (
            ThirdPartyTokenFactory.build(tenant=tenant, token_id=generate_token_id(), name=f"Other {n}")
            for n in range(args.tokens)
        ),
        batch_size=2000,
    )
    token = ThirdPartyTokenFactory(
        tenant=tenant,
        name="Bench",
        allowed_ips=["10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"],
        all_organizations=False,
        organization_ids=[organization.pk],
        permissions=["Me.Read", "Organizations.Read"],
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tokens_thirdpartytoken" if connection.vendor == "postgresql" else "ANALYZE")
    wrong = keys.generate_secret(keys.TOKEN_SECRET_PREFIX)
    now = timezone.now()
    common = {
        "client_ip": "192.0.2.7",
        "permission": "Organizations.Read",
        "organization_id": organization.pk,
    }
    table = ThirdPartyToken._meta.db_table

    def plain_select():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE token_id = %s", [token.token_id])  # noqa: S608
            cursor.fetchone()

    def allowed():
        assert check_token(token_id=token.token_id, secret=token.secret, now=now, **common).allowed

    def wrong_secret():
        check_token(token_id=token.token_id, secret=wrong, now=now, **common)

    def unknown_id():
        check_token(token_id="agt_000000000000", secret=wrong, now=now, **common)

    def digest_only():
        keys.digest_matches(token.secret, token.digest, token.pepper_id)

    baseline = _per_call_us(plain_select, args.calls)
    figures = {
        "check_token, allowed": _per_call_us(allowed, args.calls),
        "check_token, wrong secret": _per_call_us(wrong_secret, args.calls),
        "check_token, unknown token ID": _per_call_us(unknown_id, args.calls),
        "HMAC-SHA256 digest compare alone": _per_call_us(digest_only, args.calls),
    }
    print(f"{connection.vendor}, {args.tokens + 1:,} tokens, {args.calls:,} calls each (median of 5 rounds)")
    print(f"{'plain indexed SELECT (baseline)':<34} {baseline:8.1f} µs/call  1.00x")
    for label, value in figures.items():
        print(f"{label:<34} {value:8.1f} µs/call  {value / baseline:.2f}x")


if __name__ == "__main__":
    main()
