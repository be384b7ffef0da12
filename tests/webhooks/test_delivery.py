"""Sending over real TLS to a loopback receiver, and the SSRF policy (attack catalogue cases 27-30)."""

import json
import socket
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.webhooks.conftest import RECEIVER_HOST, FakeDns
from webhooks import delivery, signing
from webhooks.delivery import SafeSender, address_refusal


def _post(sender: SafeSender, receiver, secret: str, path="/hooks", body=None):
    body = body or json.dumps({"type": "test", "data": {"n": 1}})
    headers = signing.signature_headers(
        secrets_in_use=[secret],
        message_id=signing.generate_message_id(),
        timestamp=datetime.now(tz=UTC),
        body=body,
    )
    return sender.post(host=RECEIVER_HOST, port=receiver.port, path=path, headers=headers, body=body.encode())


def test_a_delivery_reaches_a_real_https_receiver_that_verifies_it_with_standardwebhooks(sender, receiver):
    receiver.secret = signing.generate_secret()
    result = _post(sender, receiver, receiver.secret)
    assert result.ok and result.status_code == 200 and not result.error
    assert result.response_excerpt == '{"received": true}'
    assert result.address == "127.0.0.1"
    [received] = receiver.received
    assert received.verified, received.error
    assert received.payload == {"type": "test", "data": {"n": 1}}
    assert received.headers["host"] == f"{RECEIVER_HOST}:{receiver.port}"
    assert received.headers["content-type"] == "application/json"


def test_a_receiver_with_another_secret_refuses_and_the_attempt_fails(sender, receiver):
    receiver.secret = signing.generate_secret()
    result = _post(sender, receiver, signing.generate_secret())
    assert result.status_code == 401 and not result.ok
    assert not receiver.received[0].verified


def test_the_certificate_is_verified_against_the_host_name(receiver, dns):
    untrusting = SafeSender(resolver=dns, allow_loopback=True, total_timeout=3.0)
    result = _post(untrusting, receiver, signing.generate_secret())
    assert result.status_code is None and "TLS certificate" in result.error
    assert receiver.received == []


def test_a_certificate_for_another_name_is_refused(receiver):
    # The receiver's certificate names hooks.example.com; the name asked for here is different.
    dns = FakeDns({"elsewhere.example.com": ["127.0.0.1"]})
    sender = SafeSender(
        resolver=dns, ssl_context=receiver.client_context(), allow_loopback=True, total_timeout=3.0
    )
    result = sender.post(host="elsewhere.example.com", port=receiver.port, path="/", headers={}, body=b"{}")
    assert "TLS certificate" in result.error and receiver.received == []


BLOCKED_ANSWERS = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "::ffff:127.0.0.1",
    "169.254.169.254",
    "fe80::1",
    "100.64.0.1",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "fd00::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.2.1",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:5",  # NAT64 wrapping 10.0.0.5
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::ffff:10.0.0.5",
    "::ffff:169.254.169.254",
    "fec0::1",  # IPv6 site-local
    "feff:ffff::1",  # the top of fec0::/10
    "3fff::1",  # IPv6 documentation (RFC 9637)
    "3fff:fff:ffff::1",  # the top of 3fff::/20
]


@pytest.mark.parametrize("address", BLOCKED_ANSWERS)
def test_case_27_a_name_resolving_to_an_internal_address_is_refused_at_send(address):
    sender = SafeSender(resolver=FakeDns({"hooks.example.com": [address]}))
    result = sender.post(host="hooks.example.com", port=443, path="/", headers={}, body=b"{}")
    assert not result.connected and result.status_code is None
    assert result.error.startswith("Refused: hooks.example.com resolves to")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"])
def test_global_addresses_are_allowed(address):
    assert address_refusal(address) is None


def test_the_loopback_setting_admits_loopback_only():
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("::1", allow_loopback=True) is None
    assert address_refusal("::ffff:127.0.0.1", allow_loopback=True) is None
    for address in ["10.0.0.5", "169.254.169.254", "192.168.0.1", "fd00::1", "100.64.0.1"]:
        assert address_refusal(address, allow_loopback=True) is not None


def test_case_28_a_name_rebound_to_a_private_address_is_refused_at_send():
    dns = FakeDns({"hooks.example.com": ["93.184.215.14"]})
    sender = SafeSender(resolver=dns)
    assert sender.check_host("hooks.example.com") == (["93.184.215.14"], "")
    dns.table["hooks.example.com"] = ["10.0.0.5"]
    result = sender.post(host="hooks.example.com", port=443, path="/", headers={}, body=b"{}")
    assert not result.connected and "10.0.0.5" in result.error
    # A mixed answer is refused whole: a rebinding server would pick its moment otherwise.
    dns.table["hooks.example.com"] = ["93.184.215.14", "10.0.0.5"]
    result = sender.post(host="hooks.example.com", port=443, path="/", headers={}, body=b"{}")
    assert not result.connected and "10.0.0.5" in result.error


def test_the_checked_address_is_the_one_connected_to_with_no_second_lookup(receiver):
    class OneAnswerThenRebind(FakeDns):
        def __call__(self, host, port):
            answer = super().__call__(host, port)
            self.table[host] = ["10.0.0.5"]  # any later lookup would get this
            return answer

    dns = OneAnswerThenRebind({RECEIVER_HOST: ["127.0.0.1"]})
    sender = SafeSender(
        resolver=dns, ssl_context=receiver.client_context(), allow_loopback=True, total_timeout=3.0
    )
    receiver.secret = signing.generate_secret()
    result = _post(sender, receiver, receiver.secret)
    assert result.ok and result.address == "127.0.0.1"
    assert dns.lookups == [RECEIVER_HOST]


def test_case_29_a_redirect_to_an_internal_url_is_not_followed(sender, receiver):
    receiver.secret = signing.generate_secret()
    receiver.behaviour.mode = "redirect"
    receiver.behaviour.redirect_to = f"https://{RECEIVER_HOST}:{receiver.port}/internal-admin"
    result = _post(sender, receiver, receiver.secret)
    assert result.status_code == 302 and not result.ok
    assert "Redirect not followed" in result.error
    assert [r.path for r in receiver.received] == ["/hooks"]


def test_case_30_a_slow_dripping_receiver_is_cut_off_at_the_total_time_limit(receiver, dns):
    sender = SafeSender(
        resolver=dns, ssl_context=receiver.client_context(), allow_loopback=True, total_timeout=1.0
    )
    receiver.behaviour.mode = "drip"
    started = time.monotonic()
    result = _post(sender, receiver, signing.generate_secret())
    elapsed = time.monotonic() - started
    assert "Timed out after 1 s" in result.error and not result.ok
    assert elapsed < 2.5


def test_case_30_a_one_gigabyte_body_is_capped_and_never_shown(receiver, dns):
    sender = SafeSender(
        resolver=dns,
        ssl_context=receiver.client_context(),
        allow_loopback=True,
        total_timeout=5.0,
        max_response_bytes=1024,
    )
    receiver.behaviour.mode = "huge"
    started = time.monotonic()
    result = _post(sender, receiver, signing.generate_secret())
    assert result.status_code == 200
    assert "over 1 KiB: not read or shown" in result.error
    assert result.response_excerpt == ""
    assert time.monotonic() - started < 3


def test_a_closed_port_fails_quickly_with_a_clear_error(dns):
    sender = SafeSender(resolver=dns, allow_loopback=True, connect_timeout=1.0, total_timeout=2.0)
    result = sender.post(host=RECEIVER_HOST, port=9, path="/", headers={}, body=b"{}")
    assert result.status_code is None and "Could not connect to 127.0.0.1 port 9" in result.error


def test_an_unresolvable_name_is_reported_not_raised():
    result = SafeSender(resolver=FakeDns()).post(
        host="nowhere.example.com", port=443, path="/", headers={}, body=b""
    )
    assert "DNS lookup of nowhere.example.com failed" in result.error


@pytest.fixture
def hanging_dns(monkeypatch):
    """A resolver that never answers until the test ends (as a dead DNS server does)."""
    release = threading.Event()

    def hang(host: str, port: int) -> list[str]:
        release.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(delivery, "resolve_host", hang)
    yield hang
    release.set()


def test_a_hanging_dns_lookup_gives_up_within_its_bound_counted_in_the_total_time(settings, hanging_dns):
    settings.ACCESSGOV_WEBHOOKS_DNS_TIMEOUT = 0.3
    started = time.monotonic()
    result = delivery.sender_from_settings().post(
        host="hangs.example.com", port=443, path="/", headers={}, body=b"{}"
    )
    assert time.monotonic() - started < 1.0
    assert result.status_code is None
    assert result.error == "DNS lookup of hangs.example.com timed out after 0.3 s."
    assert 250 <= result.duration_ms < 1000


def test_the_dns_deadline_is_never_longer_than_the_total_time(hanging_dns):
    sender = SafeSender(resolver=hanging_dns, dns_timeout=5.0, total_timeout=0.2)
    started = time.monotonic()
    result = sender.post(host="hangs.example.com", port=443, path="/", headers={}, body=b"{}")
    assert time.monotonic() - started < 1.0 and "timed out after 0.2 s" in result.error
