"""Fixtures for the Webhook API: a loopback HTTPS receiver, DNS answers for external names, senders."""

import socket

import pytest

from tests.factories import ApprovedWebhookDomainFactory, WebhookDestinationFactory
from tests.webhooks.receiver import start_receiver
from webhooks import delivery

RECEIVER_HOST = "hooks.example.com"


class FakeDns:
    """Answers for external names, as a DNS server would; unknown names do not resolve."""

    def __init__(self, table: dict[str, list[str]] | None = None):
        self.table = dict(table or {})
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    """Replace the system resolver for the whole process (the console and the worker use it)."""
    fake = FakeDns({RECEIVER_HOST: ["127.0.0.1"], "other.example.com": ["127.0.0.1"]})
    monkeypatch.setattr(delivery, "resolve_host", fake)
    return fake


@pytest.fixture
def receiver(tmp_path):
    """Start a loopback HTTPS receiver for hooks.example.com; stop it after the test."""
    found, server = start_receiver(tmp_path, [RECEIVER_HOST, "other.example.com"])
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_settings(settings, receiver, dns):
    """Let the console and the worker deliver to the loopback receiver, trusting its test CA."""
    settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = True
    settings.ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE = receiver.ca_path
    settings.ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT = 3.0
    return settings


@pytest.fixture
def sender(receiver, dns) -> delivery.SafeSender:
    """Return a sender that trusts the receiver's CA and may reach loopback."""
    return delivery.SafeSender(
        resolver=dns, ssl_context=receiver.client_context(), allow_loopback=True, total_timeout=3.0
    )


@pytest.fixture
def approved(enabled_tenant):
    return ApprovedWebhookDomainFactory(tenant=enabled_tenant, domain=RECEIVER_HOST)


@pytest.fixture
def destination(tenant, approved, receiver):
    """A destination of `tenant` on the loopback receiver, whose secret the receiver knows."""
    found = WebhookDestinationFactory(
        tenant=tenant,
        url=f"https://{RECEIVER_HOST}:{receiver.port}/hooks",
        host=RECEIVER_HOST,
        events=["notify", "test", "domain.added", "domain.removed", "api_key.created", "api_access.disabled"],
    )
    receiver.secret = found.signing_secret
    return found
