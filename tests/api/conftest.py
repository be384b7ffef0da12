"""Fixtures of the REST API tests: credentials of an enabled tenant, and two ways to call /api/v1/.

Most tests call the API through Django's test client marked secure (`api`): the answer is the
same as behind a TLS terminator, without a server thread and a TLS handshake per test. The few
tests about what only a real socket shows use the live HTTPS server (`http`).
"""

import os
import socket
import threading
import uuid

import httpx
import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from accessgov.policy import actions
from accessgov.usage import counting
from tests.conftest import TEST_REDIS_URL, delete_redis_keys, trusting
from tests.factories import ThirdPartyTokenFactory, UserFactory

API = "/api/v1/"
ALL_READ = [
    "Me.Read",
    "Organizations.Read",
    "AuditEvents.Read",
    "RateLimits.Read",
    "WebhookDomains.Read",
    "Usage.Read",
]


@pytest.fixture
def token(enabled_tenant):
    """Return an active token of `tenant` with every read permission; `token.secret` is its secret."""
    return ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=ALL_READ + ["Notify.Send"])


@pytest.fixture
def api_key(enabled_tenant):
    key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=UserFactory(), ip=None)
    key.raw = raw
    return key


class ApiClient:
    """Django's test client for /api/v1/ (or ROOT, e.g. OPERATOR_API) over HTTPS (`secure=True`),
    from 127.0.0.1.

    PATH is relative to the root; AUTHORIZATION is the whole header value (`basic_auth(...)`,
    `bearer_auth(...)`); a POST, PUT or PATCH body is JSON.
    """

    def __init__(self, root: str = API):
        self.client = Client()
        self.root = root

    def _call(self, method: str, path: str, authorization: str | None, headers: dict | None, **kwargs):
        headers = dict(headers or {})
        if authorization is not None:
            headers["Authorization"] = authorization
        return getattr(self.client, method)(self.root + path, headers=headers, secure=True, **kwargs)

    def get(self, path: str, authorization: str | None = None, *, params=None, headers=None):
        return self._call("get", path, authorization, headers, data=params)

    def post(self, path: str, authorization: str | None = None, *, json=None, content=None, headers=None):
        body = content if content is not None else json
        return self._call("post", path, authorization, headers, data=body, content_type="application/json")

    def put(self, path: str, authorization: str | None = None, *, json=None, content=None, headers=None):
        body = content if content is not None else json
        return self._call("put", path, authorization, headers, data=body, content_type="application/json")

    def patch(self, path: str, authorization: str | None = None, *, json=None, content=None, headers=None):
        body = content if content is not None else json
        return self._call("patch", path, authorization, headers, data=body, content_type="application/json")

    def delete(self, path: str, authorization: str | None = None, *, headers=None):
        return self._call("delete", path, authorization, headers)


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


@pytest.fixture
def http(tls_server, ca_file):
    """Return an httpx client for the TLS live server that verifies its certificate."""
    with httpx.Client(base_url=f"{tls_server}{API}", verify=trusting(ca_file), timeout=10) as client:
        yield client


def error_of(response) -> tuple[int, str]:
    """Return the status and error code of an API refusal, checking the envelope agrees."""
    body = response.json()
    assert body["Meta"]["ResponseCode"] == response.status_code
    assert body["Error"]["Message"]
    return response.status_code, body["Error"]["Code"]


class SilentServer:
    """A TCP server on loopback that accepts connections and never answers, as a hung Redis does.

    Each connection is closed after HANG_SECONDS, so code without timeouts fails its test slowly
    instead of hanging it.
    """

    HANG_SECONDS = 5.0

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Timer(self.HANG_SECONDS, conn.close).start()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hung_redis(settings):
    """Make the suite's cache a Redis that accepts and never answers, with the settings' options."""
    server = SilentServer()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": f"hung-{uuid.uuid4().hex}",
            "OPTIONS": settings.ACCESSGOV_REDIS_OPTIONS,
        }
    }
    yield server
    server.close()


@pytest.fixture
def real_redis(settings):
    """Make the suite's cache this run's real Redis under a fresh prefix (the warm path needs it)."""
    prefix = f"redis-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
            "OPTIONS": settings.ACCESSGOV_REDIS_OPTIONS,
        }
    }
    try:
        caches["default"]._cache.get_client(None, write=True).ping()
    except Exception:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("Redis is not running here (CI always runs these)")
    yield
    delete_redis_keys(caches["default"], prefix)


@pytest.fixture(params=["redis", "database"])
def store(request, settings, db):
    """The shared cache the limits and usage count in: this run's Redis, or the embedded database cache."""
    if request.param == "redis":
        request.getfixturevalue("real_redis")
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "accessgov_cache",
                "KEY_PREFIX": f"usage-{uuid.uuid4().hex}",
            }
        }
        call_command("createcachetable", "accessgov_cache")
    counting.discard()
    return request.param
