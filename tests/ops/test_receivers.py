"""Webhook receivers that misbehave, met through the queue as cron meets them: `deliver_webhooks
--once` against real TLS receivers on loopback that hang, answer slowly, send 1 GB or redirect.

Each attempt must end within the total time limit, be in the delivery log (status or error, and
how long it took), never show the receiver's body in full, and leave a retry scheduled.
"""

import re
import socket
import ssl
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
import trustme
from django.core.management import call_command

from tests.factories import ApprovedWebhookDomainFactory, WebhookDestinationFactory
from webhooks import delivery, events
from webhooks.models import DeliveryState, WebhookAttempt
from webhooks.schedule import RETRY_DELAYS

pytestmark = [pytest.mark.ops, pytest.mark.django_db]

HOST = "hooks.example.com"
TOTAL_TIMEOUT = 2.0
SLOW_SECONDS = 1.0
ONE_GIB = 1024**3
HUGE_DEADLINE = 30.0  # the 1 GB sender gives up after this long whatever happens
LONG_REPLY = b"R" * 5000  # longer than the delivery log's excerpt


def _read_request(conn: ssl.SSLSocket) -> bytes:
    """Read one HTTP request (headers and Content-Length body) and return it; bounded by the timeout."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
    return head


class Receiver:
    """A TLS receiver on 127.0.0.1 for HOST that misbehaves as MODE says; every loop is bounded.

    hang: accepts the TCP connection and never says a word (not even the TLS handshake);
    slow: answers 200 after SLOW_SECONDS; huge: answers 200 with a 1 GiB body, streamed until the
    client goes away; huge_error: the same with 503; redirect: answers 302 to the cloud metadata
    address, with a long body.
    """

    def __init__(self, mode: str, ca: trustme.CA):
        self.mode = mode
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(HOST).configure_cert(self.context)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.connections = 0
        self.bytes_sent = 0
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.held: list[socket.socket] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.mode == "hang":
                self.held.append(raw)  # open, silent, until the test ends
                continue
            thread = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                self.requests.append(_read_request(conn))
                if self.mode == "slow":
                    self.stopping.wait(SLOW_SECONDS)
                    conn.sendall(_response(200, b'{"received": true}'))
                elif self.mode == "redirect":
                    conn.sendall(
                        _response(302, LONG_REPLY, b"Location: https://169.254.169.254/latest/meta-data/\r\n")
                    )
                elif self.mode == "huge":
                    self._stream_one_gib(conn, "200 OK")
                elif self.mode == "huge_error":
                    self._stream_one_gib(conn, "503 Service Unavailable")
        except OSError:
            pass  # the client hung up, as it should

    def _stream_one_gib(self, conn: ssl.SSLSocket, status: str) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {ONE_GIB}\r\n\r\n"
        conn.sendall(head.encode())
        chunk = b"A" * 65536
        deadline = time.monotonic() + HUGE_DEADLINE
        while self.bytes_sent < ONE_GIB and time.monotonic() < deadline and not self.stopping.is_set():
            conn.sendall(chunk)  # raises once the client has closed the connection
            self.bytes_sent += len(chunk)

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for sock in self.held:
            sock.close()
        self.acceptor.join(timeout=5)
        for thread in self.threads:
            thread.join(timeout=5)


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    reason = {200: b"OK", 302: b"Found"}[status]
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
        % (status, reason, len(body), extra)
        + body
    )


class CronOutput(StringIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def receivers(tmp_path, settings, monkeypatch):
    """Start one receiver per misbehaviour; the worker trusts their CA and finds HOST on loopback."""
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    started = {mode: Receiver(mode, ca) for mode in ("hang", "slow", "huge", "huge_error", "redirect")}
    settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = True
    settings.ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE = str(ca_path)
    settings.ACCESSGOV_WEBHOOKS_CONNECT_TIMEOUT = 1.0
    settings.ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT = TOTAL_TIMEOUT
    # The test's DNS: HOST is on 127.0.0.1 (every receiver has its own port).
    monkeypatch.setattr(delivery, "resolve_host", lambda host, port: ["127.0.0.1"] if host == HOST else [])
    yield started
    for receiver in started.values():
        receiver.stop()


def test_receivers_that_hang_drag_flood_or_redirect_are_bounded_logged_and_retried(
    tenant, enabled_tenant, receivers, caplog
):
    ApprovedWebhookDomainFactory(tenant=tenant, domain=HOST)
    destinations = {
        mode: WebhookDestinationFactory(tenant=tenant, url=f"https://{HOST}:{receiver.port}/{mode}")
        for mode, receiver in receivers.items()
    }
    queued = {
        d.destination_id: d for d in events.queue_deliveries(tenant=tenant, event_type="notify", data={})
    }
    assert len(queued) == 5

    out = CronOutput()
    started = time.monotonic()
    with caplog.at_level("INFO", logger="accessgov.ops"):
        call_command("deliver_webhooks", "--once", stdout=out)
    elapsed = time.monotonic() - started

    # One pass, five attempts, each within the total limit: the run is bounded by their sum.
    assert out.getvalue() == "Attempted 5 webhook deliveries: 2 delivered, 3 to retry, 0 failed.\n"
    assert elapsed < 5 * TOTAL_TIMEOUT + 2, elapsed
    [line] = [r.getMessage() for r in caplog.records if r.name == "accessgov.ops"]
    assert line.startswith("deliver_webhooks finished attempted=5 delivered=2 retrying=3 failed=0 rounds=1 ")

    attempts = {
        mode: WebhookAttempt.objects.get(destination=destination)
        for mode, destination in destinations.items()
    }
    for mode, attempt in attempts.items():
        # Every attempt is in the log with how long it took, and never longer than the limit.
        assert attempt.number == 1
        assert 0 < attempt.duration_ms <= TOTAL_TIMEOUT * 1000 + 500, (mode, attempt.duration_ms)
        assert len(attempt.response_excerpt) <= 500

    hang = attempts["hang"]
    assert hang.status_code is None and not hang.succeeded
    assert hang.error == f"Timed out after {TOTAL_TIMEOUT:g} s."
    assert hang.duration_ms >= TOTAL_TIMEOUT * 1000 - 100
    assert receivers["hang"].connections == 1

    slow = attempts["slow"]
    assert slow.succeeded and slow.status_code == 200 and slow.error == ""
    assert SLOW_SECONDS * 1000 <= slow.duration_ms < TOTAL_TIMEOUT * 1000
    assert slow.response_excerpt == '{"received": true}'

    # A 1 GiB answer is cut after 16 KiB and none of it is shown. Its status decides the outcome:
    # a 2xx means the receiver took the message (the body of the answer carries nothing we use),
    # anything else is retried.
    for mode in ("huge", "huge_error"):
        flood = attempts[mode]
        assert flood.error == "Response body over 16 KiB: not read or shown."
        assert flood.response_excerpt == ""
        # The receiver could push only what the socket buffers held before the worker hung up.
        assert receivers[mode].bytes_sent < 64 * 1024 * 1024, receivers[mode].bytes_sent
    assert attempts["huge"].status_code == 200 and attempts["huge"].succeeded
    assert attempts["huge_error"].status_code == 503 and not attempts["huge_error"].succeeded

    redirect = attempts["redirect"]
    assert redirect.status_code == 302 and not redirect.succeeded
    assert redirect.error.startswith("Redirect not followed")
    assert redirect.response_excerpt == "R" * 500  # the start of the body, never all of it
    # Not followed: the receiver saw one request, and nothing else was contacted.
    assert len(receivers["redirect"].requests) == 1
    assert receivers["redirect"].requests[0].startswith(b"POST /redirect HTTP/1.1")

    for mode, destination in destinations.items():
        sent = queued[destination.pk]
        sent.refresh_from_db()
        assert sent.attempts == 1 and sent.lease_expires_at is None
        if mode in ("slow", "huge"):
            assert sent.state == DeliveryState.SUCCEEDED and sent.next_attempt_at is None
        else:
            # Retried on the schedule, from when the attempt was recorded.
            assert sent.state == DeliveryState.PENDING
            wait = sent.next_attempt_at - attempts[mode].started_at
            assert RETRY_DELAYS[0] <= wait <= RETRY_DELAYS[0] + timedelta(seconds=TOTAL_TIMEOUT + 1), (
                mode,
                wait,
            )

    # The retries are not due yet: a run now does nothing and, under cron, says nothing.
    again = CronOutput()
    call_command("deliver_webhooks", "--once", stdout=again)
    assert again.getvalue() == ""
    assert WebhookAttempt.objects.count() == 5
