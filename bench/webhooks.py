"""Benchmark the webhook worker on PostgreSQL against loopback HTTPS receivers.

    .venv/bin/python bench/webhooks.py            # 1,000 destinations, 1 delivery each per run
    .venv/bin/python bench/webhooks.py --quick    # 200 destinations

Figures, each beside a baseline measured in the same run:
- deliveries per second with 1 worker (the baseline) and with 4 (`deliver_webhooks --workers 4`);
- how long the healthy destinations' deliveries wait (queued to first attempt started, 95th
  percentile) when 50 of the 1,000 destinations hang, against the same run with none hanging:
  once when the hanging receivers are met for the first time, and once more when their failure
  streak is known (steady state: they hang every time, as a dead receiver does).

The receivers are real TLS servers on 127.0.0.1 with a certificate from a CA made here: one answers
200 at once, the other accepts connections and never answers. Every destination has its own host
name (resolved to 127.0.0.1 by the benchmark's resolver) and its own approved domain, spread over
20 tenants. The send timeout is cut to --timeout seconds (default 2; production: 10) to keep the
run short; a hang costs a thread that long. DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/accessgov_webhooks_bench) names a server and a database name;
the benchmark creates and drops test_<name> there.
"""

import argparse
import http.server
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/accessgov_webhooks_bench"
TENANTS = 20
HANGING = 50


def _setup_django(timeout: float, ca_path: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accessgov.test_settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    import django
    from django.conf import settings

    django.setup()
    settings.ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = True
    settings.ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE = ca_path
    settings.ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT = timeout
    settings.ACCESSGOV_WEBHOOKS_CONNECT_TIMEOUT = timeout

    from webhooks import delivery

    delivery.resolve_host = lambda host, port: ["127.0.0.1"]


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"{}")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


def _start_receivers(tmp: str):
    """Start the answering and the hanging receiver; return (ok port, hanging port, CA path)."""
    import trustme

    ca = trustme.CA()
    ca_path = os.path.join(tmp, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("*.bench.example").configure_cert(context)
    ok = _Server(("127.0.0.1", 0), _Ok)
    ok.socket = context.wrap_socket(ok.socket, server_side=True)
    threading.Thread(target=ok.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    # Accepts every connection (the kernel does, into a deep backlog) and never says a word.
    hanging = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(4096)
    return ok.server_address[1], hanging.getsockname()[1], ca_path, (ok, hanging)


def _make_tenants() -> None:
    from django.contrib.auth import get_user_model

    from accessgov.policy import actions as policy_actions
    from accessgov.policy.models import PolicyVersion
    from tenants.models import Tenant

    user = get_user_model().objects.create(username="bench-admin")
    version = PolicyVersion.objects.current()
    for n in range(TENANTS):
        tenant = Tenant.objects.create(name=f"Bench {n}", slug=f"bench-{n}")
        policy_actions.agree_to_policy(tenant=tenant, version=version, by=user, ip=None)


def _make_destinations(count: int, ok_port: int, hanging_port: int, hanging: int) -> None:
    from tenants.models import Tenant
    from webhooks import signing
    from webhooks.models import ApprovedWebhookDomain, WebhookDestination

    tenants = list(Tenant.objects.filter(slug__startswith="bench-").order_by("pk"))
    # Every 20th destination hangs, so they are spread over every tenant.
    step = count // hanging if hanging else 0
    destinations = []
    for n in range(count):
        tenant = tenants[n % TENANTS]
        host = f"d{n}.bench.example"
        hangs = bool(step) and n % step == 0 and n // step < hanging
        ApprovedWebhookDomain.objects.create(tenant=tenant, domain=host)
        destinations.append(
            WebhookDestination(
                tenant=tenant,
                url=f"https://{host}:{hanging_port if hangs else ok_port}/hook",
                host=host,
                events=["notify"],
                signing_secret=signing.generate_secret(),
            )
        )
    WebhookDestination.objects.bulk_create(destinations)


def _reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE webhooks_webhookattempt, webhooks_webhookdelivery, webhooks_webhookdestination, "
            "webhooks_approvedwebhookdomain, accessgov_outgoingmail CASCADE"
        )


def _queue(per_destination: int) -> int:
    from tenants.models import Tenant
    from webhooks import events

    queued = 0
    for _ in range(per_destination):
        for tenant in Tenant.objects.filter(slug__startswith="bench-"):
            queued += len(events.queue_deliveries(tenant=tenant, event_type="notify", data={"bench": True}))
    return queued


def _run_until_healthy_done(workers: int, limit_seconds: float) -> float:
    """Run the worker until no delivery to a healthy destination is pending; return the seconds."""
    from django.db import connection

    from webhooks import queue
    from webhooks.models import DeliveryState, WebhookDelivery

    stop = threading.Event()

    def work() -> None:
        try:
            queue.run_worker(workers=workers, interval=0.05, stop=stop)
        finally:
            connection.close()

    worker = threading.Thread(target=work, daemon=True)
    started = time.monotonic()
    worker.start()
    healthy_pending = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, destination__url__contains=f":{_OK_PORT}/"
    )
    while time.monotonic() - started < limit_seconds:
        if not healthy_pending.exists():
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - started
    stop.set()
    worker.join()
    connection.close()
    return elapsed


def _healthy_waits() -> list[float]:
    """Return, for each first attempt to a healthy destination, the seconds it waited after being queued."""
    from webhooks.models import WebhookAttempt

    rows = WebhookAttempt.objects.filter(number=1, destination__url__contains=f":{_OK_PORT}/").values_list(
        "started_at", "delivery__created_at"
    )
    return [(started - created).total_seconds() for started, created in rows]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values[0] if values else 0.0)


_OK_PORT = 0


def main() -> int:
    global _OK_PORT
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--destinations", type=int, default=1000)
    parser.add_argument("--per-destination", type=int, default=1, help="deliveries queued per destination")
    parser.add_argument("--timeout", type=float, default=2.0, help="send timeout in seconds (production: 10)")
    parser.add_argument("--quick", action="store_true", help="200 destinations, 10 of them hanging")
    args = parser.parse_args()
    count = 200 if args.quick else args.destinations
    hanging = max(1, count * HANGING // 1000)
    with tempfile.TemporaryDirectory() as tmp:
        ok_port, hanging_port, ca_path, servers = _start_receivers(tmp)
        _OK_PORT = ok_port
        _setup_django(args.timeout, ca_path)
        from django.db import connection

        if connection.vendor != "postgresql":
            raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        old_name = connection.settings_dict["NAME"]
        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        failed = False
        try:
            print(
                f"PostgreSQL {connection.pg_version // 10000}, database {test_name}, {count} destinations over "
                f"{TENANTS} tenants, send timeout {args.timeout:g} s, {os.cpu_count()} CPUs"
            )
            _make_tenants()
            _make_destinations(count, ok_port, hanging_port, 0)
            rates = {}
            for workers in (1, 4):
                _reset_deliveries()
                queued = _queue(args.per_destination)
                seconds = _run_until_healthy_done(workers, 600)
                rates[workers] = queued / seconds
                print(f"{workers} worker(s): {queued} deliveries in {seconds:.1f} s = {rates[workers]:.0f}/s")
            print(
                f"row: webhooks: deliveries/s, 4 workers (baseline 1 worker) | {rates[1]:.2f} | {rates[4]:.2f} | "
                f"{rates[4] / rates[1]:.2f}"
            )
            waits = {}
            for label, hang in (("none hanging", 0), ("first contact", hanging), ("steady state", hanging)):
                if label != "steady state":
                    _reset()
                    _make_destinations(count, ok_port, hanging_port, hang)
                else:
                    _mark_hanging_as_failing(hanging_port)
                _reset_deliveries(keep_streaks=True)
                queued = _queue(1)
                seconds = _run_until_healthy_done(4, 600)
                found = _healthy_waits()
                waits[label] = _p95(found)
                print(
                    f"4 workers, {hang} of {count} hanging ({label}): healthy delivered in {seconds:.1f} s, "
                    f"wait p50 {statistics.median(found):.2f} s, p95 {waits[label]:.2f} s ({len(found)} deliveries)"
                )
            base = max(waits["none hanging"], 0.01)
            for label in ("first contact", "steady state"):
                print(
                    f"row: webhooks: healthy p95 wait s, {hanging} hanging, {label} (baseline none hanging) | "
                    f"{base:.2f} | {waits[label]:.2f} | {waits[label] / base:.2f}"
                )
            print(
                f"aim: healthy deliveries' wait does not grow with {hanging} hanging receivers (steady state): "
                f"{'met' if waits['steady state'] <= base * 1.5 + 0.5 else 'NOT met'} "
                f"(p95 {waits['steady state']:.2f} s vs {base:.2f} s)"
            )
        except Exception:
            failed = True
            raise
        finally:
            connection.close()
            connection.creation.destroy_test_db(old_name, verbosity=0)
            servers[0].shutdown()
            servers[1].close()
    return 1 if failed else 0


def _mark_hanging_as_failing(hanging_port: int) -> None:
    """Give every hanging destination its failure streak, as a receiver dead for a while has.

    The first-contact run marked those it reached a minute ago at most; a receiver dead for an hour
    is what the steady state measures.
    """
    from django.utils import timezone

    from webhooks.models import WebhookDestination

    WebhookDestination.objects.filter(url__contains=f":{hanging_port}/").update(
        failing_since=timezone.now() - timedelta(hours=1)
    )


def _reset_deliveries(keep_streaks: bool = False) -> None:
    from django.db import connection

    from webhooks.models import WebhookDestination

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE webhooks_webhookattempt, webhooks_webhookdelivery CASCADE")
    if not keep_streaks:
        WebhookDestination.objects.update(failing_since=None, disable_warned_at=None)


if __name__ == "__main__":
    sys.exit(main())
