"""Real servers for the operations tests: gunicorn app servers, a throwaway PostgreSQL and Redis.

Everything listens on 127.0.0.1 on a free port, is started by the test that needs it and stopped by
it, and every wait is bounded. The machine's shared PostgreSQL (5432) and Redis (6379) are never
stopped or reconfigured: the fault tests stop only the servers they started themselves.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
START_TIMEOUT = 30.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, *, timeout: float = START_TIMEOUT, process: subprocess.Popen | None = None
) -> None:
    """Wait until something accepts connections on PORT, or fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop_process(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Stop PROCESS and everything it started (its own session), by its id only."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def app_environment(
    *, database_url: str, redis_url: str, key_prefix: str, **overrides: str
) -> dict[str, str]:
    """Return the environment of an app server as README's deployment section describes it.

    Production settings (DEBUG off) behind a TLS proxy on 127.0.0.1 that sets X-Forwarded-Proto
    and X-Forwarded-For itself, with the test suite's secret key and pepper so that credentials
    made by the test verify on the servers.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "ACCESSGOV_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="accessgov.settings",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        ACCESSGOV_KEY_PEPPER=settings.KEY_PEPPERS[settings.KEY_PEPPER_ID],
        ACCESSGOV_KEY_PEPPER_ID=settings.KEY_PEPPER_ID,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=key_prefix,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_PROXY_SSL_HEADER="true",
        ACCESSGOV_TRUSTED_PROXIES="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if not redis_url:
        env.pop("REDIS_URL")
    env.update(overrides)
    return env


@dataclass
class AppServer:
    """One gunicorn app server on a loopback port, reached as if through the TLS proxy."""

    env: dict[str, str]
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    # More gunicorn options, e.g. ["--certfile", ..., "--keyfile", ...] to serve TLS itself.
    options: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AppServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "accessgov.wsgi",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
                *self.options,
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, *, client_ip: str = "192.0.2.10", **kwargs) -> httpx.Client:
        """Return an HTTP client that talks to this server as the TLS proxy would."""
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": client_ip}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.base, headers=headers, timeout=15, **kwargs)


def suite_database_url() -> str:
    """Return the URL of the test database pytest-django made, for servers that share it."""
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    host = params["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{params['PORT'] or 5432}/{params['NAME']}"


@dataclass
class ConsoleSession:
    """A signed-in console session usable against any app server (sessions live in the database)."""

    session_key: str
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))

    def headers(self, server: AppServer) -> dict[str, str]:
        # The CSRF cookie and the token we send agree, and Origin is the server's own HTTPS
        # origin, exactly what a browser behind the proxy would send.
        return {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session_key}; {settings.CSRF_COOKIE_NAME}={self.csrf}",
            "X-CSRFToken": self.csrf,
            "Origin": f"https://127.0.0.1:{server.port}",
        }

    def post(self, server: AppServer, path: str, data: dict[str, str]) -> httpx.Response:
        with server.client() as client:
            return client.post(path, data=data, headers=self.headers(server))

    def get(self, server: AppServer, path: str) -> httpx.Response:
        with server.client() as client:
            return client.get(path, headers=self.headers(server))


def console_session_for(user) -> ConsoleSession:
    """Sign USER in through Django's test client and return the session for real servers."""
    client = Client()
    client.force_login(user)
    return ConsoleSession(client.cookies[settings.SESSION_COOKIE_NAME].value)


# Throwaway servers for the fault tests.


def _as_postgres_user() -> list[str]:
    # initdb and postgres refuse to run as root; on a root shell they run as the postgres user.
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def postgres_binaries() -> Path | None:
    """Return the directory with initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found and shutil.which("pg_ctl") else None


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, on its own port, that tests may stop."""

    def __init__(self):
        self.bin = postgres_binaries()
        if self.bin is None:
            pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="accessgov-ops-pg-"))
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            [*_as_postgres_user(), str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"]
            + ["--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*_as_postgres_user(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile)]
            + ["-o", options, "-w", "-t", "30", "start"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            [*_as_postgres_user(), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode]
            + ["-w", "-t", "30", "stop"],
            capture_output=True,
            timeout=60,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server on its own port, keeping nothing on disk, that tests may stop and restart."""

    def __init__(self):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(self.port, process=self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGKILL)
            self.process = None


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    """Run manage.py ARGS in ENV and return what it printed."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
