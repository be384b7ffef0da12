"""Benchmark: authenticated, rate-limited GET /api/v1/Me against a bare Django JSON view on /api/v1/.

Both run in the same gunicorn (2 sync workers) on PostgreSQL and Redis, in the same run, loaded by
wrk from this machine; the figure that matters is the ratio. The bare view (bench/urls.py, served
with DJANGO_SETTINGS_MODULE=bench.settings) sits under /api/v1/, so it takes the same middleware
path as Me (the API edge, without the console's middleware) and the ratio is what the gate, the
credential, the limits and the view cost. Usage:

    .venv/bin/python bench/api.py [--seconds 5] [--rounds 3] [--connections 8]

It creates (and drops) the database `accessgov_bench` and uses Redis database 12.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "accessgov_bench"
BARE_VIEW = "/api/v1/_bench/bare"  # bench/urls.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "ACCESSGOV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="accessgov.settings",
        DJANGO_SECRET_KEY="bench-secret-key-" + "x" * 40,
        ACCESSGOV_KEY_PEPPER="bench-pepper-" + "y" * 40,
        DATABASE_URL=f"{PG}/{DB_NAME}",
        DATABASE_CONN_MAX_AGE="600",
        REDIS_URL="redis://127.0.0.1:6379/12",
        CACHE_KEY_PREFIX="bench",
        ALLOWED_HOSTS="127.0.0.1",
        # As behind the TLS proxy of a real deployment: the proxy says the request came over HTTPS.
        SECURE_PROXY_SSL_HEADER="true",
        # The limits are counted as usual but set high, so the load measures the counting, not 429s.
        ACCESSGOV_API_DEFAULT_RATE="1000000000/3600",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    return env


def reset_database(name: str = DB_NAME) -> None:
    """Drop and create the benchmark database NAME."""
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


SEED = """
from accessgov.policy import actions
from accessgov.policy.models import PolicyVersion
from django.contrib.auth.models import User
from tenants.models import Tenant
from tests.factories import ThirdPartyTokenFactory
admin = User.objects.create(username="bench-admin")
tenant = Tenant.objects.create(name="Bench", slug="bench")
actions.agree_to_policy(tenant=tenant, version=PolicyVersion.objects.current(), by=admin, ip=None)
token = ThirdPartyTokenFactory(tenant=tenant, permissions=["Me.Read"])
# Throwaway credentials of the benchmark database, handed to the load generator through this pipe.
print(token.token_id + ":" + token.secret)
"""


def seed(env: dict[str, str], script: str = SEED) -> str:
    """Migrate the database of ENV, run SCRIPT in `manage.py shell` and return its last line."""
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


def start_gunicorn(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """Start accessgov under gunicorn (2 sync workers) with ENV on a free port; return it and the port."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "accessgov.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    return server, port


def wait_for(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, *, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    return parse_wrk(subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout)


def parse_wrk(out: str) -> dict[str, float]:
    """Return requests/s, p50 and p99 (ms) and the non-2xx count from wrk --latency's output OUT."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latencies = {f"p{m.group(1)}": float(m.group(2)) * UNIT[m.group(3)] for m in LATENCY.finditer(out)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, **latencies, "non2xx": float(errors.group(1)) if errors else 0.0}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Return the run with the median requests/s, its errors summed over all runs."""
    ordered = sorted(runs, key=lambda run: run["rps"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["non2xx"] = sum(run["non2xx"] for run in runs)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements of each")
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install wrk (make bench installs it)", file=sys.stderr)
        return 2
    env = bench_env()
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # the product's URLs and the bare views
    reset_database()
    credentials = seed(env)
    server, port = start_gunicorn(env)
    try:
        wait_for(port)
        import base64

        basic = base64.b64encode(credentials.encode()).decode()
        proto = "X-Forwarded-Proto: https"
        base = f"http://127.0.0.1:{port}"
        bare_url = f"{base}{BARE_VIEW}"
        # Warm both paths once so neither pays for imports or the first connection.
        run_wrk(bare_url, seconds=2, connections=args.connections, headers=[proto])
        run_wrk(
            f"{base}/api/v1/Me",
            seconds=2,
            connections=args.connections,
            headers=[proto, f"Authorization: Basic {basic}"],
        )
        # The two are measured in turns and the median of each is kept: on a small shared machine a
        # single pair swings with whatever else wakes up, and alternating spreads that over both.
        bare_runs, me_runs = [], []
        for _ in range(args.rounds):
            bare_runs.append(
                run_wrk(bare_url, seconds=args.seconds, connections=args.connections, headers=[proto])
            )
            me_runs.append(
                run_wrk(
                    f"{base}/api/v1/Me",
                    seconds=args.seconds,
                    connections=args.connections,
                    headers=[proto, f"Authorization: Basic {basic}"],
                )
            )
        bare, me = median_run(bare_runs), median_run(me_runs)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    print(f"{'figure':<56}{'baseline':>12}{'this':>12}{'ratio':>8}")
    print(
        f"{'requests/s: GET /api/v1/Me vs bare JSON view on /api/v1/':<56}{bare['rps']:>12.0f}{me['rps']:>12.0f}{me['rps'] / bare['rps']:>8.2f}"
    )
    print(
        f"{'p50 latency (ms)':<56}{bare.get('p50', 0):>12.2f}{me.get('p50', 0):>12.2f}{me.get('p50', 0) / max(bare.get('p50', 1), 1e-9):>8.2f}"
    )
    print(
        f"{'p99 latency (ms)':<56}{bare.get('p99', 0):>12.2f}{me.get('p99', 0):>12.2f}{me.get('p99', 0) / max(bare.get('p99', 1), 1e-9):>8.2f}"
    )
    print(f"{'non-2xx answers':<56}{bare['non2xx']:>12.0f}{me['non2xx']:>12.0f}")
    return 0 if me["non2xx"] == 0 and bare["non2xx"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
