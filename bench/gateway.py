"""Benchmark: the platform's gateway asking accessgov about every request (forward auth).

    .venv/bin/python bench/gateway.py [--seconds 4] [--rounds 2] [--connections 8]
    .venv/bin/python bench/gateway.py --profile 3000     # where a warm decision's CPU goes

Everything runs on this machine, in one run, on PostgreSQL and Redis, accessgov under gunicorn
(2 workers per app server, sync unless named), loaded by wrk (-t2 -c8; and one connection, for
the latency auth_request adds without queueing):

- Through nginx: examples/gateway/nginx.conf filled in (TLS on the client hop and on the hop to
  accessgov, as docs/gateway.md asks) in front of examples/gateway/upstream.py (under gunicorn,
  as its docstring runs it), against a second server block of the same nginx that passes the
  same requests to the same upstream without auth_request. Twice: accessgov on gunicorn's
  default sync workers (docs/gateway.md's example command), and on the gthread workers it
  suggests for the gateways' keepalive pools (a second nginx). Requests/s, p50 and p99 of each,
  and the CPU per request of nginx, the upstream and accessgov. The aim: the governed path keeps
  at least half the ungoverned path's throughput.
- The decision endpoint alone: wrk straight at /gateway/v1/decide (plain HTTP from a gateway
  network, the X-Forwarded-* headers, a gateway key, a valid token) against the bare JSON view on
  /gateway/v1/ (bench/urls.py), which takes the same middleware path and does nothing.
- The same decision with a catalogue of 6 endpoints and one of 500 (generated, the 6 among them,
  each in its own app server): its cost must not grow with the catalogue.
- App-process CPU per call: utime+stime of the gunicorn master and workers (/proc/<pid>/stat)
  before and after each load, divided by the requests wrk counted. The aim: a warm decision costs
  no more app CPU than an authenticated GET /api/v1/Me (same app server, same load).

Every measurement runs in turns with the others, ROUNDS times, and the median of each is kept (on
a small shared machine a single run swings with whatever else wakes up; CPU per request moves
less than requests/s). Rows are printed as `row: figure | baseline | this | ratio` for
bench/table.py, then one `aim:` line per aim, met or not. Exits non-zero only on errors (non-2xx
answers, connection errors, a server process lost under load).

--profile N skips the loads: it makes N warm decisions and N warm GET /api/v1/Me in this process
through Django's WSGI handler (the same middleware and views gunicorn runs, without gunicorn):
their CPU per call without a profiler, then each under cProfile (CPU time), and the functions
where a decision spends more own time than Me, and the reverse.

It creates (and drops) the database `accessgov_bench_gateway` and uses Redis database 12 under
the key prefix `bench-gateway`, which it empties first.
"""

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as single  # noqa: E402 - bench/api.py: database, environment, gunicorn and wrk helpers

ROOT = single.ROOT
DB_NAME = "accessgov_bench_gateway"
ACCESSGOV_HOST = "accessgov.internal"  # the name on accessgov's certificate, sent by nginx as Host
CLIENT_IP = "127.0.0.1"  # the client the gateway says it serves (X-Forwarded-For)
JUDGED = ("GET", "/v1/devices/42")  # the platform request every decision judges
DECIDE = "/gateway/v1/decide"
ME = "/api/v1/Me"
BARE_API = "/api/v1/_bench/bare"  # bench/urls.py
BARE_GATEWAY = "/gateway/v1/_bench/bare"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SEED = """
import json
from accessgov.gateway.actions import issue_gateway_key
from accessgov.policy import actions
from accessgov.policy.models import PolicyVersion
from django.contrib.auth.models import User
from tenants.models import Tenant
from tests.factories import ThirdPartyTokenFactory
admin = User.objects.create(username="bench-admin")
tenant = Tenant.objects.create(name="Bench", slug="bench")
actions.agree_to_policy(tenant=tenant, version=PolicyVersion.objects.current(), by=admin, ip=None)
token = ThirdPartyTokenFactory(tenant=tenant, permissions=["Me.Read", "Devices.Read"])
_, gateway_key = issue_gateway_key(name="bench", by=None)
# Throwaway credentials of the benchmark database, handed to the load generator through this pipe.
print(json.dumps({"token": token.token_id + ":" + token.secret, "gateway_key": gateway_key}))
"""

# The six endpoints of tests/api/test_decisions.py, without limits of their own: every endpoint
# takes ACCESSGOV_API_DEFAULT_RATE, set high by bench/api.py, so the load measures the counting.
SMALL_ENDPOINTS = [
    ("GET", "/v1/devices", "Devices.Read", "query:OrganizationId"),
    ("GET", "/v1/devices/export", "Devices.Read", None),
    ("GET", "/v1/devices/{DeviceId}", "Devices.Read", None),
    ("DELETE", "/v1/devices/{DeviceId}", "Devices.Write", None),
    ("GET", "/v1/organizations/{OrganizationId}/devices", "Devices.Read", "path:OrganizationId"),
    ("POST", "/v1/scripts/{ScriptId}/run", "Scripts.Run", "header:X-Organization-Id"),
]


def catalogue_text(size: int) -> str:
    """Return a catalogue of SIZE endpoints: the six above, then resources of eight endpoints each
    (list, get, change, delete, history, an action, custom fields, an organization's list), each
    resource with its own two permissions."""
    endpoints = list(SMALL_ENDPOINTS)
    permissions = {"Devices.Read", "Devices.Write", "Scripts.Run"}
    number = 0
    while len(endpoints) < size:
        name, group = f"res{number}", f"Res{number}"
        read, write = f"{group}.Read", f"{group}.Write"
        permissions.update((read, write))
        for method, path, permission, organization in (
            ("GET", f"/v1/{name}", read, "query:OrganizationId"),
            ("GET", f"/v1/{name}/{{Id}}", read, None),
            ("PATCH", f"/v1/{name}/{{Id}}", write, None),
            ("DELETE", f"/v1/{name}/{{Id}}", write, None),
            ("GET", f"/v1/{name}/{{Id}}/history", read, None),
            ("POST", f"/v1/{name}/{{Id}}/actions/run", write, "header:X-Organization-Id"),
            ("PUT", f"/v1/{name}/{{Id}}/custom-fields", write, None),
            ("GET", f"/v1/organizations/{{OrganizationId}}/{name}", read, "path:OrganizationId"),
        ):
            endpoints.append((method, path, permission, organization))
        number += 1
    endpoints = endpoints[:size]
    used = {permission for _, _, permission, _ in endpoints}
    lines = ["[catalogue]", f'service = "Bench API ({size} endpoints)"', ""]
    for permission in sorted(permissions & used):
        group = permission.split(".")[0]
        lines += [
            "[[permission]]",
            f'name = "{permission}"',
            f'group = "{group}"',
            f'label = "{permission}"',
            "",
        ]
    for method, path, permission, organization in endpoints:
        lines += ["[[endpoint]]", f'method = "{method}"', f'path = "{path}"', f'permission = "{permission}"']
        if organization:
            lines.append(f'organization = "{organization}"')
        lines.append("")
    return "\n".join(lines)


# How long finding the endpoint of the judged request takes in the catalogue in force, in process:
# the one step of a decision that could grow with the catalogue (best of 5 x 20,000 calls).
MATCH = """
import time
from accessgov.api.decisions import canonical_segments
from accessgov.core import catalogue
table = catalogue.current()
best = None
for _ in range(5):
    started = time.perf_counter()
    for _ in range(20000):
        table.match("METHOD", canonical_segments("PATH"))
    spent = (time.perf_counter() - started) / 20000 * 1e6
    best = spent if best is None else min(best, spent)
assert table.match("METHOD", canonical_segments("PATH")) is not None
print(best)
"""


def match_microseconds(env: dict[str, str]) -> float:
    script = MATCH.replace("METHOD", JUDGED[0]).replace("PATH", JUDGED[1])
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.split()[-1])


# --- processes and their CPU --------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, float] | None:
    """Return (parent pid, CPU seconds of PID itself and of its children it waited for)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # After the name: state ppid ... utime(11) stime(12) cutime(13) cstime(14), 0-based from state.
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return int(fields[1]), ticks / CLOCK_TICKS


def process_tree(root: int) -> dict[int, float]:
    """Return the CPU seconds of ROOT and of every process below it, by pid."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            parents[int(entry)], cpu[int(entry)] = found
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


@dataclass
class Server:
    """A process (gunicorn, nginx, the upstream) started in its own session; its CPU is its tree's."""

    name: str
    process: subprocess.Popen
    port: int
    pids: set[int] = field(default_factory=set)

    def cpu(self) -> tuple[float, set[int]]:
        tree = process_tree(self.process.pid)
        return sum(tree.values()), set(tree)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start(name: str, command: list[str], *, env: dict[str, str], port: int, log: Path, cwd=ROOT) -> Server:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, process, port)


def gunicorn(name: str, env: dict[str, str], workdir: Path, *options: str) -> Server:
    port = single.free_port()
    command = [sys.executable, "-m", "gunicorn", "accessgov.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
    command += ["--log-level", "warning", *options]
    return start(name, command, env=env, port=port, log=workdir / f"{name}.log")


def wait_until_served(
    server: Server, url: str, headers: list[str], workdir: Path, timeout: float = 30
) -> None:
    """Wait until URL answers 2xx (gunicorn listens before its workers have loaded Django)."""
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context()
    # The probe only waits for the server; wrk, which measures, does not check certificates either.
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    status = "none"
    while time.monotonic() < deadline and server.process.poll() is None:
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=5, context=context)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        try:
            conn.request("GET", parts.path, headers=dict(h.split(": ", 1) for h in headers))
            response = conn.getresponse()
            response.read()
            if 200 <= response.status < 300:
                return
            status = str(response.status)
        except OSError as error:
            status = str(error)
        finally:
            conn.close()
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in workdir.glob("*.log"))
    raise RuntimeError(f"{server.name} did not answer {url} (last: {status})\n{logs}")


# --- TLS and nginx --------------------------------------------------------------------------------


def make_tls(directory: Path) -> dict[str, str]:
    """Make a throwaway CA, the gateway's certificate and accessgov's (trustme, a dev package)."""
    import trustme

    ca = trustme.CA()
    files = {"ca": directory / "ca.pem"}
    ca.cert_pem.write_to_path(files["ca"])
    for name, identities in (("gateway", ("127.0.0.1", "localhost")), ("accessgov", (ACCESSGOV_HOST,))):
        issued = ca.issue_cert(*identities)
        files[f"{name}_cert"] = directory / f"{name}.pem"
        files[f"{name}_key"] = directory / f"{name}.key"
        files[f"{name}_cert"].write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(files[f"{name}_key"])
    return {name: str(path) for name, path in files.items()}


UNGOVERNED_SERVER = """
    # bench/gateway.py's baseline: the same listener settings and upstream, no auth_request.
    server {
        listen 127.0.0.1:%(port)d ssl http2;
        server_name 127.0.0.1;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        ssl_protocols TLSv1.2 TLSv1.3;

        location / {
            proxy_set_header Authorization "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Connection "";
            proxy_http_version 1.1;
            proxy_pass http://platform_api;
        }
    }
}
"""


def start_nginx(
    name: str,
    workdir: Path,
    tls: dict[str, str],
    *,
    binary: str,
    key: str,
    accessgov: int,
    upstream: int,
    ungoverned: bool = False,
) -> tuple[Server, int, int | None]:
    """Start nginx on examples/gateway/nginx.conf filled in (and, if UNGOVERNED, a second server
    block passing the same requests to the same upstream without asking accessgov); return it and
    the ports of its governed and ungoverned servers."""
    directory = workdir / name
    directory.mkdir(mode=0o755)
    governed_port = single.free_port()
    ungoverned_port = single.free_port() if ungoverned else None
    text = (ROOT / "examples" / "gateway" / "nginx.conf").read_text()
    values = {
        "PREFIX": str(directory),
        "LISTEN": f"127.0.0.1:{governed_port}",
        "SERVER_NAME": "127.0.0.1",
        "TLS_CERT": tls["gateway_cert"],
        "TLS_KEY": tls["gateway_key"],
        "ACCESSGOV_ADDRESS": f"127.0.0.1:{accessgov}",
        "ACCESSGOV_HOST": ACCESSGOV_HOST,
        "ACCESSGOV_CA": tls["ca"],
        "GATEWAY_KEY": key,
        "UPSTREAM_ADDRESS": f"127.0.0.1:{upstream}",
    }
    for placeholder, value in values.items():
        text = text.replace("{{" + placeholder + "}}", value)
    left = [line for line in text.splitlines() if "{{" in line and not line.lstrip().startswith("#")]
    if left:
        raise RuntimeError(f"placeholders left in nginx.conf: {left}")
    if ungoverned_port:
        body, _, _ = text.rstrip().rpartition("}")  # the closing brace of the http block
        cert, key_file = tls["gateway_cert"], tls["gateway_key"]
        text = body + UNGOVERNED_SERVER % {"port": ungoverned_port, "cert": cert, "key": key_file}
    (directory / "nginx.conf").write_text(text)
    command = [binary, "-e", "stderr", "-p", str(directory), "-c", str(directory / "nginx.conf")]
    server = start(
        name, command, env=dict(os.environ), port=governed_port, log=workdir / f"{name}.log", cwd=directory
    )
    return server, governed_port, ungoverned_port


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Target:
    """One URL to load, with its headers, and the servers whose CPU is counted for it."""

    label: str
    url: str
    headers: list[str]
    servers: list[Server]
    connections: int | None = None  # None: --connections
    runs: list[dict[str, float]] = field(default_factory=list)


def measure(target: Target, *, seconds: int, connections: int) -> dict[str, float]:
    before = [server.cpu() for server in target.servers]
    result = run_wrk(target.url, seconds=seconds, connections=connections, headers=target.headers)
    after = [server.cpu() for server in target.servers]
    requests = max(result["requests"], 1)
    for server, (cpu_before, pids_before), (cpu_after, pids_after) in zip(
        target.servers, before, after, strict=True
    ):
        # A process that ended during the load takes its CPU with it: say so, do not hide it.
        if not pids_before <= pids_after:
            result["lost_processes"] = result.get("lost_processes", 0) + len(pids_before - pids_after)
        result[f"cpu_ms:{server.name}"] = (cpu_after - cpu_before) * 1000 / requests
    result["cpu_ms"] = sum(result[f"cpu_ms:{server.name}"] for server in target.servers)
    target.runs.append(result)
    return result


WRK_REQUESTS = re.compile(r"(\d+) requests in")
WRK_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def run_wrk(url: str, *, seconds: int, connections: int, headers: list[str]) -> dict[str, float]:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    result = single.parse_wrk(out)
    result["requests"] = float(WRK_REQUESTS.search(out).group(1))
    errors = WRK_SOCKET_ERRORS.search(out)
    # Sync workers close every connection after the answer: wrk may count a few reads of a
    # closed socket; connect errors and timeouts are real.
    result["socket_errors"] = float(int(errors.group(1)) + int(errors.group(4))) if errors else 0.0
    return result


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run.get(key, 0.0) for run in runs)


# --- the run ---------------------------------------------------------------------------------------


REDIS_URL = "redis://127.0.0.1:6379/12"
KEY_PREFIX = "bench-gateway"


def clear_redis() -> None:
    """Delete this benchmark's keys (a block or counts an earlier, interrupted run left behind)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(f"{KEY_PREFIX}:*", count=1000):
            client.delete(key)
    finally:
        client.close()


def gateway_env(catalogue: Path) -> dict[str, str]:
    env = single.bench_env()
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=f"{single.PG}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=KEY_PREFIX,
        ALLOWED_HOSTS=f"127.0.0.1,{ACCESSGOV_HOST}",
        ACCESSGOV_CATALOGUE=str(catalogue),
        # The gateways: loopback, with a key. Plain HTTP is accepted from there (the direct loads).
        ACCESSGOV_GATEWAY_NETWORKS="127.0.0.1/32",
    )
    return env


def headers_for(credentials: dict[str, str]) -> dict[str, list[str]]:
    basic = "Authorization: Basic " + base64.b64encode(credentials["token"].encode()).decode()
    method, uri = JUDGED
    return {
        "decide": [
            f"Accessgov-Gateway-Key: {credentials['gateway_key']}",
            f"X-Forwarded-Method: {method}",
            f"X-Forwarded-Uri: {uri}",
            f"X-Forwarded-For: {CLIENT_IP}",
            "X-Forwarded-Proto: https",
            basic,
        ],
        "api": ["X-Forwarded-Proto: https", basic],
        "bare": ["X-Forwarded-Proto: https"],
        "client": [basic],
    }


def run(args, workdir: Path) -> int:
    started = time.monotonic()
    small, big = workdir / "catalogue-6.toml", workdir / f"catalogue-{args.endpoints}.toml"
    small.write_text(catalogue_text(6))
    big.write_text(catalogue_text(args.endpoints))
    env_small, env_big = gateway_env(small), gateway_env(big)
    single.reset_database(DB_NAME)
    clear_redis()
    credentials = json.loads(single.seed(env_small, SEED))
    headers = headers_for(credentials)
    args.match = {"small": match_microseconds(env_small), "big": match_microseconds(env_big)}
    tls = make_tls(workdir)
    certificate = ["--certfile", tls["accessgov_cert"], "--keyfile", tls["accessgov_key"]]
    print(f"setup: database and seed {time.monotonic() - started:.0f} s", file=sys.stderr)
    servers: list[Server] = []
    try:
        app = gunicorn("accessgov-6", env_small, workdir)
        app_big = gunicorn(f"accessgov-{args.endpoints}", env_big, workdir)
        # The decision servers the gateways ask, over TLS: gunicorn's default sync workers, as
        # docs/gateway.md's example command runs them, and the gthread workers it suggests for
        # the gateways' keepalive pools.
        app_tls = gunicorn("accessgov-tls-sync", env_small, workdir, *certificate)
        app_tls_threads = gunicorn(
            "accessgov-tls-gthread",
            env_small,
            workdir,
            *certificate,
            "--worker-class",
            "gthread",
            "--threads",
            "8",
        )
        upstream_port = single.free_port()
        # The sample upstream as its docstring runs it under gunicorn (the standard library's
        # server answers HTTP/1.0 and has a listen backlog of 5: it drops connections under load).
        upstream = start(
            "upstream",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--chdir",
                str(ROOT / "examples" / "gateway"),
                "upstream:application",
            ]
            + ["-w", "1", "--threads", "8", "-b", f"127.0.0.1:{upstream_port}", "--log-level", "warning"],
            env=dict(os.environ),
            port=upstream_port,
            log=workdir / "upstream.log",
        )
        servers += [app, app_big, app_tls, app_tls_threads, upstream]
        nginx_args = {"binary": args.nginx, "key": credentials["gateway_key"], "upstream": upstream_port}
        nginx, governed_port, ungoverned_port = start_nginx(
            "nginx-sync", workdir, tls, accessgov=app_tls.port, ungoverned=True, **nginx_args
        )
        servers.append(nginx)
        nginx_threads, threads_port, _ = start_nginx(
            "nginx-gthread", workdir, tls, accessgov=app_tls_threads.port, **nginx_args
        )
        servers.append(nginx_threads)
        base, base_big = f"http://127.0.0.1:{app.port}", f"http://127.0.0.1:{app_big.port}"
        judged = JUDGED[1]
        for server, url, hdrs in (
            (app, base + DECIDE, headers["decide"]),
            (app_big, base_big + DECIDE, headers["decide"]),
            (upstream, f"http://127.0.0.1:{upstream_port}/__hits", []),
            (nginx, f"https://127.0.0.1:{governed_port}{judged}", headers["client"]),
            (nginx_threads, f"https://127.0.0.1:{threads_port}{judged}", headers["client"]),
        ):
            wait_until_served(server, url, hdrs, workdir)
        print(f"setup: servers up {time.monotonic() - started:.0f} s", file=sys.stderr)
        targets = [
            Target("bare view on /gateway/v1/", base + BARE_GATEWAY, headers["bare"], [app]),
            Target("decide, 6-endpoint catalogue", base + DECIDE, headers["decide"], [app]),
            Target(
                f"decide, {args.endpoints}-endpoint catalogue",
                base_big + DECIDE,
                headers["decide"],
                [app_big],
            ),
            Target("GET /api/v1/Me", base + ME, headers["api"], [app]),
            Target("bare view on /api/v1/", base + BARE_API, headers["bare"], [app]),
            Target(
                "through nginx, ungoverned",
                f"https://127.0.0.1:{ungoverned_port}{judged}",
                headers["client"],
                [nginx, upstream],
            ),
            Target(
                "through nginx, governed (sync workers)",
                f"https://127.0.0.1:{governed_port}{judged}",
                headers["client"],
                [nginx, upstream, app_tls],
            ),
            Target(
                "through nginx, governed (gthread workers)",
                f"https://127.0.0.1:{threads_port}{judged}",
                headers["client"],
                [nginx_threads, upstream, app_tls_threads],
            ),
            # One request at a time: what auth_request adds to a request's latency without queueing.
            Target(
                "through nginx, ungoverned, 1 connection",
                f"https://127.0.0.1:{ungoverned_port}{judged}",
                headers["client"],
                [nginx, upstream],
                connections=1,
            ),
            Target(
                "through nginx, governed (sync workers), 1 connection",
                f"https://127.0.0.1:{governed_port}{judged}",
                headers["client"],
                [nginx, upstream, app_tls],
                connections=1,
            ),
        ]
        # Warm every path once: imports, connections, the credential and gateway-key caches.
        for target in targets:
            connections = target.connections or args.connections
            run_wrk(target.url, seconds=args.warmup, connections=connections, headers=target.headers)
        for _ in range(args.rounds):
            for target in targets:
                measure(target, seconds=args.seconds, connections=target.connections or args.connections)
        logs = {p.name: p.read_text(errors="replace") for p in workdir.glob("*.log")}
    finally:
        for server in reversed(servers):
            server.stop()
    print(f"done: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return report(args, {t.label: t for t in targets}, logs)


def report(args, by: dict[str, Target], logs: dict[str, str]) -> int:
    n = args.endpoints
    bare_gw, decide = by["bare view on /gateway/v1/"], by["decide, 6-endpoint catalogue"]
    decide_big = by[f"decide, {n}-endpoint catalogue"]
    me, bare_api = by["GET /api/v1/Me"], by["bare view on /api/v1/"]
    plain = by["through nginx, ungoverned"]
    governed = {
        "sync": by["through nginx, governed (sync workers)"],
        "gthread": by["through nginx, governed (gthread workers)"],
    }

    def m(target: Target, key: str) -> float:
        return median(target.runs, key)

    rows = []
    for kind, target in governed.items():
        rows += [
            (
                f"nginx: requests/s, governed, {kind} workers (baseline: ungoverned)",
                m(plain, "rps"),
                m(target, "rps"),
            ),
            (
                f"nginx: p50 ms, governed, {kind} workers (baseline: ungoverned)",
                m(plain, "p50"),
                m(target, "p50"),
            ),
            (
                f"nginx: p99 ms, governed, {kind} workers (baseline: ungoverned)",
                m(plain, "p99"),
                m(target, "p99"),
            ),
            (
                f"nginx: server CPU ms/request, governed, {kind} workers (baseline: ungoverned)",
                m(plain, "cpu_ms"),
                m(target, "cpu_ms"),
            ),
            (
                f"nginx: app CPU ms/decision over TLS, {kind} workers (baseline: plain decide)",
                m(decide, "cpu_ms"),
                m(target, f"cpu_ms:accessgov-tls-{kind}"),
            ),
        ]
    plain_1, governed_1 = (
        by["through nginx, ungoverned, 1 connection"],
        by["through nginx, governed (sync workers), 1 connection"],
    )
    rows += [
        (
            "nginx: p50 ms at 1 connection, governed, sync (baseline: ungoverned)",
            m(plain_1, "p50"),
            m(governed_1, "p50"),
        ),
        (
            "nginx: p99 ms at 1 connection, governed, sync (baseline: ungoverned)",
            m(plain_1, "p99"),
            m(governed_1, "p99"),
        ),
    ]
    rows += [
        ("decide: requests/s (baseline: bare view on /gateway/v1/)", m(bare_gw, "rps"), m(decide, "rps")),
        (
            "decide: app CPU ms/call (baseline: bare view on /gateway/v1/)",
            m(bare_gw, "cpu_ms"),
            m(decide, "cpu_ms"),
        ),
        (f"decide: requests/s, {n}-endpoint catalogue (baseline: 6)", m(decide, "rps"), m(decide_big, "rps")),
        (
            f"decide: app CPU ms/call, {n}-endpoint catalogue (baseline: 6)",
            m(decide, "cpu_ms"),
            m(decide_big, "cpu_ms"),
        ),
        (
            f"decide: endpoint match µs in process, {n}-endpoint catalogue (baseline: 6)",
            args.match["small"],
            args.match["big"],
        ),
        ("Me: requests/s (baseline: bare view on /api/v1/)", m(bare_api, "rps"), m(me, "rps")),
        ("Me: app CPU ms/call (baseline: bare view on /api/v1/)", m(bare_api, "cpu_ms"), m(me, "cpu_ms")),
        ("decide vs Me: app CPU ms/call (baseline: GET /api/v1/Me)", m(me, "cpu_ms"), m(decide, "cpu_ms")),
    ]
    print(
        f"{args.rounds} round(s) of {args.seconds} s per figure in turns, wrk -t2 -c{args.connections} unless named; "
        f"medians over the rounds. Every decision judges {' '.join(JUDGED)}. gunicorn with 2 workers "
        "per app server (sync unless named); app CPU is its master's and workers' per request served."
    )
    print()
    print("per run: requests/s, p50/p99 ms, CPU ms per request of the servers named [app server's part]")
    for target in by.values():
        runs = ", ".join(
            f"{r['rps']:.0f} rps {r.get('p50', 0):.2f}/{r.get('p99', 0):.2f} ms {r['cpu_ms']:.3f} ms CPU"
            + "".join(f" [{k[7:]} {v:.3f}]" for k, v in r.items() if k.startswith("cpu_ms:accessgov"))
            for r in target.runs
        )
        print(f"  {target.label} ({', '.join(s.name for s in target.servers)}): {runs}")
    print()
    for figure, base, value in rows:
        ratio = value / base if base else 0.0
        print(f"row: gateway: {figure} | {base:.3f} | {value:.3f} | {ratio:.3f}")
    print()
    for kind, target in governed.items():
        added_p50 = m(target, "p50") - m(plain, "p50")
        added_p99 = m(target, "p99") - m(plain, "p99")
        print(
            f"added latency through nginx with auth_request, {kind} workers, {args.connections} connections "
            f"(queueing included): p50 {added_p50:+.2f} ms, p99 {added_p99:+.2f} ms"
        )
    print(
        "added latency through nginx with auth_request, sync workers, 1 connection: "
        f"p50 {m(governed_1, 'p50') - m(plain_1, 'p50'):+.2f} ms, p99 {m(governed_1, 'p99') - m(plain_1, 'p99'):+.2f} ms"
    )
    cpu_decide, cpu_me = m(decide, "cpu_ms"), m(me, "cpu_ms")
    growth = m(decide_big, "cpu_ms") / cpu_decide if cpu_decide else 0.0
    # One round of a few seconds is at the mercy of whatever else runs on the machine then.
    caveat = " [one round: indicative only]" if args.rounds < 2 else ""
    print(
        "aim: a warm decision costs no more app CPU than GET /api/v1/Me: "
        f"{'MET' if cpu_decide <= cpu_me else 'NOT MET'} ({cpu_decide:.3f} ms vs {cpu_me:.3f} ms per call){caveat}"
    )
    for kind, target in governed.items():
        throughput = m(target, "rps") / m(plain, "rps")
        print(
            f"aim: the governed path keeps at least half the ungoverned throughput, accessgov on {kind} "
            f"workers: {'MET' if throughput >= 0.5 else 'NOT MET'} ({throughput:.2f}){caveat}"
        )
    # CPU per call over thousands of calls moves by up to about 10% between runs on this machine;
    # a lookup that grew with the catalogue (a scan of 500 patterns) would add more than 15%.
    print(
        f"aim: decision cost does not grow with the catalogue, 6 to {n} endpoints (app CPU within 15%): "
        f"{'MET' if growth <= 1.15 else 'NOT MET'} ({growth:.2f}; endpoint match in process "
        f"{args.match['small']:.1f} µs vs {args.match['big']:.1f} µs){caveat}"
    )
    failed = False
    for target in by.values():
        non2xx = sum(r.get("non2xx", 0) for r in target.runs)
        socket_errors = sum(r.get("socket_errors", 0) for r in target.runs)
        lost = sum(r.get("lost_processes", 0) for r in target.runs)
        if non2xx or socket_errors or lost:
            failed = True
            print(
                f"ERROR {target.label}: {non2xx:.0f} non-2xx answers, {socket_errors:.0f} connect errors or "
                f"timeouts, {lost:.0f} server processes ended under load"
            )
    if failed:
        for name, text in sorted(logs.items()):
            if text.strip():
                print(f"--- {name}\n{text[-3000:]}")
    return 1 if failed else 0


# --- profile -----------------------------------------------------------------------------------


def profile(args, workdir: Path) -> int:
    """Profile N warm decisions and N warm GET /api/v1/Me in this process, through Django's WSGI
    handler with the benchmark's settings, database and Redis."""
    import cProfile
    import io
    import pstats

    catalogue = workdir / "catalogue-6.toml"
    catalogue.write_text(catalogue_text(6))
    env = gateway_env(catalogue)
    single.reset_database(DB_NAME)
    clear_redis()
    credentials = json.loads(single.seed(env, SEED))
    headers = headers_for(credentials)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()

    def environ_for(path: str, header_lines: list[str]) -> dict:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        for line in header_lines:
            name, _, value = line.partition(": ")
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return environ

    def call(path: str, header_lines: list[str]) -> None:
        statuses = []
        body = handler(environ_for(path, header_lines), lambda status, *_: statuses.append(status))
        b"".join(body)
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{path} answered {statuses[0]}")

    calls = {
        "decide": (DECIDE, headers["decide"]),
        "GET /api/v1/Me": (ME, headers["api"]),
        "bare view on /gateway/v1/": (BARE_GATEWAY, headers["bare"]),
    }
    for path, header_lines in calls.values():
        for _ in range(300):
            call(path, header_lines)  # warm: imports, connections, caches
    # Without the profiler first, in turns: the CPU each costs in this process (no gunicorn).
    rounds, per_round = 5, max(args.profile // 5, 1)
    spent: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(rounds):
        for label, (path, header_lines) in calls.items():
            started = time.process_time()
            for _ in range(per_round):
                call(path, header_lines)
            spent[label].append((time.process_time() - started) * 1000 / per_round)
    print(f"CPU ms per call in this process, no profiler (median of {rounds} x {per_round} calls, in turns):")
    for label, values in spent.items():
        print(f"  {label}: {statistics.median(values):.3f} ({', '.join(f'{v:.3f}' for v in values)})")
    print()
    profiles = {}
    for label in ("decide", "GET /api/v1/Me"):
        path, header_lines = calls[label]
        # Timed by CPU, not the wall clock: waiting for Redis or PostgreSQL costs the app nothing.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.profile):
            call(path, header_lines)
        profiler.disable()
        print(f"=== {label}: {args.profile} warm calls under cProfile (CPU time; the profiler inflates it)")
        out = io.StringIO()
        profiles[label] = stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
        print(out.getvalue())

    # Where a decision spends what GET /api/v1/Me does not (and the reverse): own time per call.
    def own(stats) -> dict:
        return {
            f"{Path(name[0]).name}:{name[1]}({name[2]})": entry[2] * 1e6 / args.profile
            for name, entry in stats.stats.items()
        }

    decide_own, me_own = own(profiles["decide"]), own(profiles["GET /api/v1/Me"])
    difference = {name: decide_own.get(name, 0.0) - me_own.get(name, 0.0) for name in {*decide_own, *me_own}}
    ordered = sorted(difference.items(), key=lambda item: item[1])
    print("=== own CPU µs per call under cProfile, decide minus GET /api/v1/Me (largest each way)")
    print(f"  total: decide {sum(decide_own.values()):.0f}, Me {sum(me_own.values()):.0f}")
    for name, value in [*reversed(ordered[-25:]), *ordered[:15]]:
        print(f"  {value:+8.1f}  {name}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=4, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating measurements of each")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per path")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--endpoints", type=int, default=500, help="the big catalogue's size")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N warm calls instead")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="accessgov-bench-gateway-"))
    # nginx's workers run as nobody when the master is root: they must reach their files.
    workdir.chmod(0o755)
    try:
        if args.profile:
            return profile(args, workdir)
        if not shutil.which("wrk"):
            print("wrk is missing: apt-get install wrk (make bench installs it)", file=sys.stderr)
            return 2
        args.nginx = find_nginx()
        if args.nginx is None:
            print("nginx is missing: apt-get install nginx (make bench installs it)", file=sys.stderr)
            return 2
        return run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
