"""Fixtures and helpers shared by the whole suite.

Two tenants and their people, signed-in clients, the one way a test turns API access on
(`enabled_tenant`, or `enable_api` for a second tenant), the Authorization values credentials are
sent with (`basic_auth`, `bearer_auth`), a live HTTPS server, and a cache emptied between tests.
"""

import base64
import contextlib
import email
import email.policy
import os
import re
import socket
import ssl
from itertools import batched

import pytest
import trustme
from aiosmtpd.controller import Controller
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, connections
from django.test import Client
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accessgov.api import cache as credentials
from accessgov.api import limits
from accessgov.core.catalogue import OPERATOR_PERMISSIONS
from accessgov.operator.actions import issue_operator_key
from accessgov.policy import actions
from accessgov.policy.models import PolicyVersion
from accessgov.usage import counting as usage_counting
from tenants.models import Role, Tenant
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    PolicyVersionFactory,
    TenantFactory,
    UserFactory,
)

# The test OpenID Connect provider (oidc_provider, sso) for tests/sso and the browser's SSO flow.
pytest_plugins = ["tests.sso.oidc"]

DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}

# The Redis that tests of Redis-only code use whatever the suite's own cache is (the limiter's
# scripts, the credential cache): this run's REDIS_URL when it has one, so a run stays in the
# database number it was given.
TEST_REDIS_URL = (
    os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
)


# --- Credentials on the wire -------------------------------------------------------------------


def basic_auth(user: str, password: str) -> str:
    """Return the HTTP Basic Authorization value for USER and PASSWORD.

    A third-party token is sent as its ID and secret; an OAuth client authenticates to /o/token/
    with its client ID and secret the same way.
    """
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def bearer_auth(credential: str) -> str:
    """Return the Bearer Authorization value for CREDENTIAL (an API key or an OAuth access token)."""
    return f"Bearer {credential}"


# --- The cache between tests -------------------------------------------------------------------


def delete_redis_keys(cache: RedisCache, prefix: str) -> None:
    """Delete the keys of CACHE's Redis that belong to PREFIX ("PREFIX:..."), and nothing else.

    Other test runs, and whatever else uses that Redis database, keep their keys: FLUSHDB would
    empty theirs too. Django's keys ("PREFIX:1:name") and the limiter's ("PREFIX:api:...") both
    start with the prefix and a colon.
    """
    if not prefix:
        raise ValueError("refusing to delete the keys of an empty prefix: that is every key")
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + ":*"  # the prefix matched literally
    client = cache._cache.get_client(None, write=True)
    for keys in batched(client.scan_iter(match=pattern, count=1000), 500):
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _empty_cache(request):
    """Start every test with no rate-limit counters or cached credentials left by another.

    With Redis, only this run's keys go: the test settings give them the prefix
    accessgov-test-<pid>. The embedded default keeps the cache in the database, so it is only
    reachable (and only needs clearing) in tests that use the database.
    """
    credentials.clear()
    limits.breaker.reset()
    usage_counting.discard()
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        delete_redis_keys(cache, prefix)
        yield
        delete_redis_keys(cache, prefix)
        return
    uses_db = request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames)
    if not uses_db:
        yield
        return
    names = set(request.fixturenames)
    request.getfixturevalue("transactional_db" if names & {"transactional_db", "live_server"} else "db")
    cache.clear()
    yield
    cache.clear()


# --- Tenants, people and API access ------------------------------------------------------------


def current_policy() -> PolicyVersion:
    """Return the API Policy version the migrations publish.

    Transactional tests empty every table afterwards, the migration's row included, so it is
    made again when missing.
    """
    return PolicyVersion.objects.current() or PolicyVersionFactory(version="1.0")


def enable_api(tenant: Tenant, *, by) -> Tenant:
    """Turn TENANT's API access on the way its administrator does: BY agrees to the API Policy.

    Going through the action leaves what production leaves: the acceptance, the active API user
    and the "policy.agreed" audit event.
    """
    actions.agree_to_policy(tenant=tenant, version=current_policy(), by=by, ip=None)
    return tenant


@pytest.fixture
def policy(db) -> PolicyVersion:
    """Return the API Policy version the migrations publish."""
    return current_policy()


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme MSP", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Rival MSP", slug="rival")


@pytest.fixture
def organizations(tenant):
    return [
        OrganizationFactory(tenant=tenant, name="Contoso"),
        OrganizationFactory(tenant=tenant, name="Fabrikam"),
    ]


@pytest.fixture
def admin_user(tenant):
    user = UserFactory(username="acme-admin")
    MembershipFactory(user=user, tenant=tenant, role=Role.ADMINISTRATOR)
    return user


@pytest.fixture
def tech_user(tenant):
    user = UserFactory(username="acme-tech")
    MembershipFactory(user=user, tenant=tenant, role=Role.TECHNICIAN)
    return user


@pytest.fixture
def other_admin(other_tenant):
    user = UserFactory(username="rival-admin")
    MembershipFactory(user=user, tenant=other_tenant, role=Role.ADMINISTRATOR)
    return user


def _client_for(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def verified_client_for(user) -> Client:
    """Return a client signed in as USER whose session passed a second factor (a TOTP device)."""
    client = _client_for(user)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def admin_client(admin_user) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def tech_client(tech_user) -> Client:
    return _client_for(tech_user)


@pytest.fixture
def other_admin_client(other_admin) -> Client:
    return _client_for(other_admin)


@pytest.fixture
def staff_client(db) -> Client:
    """Return a client signed in as the operator's support staff (staff and superuser)."""
    # /admin/ answers only staff verified with a second factor (accessgov.mfa.admin).
    return verified_client_for(UserFactory(username="support", is_staff=True, is_superuser=True))


@pytest.fixture
def view_only_staff_client(db) -> Client:
    """Return a client signed in as support staff who may view every model in the admin, change none."""
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return verified_client_for(user)


@pytest.fixture
def enabled_tenant(tenant, admin_user, policy):
    """Return `tenant` after its administrator agreed to the API Policy: API access is on."""
    return enable_api(tenant, by=admin_user)


@pytest.fixture
def contoso(tenant):
    return OrganizationFactory(tenant=tenant, name="Contoso")


@pytest.fixture
def fabrikam(tenant):
    return OrganizationFactory(tenant=tenant, name="Fabrikam")


# --- Query pins --------------------------------------------------------------------------------


def counted_queries(captured: list[dict]) -> list[str]:
    """Return the SQL of CAPTURED (CaptureQueriesContext) without empty savepoints.

    A `transaction.atomic()` block that runs no query (accessgov.usage.rollup copying a credential
    Redis holds nothing new for) is a SAVEPOINT and its RELEASE only inside the test's own
    transaction; in a request (autocommit) it sends nothing. Pins that must hold with the database
    cache and with Redis count the rest.
    """
    kept: list[str] = []
    for statement in (query["sql"] for query in captured):
        opened = kept[-1] if kept else ""
        if statement.startswith("RELEASE SAVEPOINT") and opened == statement.replace("RELEASE ", "", 1):
            kept.pop()
            continue
        kept.append(statement)
    return kept


@pytest.fixture
def assert_queries():
    """Return a context manager asserting that the block runs exactly N queries (counted_queries)."""

    @contextlib.contextmanager
    def _assert(n: int):
        with CaptureQueriesContext(connection) as captured:
            yield captured
        queries = counted_queries(captured.captured_queries)
        assert len(queries) == n, f"{len(queries)} queries, not {n}:\n" + "\n".join(queries)

    return _assert


# --- The operator's keys and API -----------------------------------------------------------------

OPERATOR_API = "/api/operator/v1/"


@pytest.fixture
def make_operator_key(db):
    """Return a function that makes an operator key (as `manage.py create_operator_key` does).

    `make_operator_key("Tenants.Read", name=...)`: the key, with `key.raw` its one-time value, to
    send as `bearer_auth(key.raw)`.
    """
    made = iter(range(1, 1000))

    def make(*permissions: str, name: str | None = None):
        key, raw = issue_operator_key(
            name=name or f"platform sync {next(made)}", permissions=list(permissions), by=None
        )
        key.raw = raw
        return key

    return make


@pytest.fixture
def operator_key(make_operator_key):
    """Return an operator key holding every operator permission; `operator_key.raw` is its value."""
    return make_operator_key(*(p.name for p in OPERATOR_PERMISSIONS), name="platform sync")


@pytest.fixture
def operator_api():
    """Return the test client for /api/operator/v1/ over HTTPS (tests.api.conftest.ApiClient)."""
    from tests.api.conftest import ApiClient  # its module imports this one: imported when used

    return ApiClient(OPERATOR_API)


# --- A live HTTPS server -----------------------------------------------------------------------


class TLSLiveServerThread(LiveServerThread):
    """Django's live server thread, speaking TLS with a certificate from a throwaway CA."""

    def __init__(self, *args, ssl_context, **kwargs):
        self.ssl_context = ssl_context
        super().__init__(*args, **kwargs)

    def _create_server(self, connections_override=None):
        server = super()._create_server(connections_override)
        server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        server.base_environ["HTTPS"] = "on"
        return server


@pytest.fixture(scope="session")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_server(transactional_db, certificate_authority):
    """Start an HTTPS live server on 127.0.0.1 and return its base URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    overrides = {
        conn.alias: conn for conn in connections.all() if conn.vendor == "sqlite" and conn.is_in_memory_db()
    }
    for conn in overrides.values():
        # Share the in-memory SQLite database with the server thread, as LiveServerTestCase does.
        conn.inc_thread_sharing()
    thread = TLSLiveServerThread(
        "127.0.0.1", _StaticFilesHandler, connections_override=overrides, port=0, ssl_context=context
    )
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"https://127.0.0.1:{thread.port}"
    thread.terminate()
    for conn in overrides.values():
        conn.dec_thread_sharing()


@pytest.fixture
def ca_file(certificate_authority, tmp_path):
    """Return the path of a PEM file holding the test CA's certificate."""
    path = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(path))
    return str(path)


def trusting(ca_file: str) -> ssl.SSLContext:
    """Return a client TLS context that trusts only the test CA."""
    return ssl.create_default_context(cafile=ca_file)


# --- A real SMTP server on loopback ------------------------------------------------------------


def smtp_mailer(port: int, timeout: float = 5.0) -> dict:
    """Return a MAILERS entry for plain SMTP on loopback PORT."""
    return {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
    }


class SmtpInbox:
    """What a loopback aiosmtpd server received: each mail parsed, with its envelope recipients."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """Return the mails delivered to ADDRESS."""
        return [m for m in self.messages if address in m["X-Envelope-To"].split(", ")]


@pytest.fixture
def smtp_server(settings):
    """Start an SMTP server on loopback, point Django's SMTP backend at it, and yield its inbox."""
    inbox = SmtpInbox()
    with socket.socket() as probe:  # aiosmtpd checks its server by connecting, so it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {"default": smtp_mailer(port)}
    try:
        yield inbox
    finally:
        controller.stop()
