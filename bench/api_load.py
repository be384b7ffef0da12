"""Benchmark: concurrent authenticated API calls across many tokens, with the cron jobs running.

    .venv/bin/python bench/api_load.py [--seconds 30] [--tokens 60] [--clients 12]

One gunicorn (2 sync workers, as in bench/api.py) on PostgreSQL and Redis. A bounded Python client
(CLIENTS threads, each request with its own deadline) calls GET /api/v1/Me and
GET /api/v1/Organizations with TOKENS tokens in turn. The baseline is the same load for a third of
the time with nothing else running; then the measured run, while `purge_revoked` deletes revoked
tokens and `deliver_webhooks` works through a queue. Every answer must be 200 or the 429 the rate
limit requires; and, counted per token, endpoint and clock-aligned window from the answers, no
window may let more than its limit through.

It creates (and drops) the database `accessgov_bench_load` and uses Redis database 12.
"""

import argparse
import base64
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as single  # noqa: E402 - bench/api.py: database, environment and gunicorn helpers

ROOT = single.ROOT
DB_NAME = "accessgov_bench_load"
LIMIT, WINDOW = 40, 10  # per token and endpoint: low enough that the load meets it
REQUEST_TIMEOUT = 10.0

SEED = """
import json
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from accessgov.policy import actions
from accessgov.policy.models import PolicyVersion
from tenants.models import Tenant
from tokens.models import ThirdPartyToken
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory, WebhookDeliveryFactory, WebhookDestinationFactory
admin = User.objects.create(username="bench-admin")
tenant = Tenant.objects.create(name="Bench", slug="bench")
actions.agree_to_policy(tenant=tenant, version=PolicyVersion.objects.current(), by=admin, ip=None)
for n in range(20):
    OrganizationFactory(tenant=tenant)
tokens = [ThirdPartyTokenFactory(tenant=tenant, permissions=["Me.Read", "Organizations.Read"]) for _ in range(TOKENS)]
template = tokens[0]
old = timezone.now() - timedelta(days=400)
ThirdPartyToken.objects.bulk_create([ThirdPartyToken(tenant=tenant, token_id=f"agt_8{i:011d}", name=f"old {i}",
    digest=template.digest, pepper_id=template.pepper_id, starts_at=old, permissions=["Me.Read"], created_at=old,
    updated_at=old, secret_set_at=old, revoked_at=old) for i in range(REVOKED)], batch_size=5000)
# A disabled destination: the worker claims, decides and logs every delivery without the network.
destination = WebhookDestinationFactory(tenant=tenant, is_enabled=False)
for _ in range(DELIVERIES):
    WebhookDeliveryFactory(tenant=tenant, destination=destination)
# Throwaway credentials of the benchmark database, handed to the load generator through this pipe.
print(json.dumps([[t.token_id, t.secret] for t in tokens]))
"""


def load_env() -> dict[str, str]:
    env = single.bench_env()
    env.update(
        DATABASE_URL=f"{single.PG}/{DB_NAME}",
        CACHE_KEY_PREFIX="bench-load",
        ACCESSGOV_API_DEFAULT_RATE=f"{LIMIT}/{WINDOW}",
        # Nothing here fails on purpose; keep the blocker out of the measurement's way.
        ACCESSGOV_API_FAILURE_TIERS="100000/60/60",
    )
    return env


def seed(env, *, tokens: int, revoked: int, deliveries: int) -> list[list[str]]:
    script = SEED.replace("TOKENS", str(tokens)).replace("REVOKED", str(revoked))
    script = script.replace("DELIVERIES", str(deliveries))
    return json.loads(single.seed(env, script))


class Load:
    """CLIENTS threads calling the API until a deadline; every answer kept for the checks."""

    def __init__(self, port: int, tokens: list[list[str]], clients: int):
        self.port, self.clients = port, clients
        self.headers = [
            {
                "Authorization": "Basic " + base64.b64encode(f"{i}:{s}".encode()).decode(),
                "X-Forwarded-Proto": "https",
            }
            for i, s in tokens
        ]
        self.lock = threading.Lock()

    def run(self, seconds: float) -> list[tuple]:
        results: list[tuple] = []
        deadline = time.monotonic() + seconds

        def worker(index: int) -> None:
            n = index
            mine = []
            while time.monotonic() < deadline:
                token = n % len(self.headers)
                path = "/api/v1/Me" if n % 3 else "/api/v1/Organizations"
                n += self.clients
                start = time.monotonic()
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
                    conn.request("GET", path, headers=self.headers[token])
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    reset = int(response.headers.get("RateLimit-Reset") or 0)
                    remaining = response.headers.get("RateLimit-Remaining")
                    conn.close()
                except OSError as error:
                    status, reset, remaining = f"error: {error}", 0, None
                finished = time.time()
                mine.append((token, path, status, time.monotonic() - start, finished, reset, remaining))
            with self.lock:
                results.extend(mine)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + REQUEST_TIMEOUT + 5)
        return results


def summarise(results: list[tuple], seconds: float) -> dict:
    latencies = sorted(r[3] * 1000 for r in results)
    statuses = Counter(r[2] for r in results)
    passed: Counter = Counter()
    for token, path, status, _, finished, reset, _ in results:
        if status == 200:
            # The answer names its window: it ends RateLimit-Reset seconds after it was counted.
            passed[(token, path, round((finished + reset) / WINDOW))] += 1
    return {
        "requests": len(results),
        "rps": len(results) / seconds,
        "p50": statistics.quantiles(latencies, n=100)[49] if len(latencies) > 1 else 0.0,
        "p99": statistics.quantiles(latencies, n=100)[98] if len(latencies) > 1 else 0.0,
        "ok": statuses.get(200, 0),
        "limited": statuses.get(429, 0),
        "errors": sum(count for status, count in statuses.items() if status not in (200, 429)),
        "error_kinds": {str(k): v for k, v in statuses.items() if k not in (200, 429)},
        "busiest_window": max(passed.values(), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=3000)
    args = parser.parse_args()
    env = load_env()
    single.reset_database(DB_NAME)
    tokens = seed(env, tokens=args.tokens, revoked=args.revoked, deliveries=args.deliveries)
    port = single.free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "accessgov.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    jobs: list[subprocess.Popen] = []
    try:
        single.wait_for(port)
        load = Load(port, tokens, args.clients)
        load.run(2)  # warm-up: imports, connections, credential caches
        baseline_seconds = max(args.seconds / 3, 5)
        baseline = summarise(load.run(baseline_seconds), baseline_seconds)
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
        started = time.monotonic()
        jobs = [
            subprocess.Popen(
                [sys.executable, "manage.py", "purge_revoked", "--batch-size", "500"],
                cwd=ROOT,
                env=env,
                **quiet,
            ),
            subprocess.Popen(
                [sys.executable, "manage.py", "deliver_webhooks", "--interval", "0.5"],
                cwd=ROOT,
                env=env,
                **quiet,
            ),
        ]
        loaded = summarise(load.run(args.seconds), args.seconds)
        purge_seconds = time.monotonic() - started if jobs[0].poll() is not None else None
    finally:
        for job in jobs:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGTERM)
                job.wait(timeout=20)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    import psycopg

    with psycopg.connect(f"{single.PG}/{DB_NAME}") as conn:
        revoked_left = conn.execute(
            "SELECT count(*) FROM tokens_thirdpartytoken WHERE revoked_at IS NOT NULL"
        ).fetchone()[0]
        attempts = conn.execute("SELECT count(*) FROM webhooks_webhookattempt").fetchone()[0]
    print(
        f"{args.clients} clients, {args.tokens} tokens, limit {LIMIT}/{WINDOW}s per token and endpoint; "
        f"with the jobs: {args.revoked - revoked_left:,} revoked tokens purged"
        + (f" (in {purge_seconds:.0f} s)" if purge_seconds else " (not finished)")
        + f", {attempts:,} webhook attempts logged"
    )
    rows = [
        ("API under load: requests/s (baseline: no cron jobs)", baseline["rps"], loaded["rps"]),
        ("API under load: p50 ms", baseline["p50"], loaded["p50"]),
        ("API under load: p99 ms", baseline["p99"], loaded["p99"]),
        ("API under load: errors (not 200/429)", baseline["errors"], loaded["errors"]),
        ("API under load: 429s (limit reached)", baseline["limited"], loaded["limited"]),
        (f"API under load: most 200s in one window (limit {LIMIT})", LIMIT, loaded["busiest_window"]),
    ]
    for figure, base, value in rows:
        ratio = value / base if base else 0.0
        print(f"row: {figure} | {base:.2f} | {value:.2f} | {ratio:.2f}")
    if loaded["error_kinds"] or baseline["error_kinds"]:
        print("errors:", baseline["error_kinds"], loaded["error_kinds"])
    over = max(baseline["busiest_window"], loaded["busiest_window"]) > LIMIT
    return 1 if over or loaded["errors"] or baseline["errors"] or attempts == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
