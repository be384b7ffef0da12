"""Benchmark: GET /api/v1/Me with usage counting on against the same with it off.

Two gunicorns (2 sync workers each) serve the same code, database (PostgreSQL) and Redis, one with
ACCESSGOV_USAGE_COUNTING=true, one with false; wrk loads them in turns, several rounds, and the
median of each is kept. The figure that matters is the ratio on/off (counting rides in the gate's
Lua script, so it should be within noise of 1.00); the ratio of the off server against itself in
the same turns shows how large that noise is on this machine. Usage:

    .venv/bin/python bench/usage.py [--seconds 5] [--rounds 3] [--connections 8]

It creates (and drops) the database `accessgov_bench` and uses Redis database 12. After the load it
runs `manage.py rollup_usage` and checks that every allowed call was counted.
"""

import argparse
import base64
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as single  # noqa: E402 - bench/api.py: database, environment, gunicorn and wrk helpers


def start(env: dict[str, str], counting: bool) -> tuple[subprocess.Popen, int]:
    return single.start_gunicorn({**env, "ACCESSGOV_USAGE_COUNTING": "true" if counting else "false"})


def counted_calls() -> int:
    with psycopg.connect(f"{single.PG}/{single.DB_NAME}") as conn:
        return int(
            conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM accessgov_credentialusage WHERE outcome = 'allowed'"
            ).fetchone()[0]
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements of each")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    env = single.bench_env()
    single.reset_database()
    credentials = single.seed(env)
    redis.Redis.from_url(env["REDIS_URL"], socket_timeout=5).flushdb()  # the counts of an earlier run
    (off, off_port), (on, on_port) = start(env, False), start(env, True)
    headers = [
        "X-Forwarded-Proto: https",
        f"Authorization: Basic {base64.b64encode(credentials.encode()).decode()}",
    ]
    runs: dict[str, list] = {"off": [], "off again": [], "on": []}
    try:
        single.wait_for(off_port)
        single.wait_for(on_port)
        urls = {
            "off": f"http://127.0.0.1:{off_port}/api/v1/Me",
            "on": f"http://127.0.0.1:{on_port}/api/v1/Me",
        }
        for url in urls.values():  # warm both
            single.run_wrk(url, seconds=2, connections=args.connections, headers=headers)
        subprocess.run(
            [sys.executable, "manage.py", "rollup_usage", "-v0"], cwd=single.ROOT, env=env, check=True
        )
        before = counted_calls()
        on_requests = 0.0
        for _ in range(args.rounds):
            runs["off"].append(
                single.run_wrk(
                    urls["off"], seconds=args.seconds, connections=args.connections, headers=headers
                )
            )
            runs["on"].append(
                single.run_wrk(
                    urls["on"], seconds=args.seconds, connections=args.connections, headers=headers
                )
            )
            on_requests += runs["on"][-1]["rps"] * args.seconds
            runs["off again"].append(
                single.run_wrk(
                    urls["off"], seconds=args.seconds, connections=args.connections, headers=headers
                )
            )
    finally:
        for server in (off, on):
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
    subprocess.run([sys.executable, "manage.py", "rollup_usage", "-v0"], cwd=single.ROOT, env=env, check=True)
    counted = counted_calls() - before
    baseline, again, counting = (single.median_run(runs[name]) for name in ("off", "off again", "on"))
    print(
        f"row: usage: requests/s of GET Me, counting on vs off | {baseline['rps']:.0f} | {counting['rps']:.0f} | {counting['rps'] / baseline['rps']:.2f}"
    )
    print(
        f"row: usage: noise: requests/s, off vs off in the same turns | {baseline['rps']:.0f} | {again['rps']:.0f} | {again['rps'] / baseline['rps']:.2f}"
    )
    print(
        f"row: usage: p50 ms, counting on vs off | {baseline.get('p50', 0):.2f} | {counting.get('p50', 0):.2f} | {counting.get('p50', 0) / max(baseline.get('p50', 1), 1e-9):.2f}"
    )
    print(
        f"row: usage: p99 ms, counting on vs off | {baseline.get('p99', 0):.2f} | {counting.get('p99', 0):.2f} | {counting.get('p99', 0) / max(baseline.get('p99', 1), 1e-9):.2f}"
    )
    # wrk's request count is rounded from its rate: every counted call is within 2 % of it.
    print(f"calls counted while counting was on: {counted} (wrk reports about {on_requests:.0f})")
    errors = sum(run["non2xx"] for name in runs for run in runs[name])
    ok = errors == 0 and abs(counted - on_requests) <= max(0.02 * on_requests, 50)
    if not ok:
        print(
            f"FAILED: {errors} non-2xx answers, or counted calls far from the requests made", file=sys.stderr
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
