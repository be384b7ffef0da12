"""Nothing outbound inside a web request: a tenant sending test events to receivers that answer one
byte a second neither waits for them nor slows another tenant's API calls."""

import time

import pytest
from django.test import Client

from tests.conftest import basic_auth, enable_api
from tests.factories import ThirdPartyTokenFactory, UserFactory, WebhookDestinationFactory
from tests.webhooks.conftest import RECEIVER_HOST
from tests.webhooks.receiver import start_receiver
from webhooks.models import DeliveryState, WebhookDelivery

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/webhooks/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def trickling(tmp_path, tenant, approved, loopback_settings):
    """Two destinations of `tenant` on receivers that answer one byte a second."""
    found = []
    servers = []
    cas = []
    for index in range(2):
        (tmp_path / str(index)).mkdir()
        receiver, server = start_receiver(tmp_path / str(index), [RECEIVER_HOST])
        cas.append(receiver.ca.cert_pem.bytes())
        receiver.behaviour.mode = "trickle"
        servers.append(server)
        found.append(
            WebhookDestinationFactory(
                tenant=tenant,
                url=f"https://{RECEIVER_HOST}:{receiver.port}/hooks",
                host=RECEIVER_HOST,
                events=["test"],
            )
        )
    # Trusted, so that a sender would really wait on them rather than fail the TLS handshake.
    (tmp_path / "cas.pem").write_bytes(b"".join(cas))
    loopback_settings.ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE = str(tmp_path / "cas.pem")
    yield found
    for server in servers:
        server.shutdown()
        server.server_close()


def test_test_events_to_slow_receivers_answer_at_once_and_another_tenant_keeps_its_latency(
    admin_client, trickling, other_tenant
):
    enable_api(other_tenant, by=UserFactory())
    token = ThirdPartyTokenFactory(tenant=other_tenant, permissions=["Me.Read"])
    rival = Client()
    auth = {"Authorization": basic_auth(token.token_id, token.secret)}
    assert rival.get("/api/v1/Me", headers=auth, secure=True).status_code == 200  # warm
    for destination in trickling * 2:
        started = time.monotonic()
        response = admin_client.post(URL + f"destinations/{destination.pk}/test/", **HTMX)
        assert time.monotonic() - started < 0.5
        assert "Sending…" in response.text
        started = time.monotonic()
        assert rival.get("/api/v1/Me", headers=auth, secure=True).status_code == 200
        assert time.monotonic() - started < 0.5
    assert WebhookDelivery.objects.filter(state=DeliveryState.PENDING).count() == 4
