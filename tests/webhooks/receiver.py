"""A real HTTPS webhook receiver on loopback, with a certificate from a CA made in the test.

It verifies every request with the reference `standardwebhooks` library, as a customer's
receiver would, and can misbehave on purpose (redirect, drip slowly, send a huge body).
"""

import http.server
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import trustme
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# Every loop below is bounded in count and time, and stops when the client goes away.
MAX_DRIP_SECONDS = 8.0
MAX_HUGE_BYTES = 64 * 1024 * 1024


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict | None
    error: str = ""


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | status | redirect | drip | trickle | huge
    status: int = 200
    reply: bytes = b'{"received": true}'
    redirect_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # sent with a "status" answer (Retry-After)
    delay: float = 0.0  # seconds to wait before answering (a slow receiver), at most MAX_DRIP_SECONDS


@dataclass
class Receiver:
    port: int
    ca: trustme.CA
    ca_path: str
    secret: str = ""
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[Received] = field(default_factory=list)

    def client_context(self) -> ssl.SSLContext:
        """Return a client TLS context that trusts only the test CA."""
        context = ssl.create_default_context(cafile=self.ca_path)
        return context


def _handler_for(receiver: Receiver):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002
            pass

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            verified, payload, error = False, None, ""
            if receiver.secret:
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError as exc:
                    error = str(exc)
            receiver.received.append(Received(self.path, headers, body, verified, payload, error))
            behaviour = receiver.behaviour
            try:
                if behaviour.mode == "redirect":
                    self._reply(302, b"", {"Location": behaviour.redirect_to})
                elif behaviour.mode == "drip":
                    self._drip()
                elif behaviour.mode == "trickle":
                    self._trickle()
                elif behaviour.mode == "huge":
                    self._huge()
                elif receiver.secret and not verified:
                    self._reply(401, json.dumps({"error": error}).encode())
                else:
                    status = behaviour.status if behaviour.mode == "status" else 200
                    headers = behaviour.headers if behaviour.mode == "status" else {}
                    time.sleep(min(behaviour.delay, MAX_DRIP_SECONDS))
                    self._reply(status, behaviour.reply, headers)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                pass

        def _reply(self, status: int, body: bytes, headers: dict | None = None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _drip(self):
            # Slowloris from the receiver's side: a header line every 0.1 s, never finishing.
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            deadline = time.monotonic() + MAX_DRIP_SECONDS
            while time.monotonic() < deadline:
                self.wfile.write(b"X-Drip: 1\r\n")
                self.wfile.flush()
                time.sleep(0.1)

        def _trickle(self):
            # One byte of a status line a second: a receiver that answers, very slowly.
            deadline = time.monotonic() + MAX_DRIP_SECONDS
            for byte in b"HTTP/1.1 200 OK\r\n":
                if time.monotonic() > deadline:
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(1.0)

        def _huge(self):
            self.send_response(200)
            self.send_header("Content-Length", str(1024**3))
            self.end_headers()
            chunk = b"A" * 65536
            sent = 0
            while sent < MAX_HUGE_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET


def start_receiver(tmp_path, hostnames: list[str]) -> tuple[Receiver, _Server]:
    """Start a receiver serving TLS for HOSTNAMES on 127.0.0.1 and return it with its server."""
    ca = trustme.CA()
    ca_path = tmp_path / "webhook-test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    server = _Server(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    receiver = Receiver(port=server.server_address[1], ca=ca, ca_path=str(ca_path))
    server.RequestHandlerClass = _handler_for(receiver)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*hostnames).configure_cert(server_context)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return receiver, server
