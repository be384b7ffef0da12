"""A live HTTPS server (self-signed certificate made here) and an HTTP client that trusts it."""

import ssl

import httpx
import pytest
import trustme
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from accessgov.policy import actions
from tests.factories import ThirdPartyTokenFactory, UserFactory


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
def tls_server(transactional_db, certificate_authority, tmp_path):
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
    path = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def http(tls_server, ca_file):
    """Return an httpx client for the TLS live server that verifies its certificate."""
    with httpx.Client(base_url=f"{tls_server}/api/v1/", verify=trusting(ca_file), timeout=10) as client:
        yield client


ALL_READ = ["Me.Read", "Organizations.Read", "AuditEvents.Read", "RateLimits.Read", "WebhookDomains.Read"]


@pytest.fixture
def token(enabled_tenant):
    """Return an active token of `tenant` with every read permission; `token.secret` is its secret."""
    return ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=ALL_READ + ["Notify.Send"])


@pytest.fixture
def api_key(enabled_tenant):
    key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=UserFactory(), ip=None)
    key.raw = raw
    return key


def trusting(ca_file: str) -> ssl.SSLContext:
    """Return a client TLS context that trusts only the test CA."""
    return ssl.create_default_context(cafile=ca_file)


def basic(token) -> tuple[str, str]:
    return (token.token_id, token.secret)
