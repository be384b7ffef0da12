"""Real gateways for the gateway tests: nginx and Caddy running examples/gateway/'s configurations in
front of the sample platform API (examples/gateway/upstream.py), asking accessgov under gunicorn on
the suite's PostgreSQL and Redis.

Each server is started once per test session, as a foreground process in its own session on a free
loopback port with its own configuration and temporary directory, and stopped at the end (by its
id). Every test runs on `transactional_db`, as tests/ops/test_two_app_servers.py does: the rows it
makes are committed where gunicorn reads them, and the tables are emptied after it.

TLS on both hops, as docs/gateway.md asks: trustme makes a CA, the gateways' certificate (the
client hop) and accessgov's (gunicorn serves TLS itself; the gateways check it against the CA).

nginx and caddy are Debian packages that `bin/bootstrap test` installs; without them these tests
skip, except in CI (CI=true), where they fail.
"""

import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from accessgov.gateway.actions import issue_gateway_key
from accessgov.gateway.models import GatewayKey
from tests.ops.conftest import (
    PYTHON,
    ROOT,
    START_TIMEOUT,
    AppServer,
    app_environment,
    free_port,
    stop_process,
    suite_database_url,
    wait_for_port,
)

EXAMPLES = ROOT / "examples" / "gateway"
CATALOGUE = ROOT / "examples" / "catalogue" / "rmm.toml"
ACCESSGOV_HOST = "accessgov.internal"  # the name on accessgov's certificate and in its ALLOWED_HOSTS
GATEWAY_ADDRESS = "127.0.0.1"  # where the gateways listen; clients may connect from other 127.x
# Failed requests from one client address before it is blocked (a rate-limit test's 20 refusals
# must stay below it).
FAILURE_THRESHOLD = 30
KINDS = ("nginx", "caddy")


def find_binary(name: str) -> str | None:
    """Return the path of NAME (Debian puts nginx in /usr/sbin, outside a user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in ("/usr/sbin", "/usr/bin", "/usr/local/bin"):
        candidate = Path(directory) / name
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_binary(name: str) -> str:
    """Return the path of NAME; skip without it, but fail in CI, which must run these tests."""
    found = find_binary(name)
    if found:
        return found
    message = f"{name} is not installed (Debian package {name}; `bin/bootstrap test` installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: CI runs the gateway tests", pytrace=False)
    pytest.skip(message)


def fill(template: Path, values: dict[str, str]) -> str:
    """Return TEMPLATE with each {{NAME}} replaced, checking that none is left outside comments."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    left = [line for line in text.splitlines() if "{{" in line and not line.lstrip().startswith("#")]
    assert not left, f"placeholders left in {template.name}: {left}"
    return text


@dataclass
class Tls:
    """The test CA and the two certificates: the gateways' (client hop) and accessgov's."""

    directory: Path
    ca: trustme.CA = field(default_factory=trustme.CA)

    def __post_init__(self) -> None:
        self.ca_file = self.directory / "ca.pem"
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.gateway_cert, self.gateway_key = self._issue("gateway", GATEWAY_ADDRESS, "localhost")
        self.accessgov_cert, self.accessgov_key = self._issue("accessgov", ACCESSGOV_HOST)

    def _issue(self, name: str, *identities: str) -> tuple[Path, Path]:
        issued = self.ca.issue_cert(*identities)
        cert, key = self.directory / f"{name}.pem", self.directory / f"{name}.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
        issued.private_key_pem.write_to_path(key)
        return cert, key

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@dataclass
class Upstream:
    """The sample platform API (examples/gateway/upstream.py)."""

    process: subprocess.Popen
    port: int

    def _get(self, method: str, path: str) -> int:
        response = httpx.request(method, f"http://127.0.0.1:{self.port}{path}", timeout=10)
        response.raise_for_status()
        return response.json()["Hits"]

    def hits(self) -> int:
        """Return how many requests reached the platform's API since the last reset."""
        return self._get("GET", "/__hits")

    def reset(self) -> None:
        self._get("POST", "/__reset")


@dataclass
class Gateway:
    """One running gateway (nginx or Caddy) with the configuration it was given."""

    kind: str
    port: int
    tls: Tls
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"https://{GATEWAY_ADDRESS}:{self.port}"

    def client(self, *, source: str = "127.0.0.1", **kwargs) -> httpx.Client:
        """Return an HTTPS client of this gateway connecting from SOURCE (a loopback address)."""
        transport = httpx.HTTPTransport(verify=self.tls.client_context(), local_address=source)
        return httpx.Client(base_url=self.base, transport=transport, timeout=30, **kwargs)

    def log(self) -> str:
        found = [path for path in sorted(self.directory.glob("*.log")) if path.stat().st_size]
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in found)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def start_gateway(
    kind: str, *, workdir: Path, tls: Tls, key: str, accessgov_address: str, upstream_address: str
) -> Gateway:
    """Start nginx or Caddy with its example configuration filled in, in the foreground."""
    binary = require_binary(kind)
    directory = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=workdir))
    # nginx's workers run as nobody when the master is root: they must reach their temp files.
    directory.chmod(0o755)
    gateway = Gateway(kind=kind, port=free_port(), tls=tls, directory=directory)
    common = {
        "TLS_CERT": str(tls.gateway_cert),
        "TLS_KEY": str(tls.gateway_key),
        "ACCESSGOV_ADDRESS": accessgov_address,
        "ACCESSGOV_HOST": ACCESSGOV_HOST,
        "ACCESSGOV_CA": str(tls.ca_file),
        "GATEWAY_KEY": key,
        "UPSTREAM_ADDRESS": upstream_address,
        "SERVER_NAME": GATEWAY_ADDRESS,
    }
    env = dict(os.environ)
    if kind == "nginx":
        config = directory / "nginx.conf"
        config.write_text(
            fill(
                EXAMPLES / "nginx.conf",
                {**common, "PREFIX": str(directory), "LISTEN": f"{GATEWAY_ADDRESS}:{gateway.port}"},
            )
        )
        command = [binary, "-e", "stderr", "-p", str(directory), "-c", str(config)]
    else:
        config = directory / "Caddyfile"
        config.write_text(
            fill(
                EXAMPLES / "Caddyfile",
                {**common, "LISTEN_ADDRESS": GATEWAY_ADDRESS, "LISTEN_PORT": str(gateway.port)},
            )
        )
        command = [binary, "run", "--adapter", "caddyfile", "--config", str(config)]
        # Caddy keeps its state under these: in the test's directory, never the user's.
        env.update(
            HOME=str(directory),
            XDG_DATA_HOME=str(directory / "data"),
            XDG_CONFIG_HOME=str(directory / "config"),
        )
    with open(directory / "server.log", "ab") as log:
        gateway.process = subprocess.Popen(
            command, cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_for_port(gateway.port, process=gateway.process)
    except RuntimeError as error:
        gateway.stop()
        raise RuntimeError(f"{kind} did not start: {error}\n{gateway.log()}") from error
    return gateway


# Session-wide servers.


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """A directory for the session's certificates, configurations and logs.

    Removed at the end, unless ACCESSGOV_KEEP_GATEWAY_LOGS=1 (its path is then printed).
    """
    directory = Path(tempfile.mkdtemp(prefix="accessgov-gateway-"))
    directory.chmod(0o755)
    yield directory
    if os.environ.get("ACCESSGOV_KEEP_GATEWAY_LOGS") == "1":
        print(f"\ngateway test logs kept in {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def tls(workdir) -> Tls:
    return Tls(workdir)


@pytest.fixture(scope="session")
def gateway_key_row(django_db_setup, django_db_blocker) -> tuple[str, dict]:
    """Make the gateways' key with the action, once; return it and its row, restored per test."""
    with django_db_blocker.unblock():
        key, raw = issue_gateway_key(name="tests/gateway", by=None)
    return raw, {f.attname: getattr(key, f.attname) for f in GatewayKey._meta.concrete_fields}


def start_accessgov(workdir: Path, tls: Tls, *, name: str, workers: int = 4, **overrides: str) -> AppServer:
    """Start accessgov under gunicorn (TLS) on the suite's PostgreSQL test database and Redis.

    OVERRIDES change its environment, e.g. REDIS_URL or DATABASE_URL pointing where nothing listens.
    """
    env = app_environment(
        database_url=suite_database_url(),
        redis_url=settings.CACHES["default"]["LOCATION"],
        # The test process and the server share one key prefix, as a deployment's servers do.
        key_prefix=settings.CACHES["default"]["KEY_PREFIX"],
        ALLOWED_HOSTS=ACCESSGOV_HOST,
        ACCESSGOV_CATALOGUE=str(CATALOGUE),
        ACCESSGOV_GATEWAY_NETWORKS="127.0.0.1/32",
        ACCESSGOV_API_FAILURE_TIERS=f"{FAILURE_THRESHOLD}/60/60",
        DATABASE_CONN_MAX_AGE="60",
        **overrides,
    )
    server = AppServer(
        env=env,
        log_path=workdir / f"{name}.log",
        workers=workers,
        options=["--certfile", str(tls.accessgov_cert), "--keyfile", str(tls.accessgov_key)],
    )
    try:
        server.start()
        _wait_until_it_answers(server, tls)
    except BaseException:
        server.stop()
        raise
    return server


def require_postgres_and_redis() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL (CI runs this on the machine's PostgreSQL)")
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("needs Redis: set REDIS_URL (CI runs this on the machine's Redis)")


@pytest.fixture(scope="session")
def accessgov(django_db_setup, workdir, tls) -> Iterator[AppServer]:
    """accessgov under gunicorn (TLS, 4 workers) on the suite's PostgreSQL test database and Redis."""
    require_postgres_and_redis()
    server = start_accessgov(workdir, tls, name="accessgov")
    try:
        yield server
    finally:
        server.stop()


def _wait_until_it_answers(server: AppServer, tls: Tls, timeout: float = START_TIMEOUT) -> None:
    # gunicorn listens before its workers have loaded Django; a gateway's first question must
    # not wait for that (nginx gives up on a TLS handshake after its connect timeout).
    deadline = time.monotonic() + timeout
    with httpx.Client(verify=tls.client_context(), timeout=5) as client:
        while True:
            try:
                client.get(
                    f"https://127.0.0.1:{server.port}/healthz",
                    headers={"Host": ACCESSGOV_HOST},
                    extensions={"sni_hostname": ACCESSGOV_HOST},
                )
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"accessgov did not answer:\n{server.log()[-3000:]}") from None
                time.sleep(0.2)


@pytest.fixture(scope="session")
def upstream_server(workdir) -> Iterator[Upstream]:
    port = free_port()
    with open(workdir / "upstream.log", "ab") as log:
        process = subprocess.Popen(
            [PYTHON, str(EXAMPLES / "upstream.py"), "127.0.0.1", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process=process)
        yield Upstream(process=process, port=port)
    finally:
        stop_process(process)


def _session_gateway(kind: str, request, workdir, tls, gateway_key_row, upstream_server) -> Iterator[Gateway]:
    require_binary(kind)  # before accessgov is started for nothing
    accessgov = request.getfixturevalue("accessgov")
    gateway = start_gateway(
        kind,
        workdir=workdir,
        tls=tls,
        key=gateway_key_row[0],
        accessgov_address=f"127.0.0.1:{accessgov.port}",
        upstream_address=f"127.0.0.1:{upstream_server.port}",
    )
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def nginx(request, workdir, tls, gateway_key_row, upstream_server) -> Iterator[Gateway]:
    yield from _session_gateway("nginx", request, workdir, tls, gateway_key_row, upstream_server)


@pytest.fixture(scope="session")
def caddy(request, workdir, tls, gateway_key_row, upstream_server) -> Iterator[Gateway]:
    yield from _session_gateway("caddy", request, workdir, tls, gateway_key_row, upstream_server)


# Per test.


@pytest.fixture(autouse=True)
def _gateway_key_in_place(transactional_db, gateway_key_row) -> None:
    """Put the gateways' key back: the previous test's tables were emptied after it."""
    _, row = gateway_key_row
    GatewayKey.objects.get_or_create(pk=row["id"], defaults=row)


@pytest.fixture
def upstream(upstream_server) -> Upstream:
    """The sample platform API, its hit counter at zero."""
    upstream_server.reset()
    return upstream_server


@pytest.fixture(params=KINDS)
def gateway(request, upstream) -> Gateway:
    """Each gateway in turn (the test runs once through nginx, once through Caddy)."""
    return request.getfixturevalue(request.param)
