"""Benchmark purge_revoked on PostgreSQL: rows/s and peak RSS, beside Django's queryset .delete().

    .venv/bin/python bench/purge_revoked.py            # 100,000 tokens, baseline on 20,000
    .venv/bin/python bench/purge_revoked.py --full     # and 1,000,000 tokens

Each measurement runs in a fresh child process, so its peak RSS (ru_maxrss) is its own. The
revoked tokens are made inside PostgreSQL with generate_series, so making them costs the child no
memory. The baseline deletes a smaller set the way a plain Django queryset does it, twice: with
the fast path this model allows (one DELETE, in one long transaction), and with the collector
Django uses whenever a Python-level on_delete points at the model (the rows loaded into Python).
DATABASE_URL (default postgres://postgres@127.0.0.1:5432/accessgov_tokens_bench) names a server
and a database name; the benchmark creates and drops test_<name> there.
"""

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/accessgov_tokens_bench"
TENANTS = 20


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessgov.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    import django

    django.setup()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _make_revoked_tokens(count: int) -> None:
    """Make COUNT revoked tokens, 60 days past revocation, spread over TENANTS tenants, in SQL."""
    from django.db import connection

    from tenants.models import Tenant

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tokens_thirdpartytoken")
    run = secrets.token_hex(4)
    tenant_ids = [
        Tenant.objects.create(name=f"Bench {run} {i}", slug=f"bench-{run}-{i}").pk for i in range(TENANTS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tokens_thirdpartytoken (
                tenant_id, token_id, name, description, digest, pepper_id, starts_at, expires_at,
                allowed_ips, all_organizations, organization_ids, permissions,
                created_at, updated_at, secret_set_at, revoked_at
            )
            SELECT (%s::bigint[])[1 + g %% %s], 'agt_' || lpad(g::text, 12, '0'), 'Bench ' || g, '',
                   md5(g::text) || md5(g::text), '1', now() - interval '100 days', NULL,
                   '["192.0.2.0/24"]'::jsonb, true, '[]'::jsonb, '["Me.Read"]'::jsonb,
                   now() - interval '100 days', now() - interval '100 days', now() - interval '100 days',
                   now() - interval '60 days' - (g %% 86400) * interval '1 second'
            FROM generate_series(1, %s) AS g
            """,
            [tenant_ids, TENANTS, count],
        )
        cursor.execute("ANALYZE tokens_thirdpartytoken")


def _child(mode: str, count: int, batch_size: int) -> dict:
    _setup_django()
    from django.db import transaction
    from django.db.models.deletion import Collector
    from django.utils import timezone

    from tokens.actions import purge_revoked_tokens
    from tokens.models import ThirdPartyToken

    _make_revoked_tokens(count)
    now = timezone.now()
    fast_delete = None
    rss_before = _peak_rss_mb()
    started = time.perf_counter()
    if mode == "purge":
        deleted = purge_revoked_tokens(now=now, batch_size=batch_size).tokens
    elif mode == "queryset":
        fast_delete = Collector(using="default").can_fast_delete(ThirdPartyToken.objects.purgeable(now))
        deleted, _ = ThirdPartyToken.objects.purgeable(now).delete()
    elif mode == "collector":
        # What QuerySet.delete() does as soon as any Python-level on_delete points at the model.
        with transaction.atomic():
            collector = Collector(using="default", origin=None, force_collection=True)
            collector.collect(ThirdPartyToken.objects.purgeable(now))
            deleted, _ = collector.delete()
    else:
        raise SystemExit(f"unknown mode {mode}")
    elapsed = time.perf_counter() - started
    assert deleted == count, (deleted, count)
    assert not ThirdPartyToken.objects.exists()
    peak = _peak_rss_mb()
    return {
        "mode": mode,
        "rows": count,
        "seconds": elapsed,
        "rows_per_second": count / elapsed,
        "peak_rss_mb": peak,
        "rss_growth_mb": peak - rss_before,
        "fast_delete": fast_delete,
    }


def _measure(mode: str, count: int, batch_size: int, env: dict) -> dict:
    output = subprocess.run(  # noqa: S603 - this script itself, with arguments it made
        [sys.executable, __file__, "--child", mode, "--rows", str(count), "--batch-size", str(batch_size)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _line(result: dict) -> str:
    return (
        f"{result['mode']:<10} {result['rows']:>9,} rows  {result['seconds']:8.2f} s  "
        f"{result['rows_per_second']:>10,.0f} rows/s  peak RSS {result['peak_rss_mb']:6.1f} MB  "
        f"(+{result['rss_growth_mb']:.1f} MB while deleting)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="also purge 1,000,000 tokens")
    parser.add_argument("--rows", type=int, default=100_000, help="tokens to purge (default 100,000)")
    parser.add_argument("--baseline-rows", type=int, default=20_000, help="tokens for the baselines")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.rows, args.batch_size)))
        return

    _setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    connection.close()
    env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + test_name}
    try:
        print(
            f"PostgreSQL {connection.pg_version // 10000}, database {test_name}, batch size {args.batch_size}"
        )
        baseline = [
            _measure("queryset", args.baseline_rows, args.batch_size, env),
            _measure("collector", args.baseline_rows, args.batch_size, env),
        ]
        same_size = _measure("purge", args.baseline_rows, args.batch_size, env)
        sizes = [args.rows] + ([1_000_000] if args.full and args.rows != 1_000_000 else [])
        runs = [_measure("purge", size, args.batch_size, env) for size in sizes]
        for result in [*baseline, same_size, *runs]:
            print(_line(result))
        queryset, collector = baseline
        how = (
            "one DELETE, in one transaction that locks every row until it ends"
            if queryset["fast_delete"]
            else "rows collected into Python first, because a delete signal receiver is connected"
        )
        print(
            f"purge_revoked vs queryset .delete() at {args.baseline_rows:,} rows ({how}): "
            f"{same_size['rows_per_second'] / queryset['rows_per_second']:.2f}x the speed, "
            f"memory +{same_size['rss_growth_mb']:.1f} MB vs +{queryset['rss_growth_mb']:.1f} MB"
        )
        print(
            f"purge_revoked vs collecting .delete() at {args.baseline_rows:,} rows: "
            f"{same_size['rows_per_second'] / collector['rows_per_second']:.1f}x the speed, "
            f"memory +{same_size['rss_growth_mb']:.1f} MB vs +{collector['rss_growth_mb']:.1f} MB"
        )
        if len(runs) == 2:
            print(
                f"Peak RSS at {runs[0]['rows']:,} vs {runs[1]['rows']:,} rows: "
                f"{runs[0]['peak_rss_mb']:.1f} MB vs {runs[1]['peak_rss_mb']:.1f} MB"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
