"""Send one webhook request over HTTPS without becoming a proxy into our own network (SSRF).

The sequence, each step refusing rather than guessing:

1. resolve the host name once, within a deadline counted in the total time (the resolver is
   injected, so tests answer for external names);
2. refuse unless *every* A/AAAA answer is a global unicast address: loopback, private,
   link-local (169.254.169.254), CGNAT (100.64/10), multicast, reserved, unspecified and IPv6
   forms that embed one of those (IPv4-mapped, 6to4, NAT64, Teredo) are all refused;
3. connect to an address that was checked, never to the name again (no second lookup that a
   rebinding DNS server could answer differently), with the name as TLS SNI and Host header;
4. verify the certificate against the name; follow no redirect (http.client never does);
5. bound the connect time and the whole exchange (a watchdog closes a slow-dripping socket),
   and read at most MAX_RESPONSE_BYTES of the answer.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_TOTAL_TIMEOUT = 10.0
DEFAULT_DNS_TIMEOUT = 2.0
DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024
EXCERPT_CHARS = 500
USER_AGENT = "accessgov-webhooks/1"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Ranges the ipaddress module (as of Python 3.13) still calls global: deprecated site-local
# (RFC 3879, still routed inside some networks) and the newer documentation range (RFC 9637).
_NOT_GLOBAL_V6 = [
    (ipaddress.IPv6Network("fec0::/10"), "a site-local address"),
    (ipaddress.IPv6Network("3fff::/20"), "a documentation address"),
]

Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address HOST resolves to for TCP, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class DnsTimeout(OSError):
    """The resolver did not answer within its deadline."""


def resolve_within(resolver: Resolver, host: str, port: int, *, timeout: float) -> list[str]:
    """Return RESOLVER's answer for HOST, or raise DnsTimeout once TIMEOUT seconds have passed.

    getaddrinfo has no timeout of its own (the system resolver may retry for tens of seconds), so
    it runs in a daemon thread that is left behind if it hangs; the caller goes on at the deadline.
    """
    outcome: dict = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome["addresses"] = resolver(host, port)
        except BaseException as error:  # handed to the caller's thread as it is
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"dns-{host}", daemon=True).start()
    if not done.wait(max(timeout, 0.001)):
        raise DnsTimeout(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def address_refusal(address: str, *, allow_loopback: bool = False) -> str | None:
    """Return why ADDRESS must not be connected to, or None when it is a global unicast address.

    ALLOW_LOOPBACK admits 127.0.0.0/8 and ::1 only, for the test receiver and local demos.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0] if "%" in address else address)
    except ValueError:
        return "not an IP address"
    if "%" in address:
        return "a scoped (link-local) address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one is judged by the IPv4 one it reaches.
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.teredo is not None:
            return "a Teredo tunnel address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if isinstance(ip, ipaddress.IPv6Address):
        for network, reason in _NOT_GLOBAL_V6:
            if ip in network:
                return reason
    checks = [
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_link_local, "a link-local address (such as cloud metadata)"),
        (ip.is_multicast, "a multicast address"),
        (
            isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("100.64.0.0/10"),
            "a shared (CGNAT) address",
        ),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    ]
    return next((reason for failed, reason in checks if failed), None)


@dataclass(frozen=True)
class SendResult:
    """What happened when one request was sent (or refused before sending)."""

    status_code: int | None
    error: str
    duration_ms: int
    response_excerpt: str = ""
    address: str = ""
    connected: bool = False
    # False when the exchange broke off (timeout, reset): a 2xx status seen before that is no success.
    complete: bool = True
    # The answer's Retry-After header as sent (webhooks.schedule reads it), at most 100 characters.
    retry_after: str = ""

    @property
    def ok(self) -> bool:
        return self.complete and self.status_code is not None and 200 <= self.status_code < 300


class _Watchdog:
    """Close a socket when the deadline passes, so a receiver that drips bytes cannot hold us."""

    def __init__(self, seconds: float):
        self.fired = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(max(seconds, 0.001), self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        self._sock = sock

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            # The plain socket method, also for an SSLSocket: it shuts the descriptor down under
            # the reading thread without touching the TLS object that thread is using.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

    def __enter__(self) -> "_Watchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


class SafeSender:
    """Send webhook POSTs under the SSRF policy; every dependency on the outside world is injected."""

    def __init__(
        self,
        *,
        resolver: Resolver = resolve_host,
        ssl_context: ssl.SSLContext | None = None,
        allow_loopback: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        dns_timeout: float = DEFAULT_DNS_TIMEOUT,
    ):
        self.resolver = resolver
        self.dns_timeout = dns_timeout
        self.ssl_context = ssl_context or make_ssl_context()
        self.allow_loopback = allow_loopback
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes

    def check_host(
        self, host: str, port: int = 443, *, timeout: float | None = None
    ) -> tuple[list[str], str]:
        """Return HOST's addresses and "" if all may be connected to, else ([], the reason).

        The lookup gives up after TIMEOUT seconds (default: the sender's DNS timeout).
        """
        limit = self.dns_timeout if timeout is None else min(timeout, self.dns_timeout)
        try:
            addresses = resolve_within(self.resolver, host, port, timeout=limit)
        except DnsTimeout:
            return [], f"DNS lookup of {host} timed out after {limit:g} s."
        except (OSError, UnicodeError) as error:
            return [], f"DNS lookup of {host} failed ({error.__class__.__name__})."
        if not addresses:
            return [], f"{host} has no A or AAAA record."
        for address in addresses:
            reason = address_refusal(address, allow_loopback=self.allow_loopback)
            if reason is not None:
                # One bad answer refuses all: a name whose answers mix public and internal
                # addresses is how DNS rebinding attacks pick their moment.
                return [], f"Refused: {host} resolves to {address}, {reason}."
        return addresses, ""

    def post(self, *, host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> SendResult:
        """POST BODY to https://HOST:PORT/PATH and return what happened; never raises for the network."""
        started = time.monotonic()

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        # The lookup counts in the total time: a hanging resolver cannot stretch a delivery.
        addresses, refusal = self.check_host(host, port, timeout=self.total_timeout)
        if refusal:
            return SendResult(status_code=None, error=refusal, duration_ms=elapsed_ms())
        last_error = ""
        for address in addresses:
            remaining = self.total_timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            try:
                raw = socket.create_connection((address, port), timeout=min(self.connect_timeout, remaining))
            except OSError as error:
                last_error = f"Could not connect to {address} port {port} ({_describe(error)})."
                continue
            return self._exchange(raw, address, host, port, path, headers, body, started)
        return SendResult(
            status_code=None,
            error=last_error or f"Timed out after {self.total_timeout:g} s.",
            duration_ms=elapsed_ms(),
        )

    def _exchange(self, raw, address, host, port, path, headers, body, started) -> SendResult:
        remaining = max(self.total_timeout - (time.monotonic() - started), 0.001)
        status_code = None
        excerpt = ""
        error = ""
        retry_after = ""
        complete = True
        with _Watchdog(remaining) as watchdog:
            watchdog.watch(raw)
            try:
                raw.settimeout(remaining)
                tls = self.ssl_context.wrap_socket(raw, server_hostname=host)
                watchdog.watch(tls)
                # http.client sends Host from the name given here; the socket is already
                # connected to the checked address, so no lookup happens.
                connection = http.client.HTTPConnection(host, port, timeout=remaining)
                connection.sock = tls
                try:
                    connection.request(
                        "POST",
                        path,
                        body=body,
                        headers={
                            **headers,
                            "Content-Type": "application/json",
                            "User-Agent": USER_AGENT,
                            "Connection": "close",
                        },
                    )
                    response = connection.getresponse()
                    status_code = response.status
                    retry_after = (response.getheader("Retry-After") or "")[:100]
                    data = response.read(self.max_response_bytes + 1)
                    if len(data) > self.max_response_bytes:
                        error = (
                            f"Response body over {self.max_response_bytes // 1024} KiB: not read or shown."
                        )
                    else:
                        excerpt = data.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
                    if 300 <= status_code < 400:
                        error = "Redirect not followed: webhooks are delivered to the URL as saved."
                finally:
                    connection.close()
            except ssl.SSLCertVerificationError as exc:
                complete = False
                error = f"TLS certificate not accepted for {host} ({exc.verify_message})."
            except (OSError, http.client.HTTPException, ValueError) as exc:
                complete = False
                if watchdog.fired or isinstance(exc, TimeoutError):
                    error = f"Timed out after {self.total_timeout:g} s."
                elif status_code is None:
                    error = f"Connection failed ({_describe(exc)})."
                else:
                    error = f"Response could not be read ({_describe(exc)})."
            finally:
                raw.close()
        if watchdog.fired:
            complete = False
            error = error or f"Timed out after {self.total_timeout:g} s."
        return SendResult(
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
            response_excerpt=excerpt,
            address=address,
            connected=True,
            complete=complete,
            retry_after=retry_after,
        )


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def make_ssl_context(extra_ca_bundle: str = "") -> ssl.SSLContext:
    """Return a verifying TLS client context: system CAs, plus EXTRA_CA_BUNDLE if given."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if extra_ca_bundle:
        context.load_verify_locations(cafile=extra_ca_bundle)
    return context


def sender_from_settings() -> SafeSender:
    """Return the sender configured by the ACCESSGOV_WEBHOOKS_* settings."""
    return SafeSender(
        resolver=resolve_host,
        ssl_context=make_ssl_context(getattr(settings, "ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE", "")),
        allow_loopback=loopback_allowed(),
        connect_timeout=getattr(settings, "ACCESSGOV_WEBHOOKS_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
        total_timeout=getattr(settings, "ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT", DEFAULT_TOTAL_TIMEOUT),
        max_response_bytes=getattr(
            settings, "ACCESSGOV_WEBHOOKS_MAX_RESPONSE_BYTES", DEFAULT_MAX_RESPONSE_BYTES
        ),
        dns_timeout=getattr(settings, "ACCESSGOV_WEBHOOKS_DNS_TIMEOUT", DEFAULT_DNS_TIMEOUT),
    )


def loopback_allowed() -> bool:
    """Return whether the test-only setting lets webhooks reach loopback addresses and any port."""
    return bool(getattr(settings, "ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY", False))
