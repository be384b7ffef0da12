"""Faults an operator will meet: PostgreSQL or Redis stopped under a running app server, and the two
cron commands killed with SIGKILL half-way.

Each test starts its own PostgreSQL (initdb into a temporary directory) and its own redis-server on
free loopback ports, and stops only those: the machine's shared servers are never touched. They need
no Django test database, so they run on SQLite and PostgreSQL set-ups alike.
"""

import json
import signal
import subprocess
import threading
import time

import psycopg
import pytest

from tests.conftest import basic_auth
from tests.ops.conftest import (
    PYTHON,
    ROOT,
    AppServer,
    ThrowawayPostgres,
    ThrowawayRedis,
    app_environment,
    manage,
    stop_process,
)

pytestmark = [pytest.mark.ops]

RECOVERY_SECONDS = 30.0


@pytest.fixture(scope="module")
def postgres():
    """A migrated throwaway PostgreSQL for this module; tests start and stop it as they need."""
    server = ThrowawayPostgres()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def redis():
    server = ThrowawayRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database(postgres, request):
    """Create a fresh, migrated database on the throwaway server; return its URL."""
    name = f"ops_{request.node.name[:40].lower()}".replace("[", "_").replace("]", "_")
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


def _env(database, redis, **overrides):
    return app_environment(
        database_url=database, redis_url=redis.url if redis else "", key_prefix="ops", **overrides
    )


def _seed(env, **options) -> dict:
    manage(env, "migrate", "-v0")
    manage(env, "createcachetable")
    args = ", ".join(f"{key}={value!r}" for key, value in options.items())
    out = manage(env, "shell", "-c", f"from tests.ops.seed import main; main({args})")
    return json.loads(out.strip().splitlines()[-1])


def _console(seeded, server: AppServer) -> dict[str, str]:
    return {
        "Cookie": f"sessionid={seeded['session']}; csrftoken={'c' * 32}",
        "X-CSRFToken": "c" * 32,
        "Origin": f"https://127.0.0.1:{server.port}",
    }


def _until(check, *, timeout: float = RECOVERY_SECONDS, step: float = 0.25):
    """Return CHECK()'s first truthy answer, polling for at most TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(step)


def _rows(database: str, sql: str) -> int:
    with psycopg.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def test_postgres_stopped_mid_run_gives_503s_then_both_recover_by_themselves(
    postgres, database, redis, tmp_path
):
    env = _env(database, redis)
    seeded = _seed(env)
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    try:
        warm, cold, other = seeded["tokens"][:3]
        page = f"/t/{seeded['tenant']}/settings/api/"
        with server.client() as client:
            assert client.get("/api/v1/Me", headers={"Authorization": basic_auth(*warm)}).status_code == 200
            assert client.get(page, headers=_console(seeded, server)).status_code == 200
        keys_before = _rows(database, "SELECT count(*) FROM accessgov_apikey")
        events_before = _rows(database, "SELECT count(*) FROM accessgov_auditevent")

        postgres.stop("immediate")  # as a crash: connections cut, no goodbye

        with server.client() as client:
            api = client.get("/api/v1/Organizations", headers={"Authorization": basic_auth(*cold)})
            assert api.status_code == 503, api.text
            assert api.json() == {
                "Meta": {"ResponseCode": 503},
                "Error": {"Code": "service_unavailable", "Message": api.json()["Error"]["Message"]},
            }
            assert int(api.headers["Retry-After"]) > 0
            # A credential this server verified a moment ago needs no SQL to be recognised; what it
            # asks for still needs the database.
            assert (
                client.get("/api/v1/Organizations", headers={"Authorization": basic_auth(*warm)}).status_code
                == 503
            )
            console = client.get(page, headers=_console(seeded, server))
            assert console.status_code == 503
            assert "briefly unavailable" in console.text
            assert "Traceback" not in console.text
            assert int(console.headers["Retry-After"]) > 0
            write = client.post(
                f"{page}keys/", data={"name": "During outage"}, headers=_console(seeded, server)
            )
            assert write.status_code == 503

        postgres.start()

        def recovered():
            with server.client() as client:
                api = client.get("/api/v1/Organizations", headers={"Authorization": basic_auth(*other)})
                console = client.get(page, headers=_console(seeded, server))
            return api.status_code == 200 and console.status_code == 200

        assert _until(recovered), server.log()[-3000:]
        # The write refused during the outage left nothing behind, not even an audit line, and
        # 503s are not failures of the client: nobody was blocked.
        assert _rows(database, "SELECT count(*) FROM accessgov_apikey") == keys_before
        assert _rows(database, "SELECT count(*) FROM accessgov_auditevent") == events_before
        with server.client() as client:
            assert client.get("/api/v1/Me", headers={"Authorization": basic_auth(*cold)}).status_code == 200
    finally:
        server.stop()
        if not _pg_up(postgres):
            postgres.start()


def _pg_up(postgres) -> bool:
    try:
        with psycopg.connect(postgres.url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def test_redis_stopped_limits_fail_open_revocations_still_apply_and_the_console_works(
    database, redis, tmp_path
):
    """Attack catalogue case 37: with Redis down the limits fail open."""
    env = _env(database, redis, ACCESSGOV_API_DEFAULT_RATE="3/3600", ACCESSGOV_API_FAILURE_TIERS="3/60/60")
    seeded = _seed(env)
    server = AppServer(env=env, log_path=tmp_path / "app.log").start()
    tenant_page = f"/t/{seeded['tenant']}/settings/api/"
    try:
        token, fresh = seeded["tokens"][:2]
        with server.client() as client:
            assert client.get("/api/v1/Me", headers={"Authorization": basic_auth(*token)}).status_code == 200

        redis.stop()

        with server.client() as client:
            # Limits fail open: more than the limit passes while Redis is away.
            assert [
                client.get("/api/v1/Me", headers={"Authorization": basic_auth(*token)}).status_code
                for _ in range(5)
            ] == [200] * 5
        with server.client(client_ip="198.51.100.77") as client:
            # The failure blocker fails open too: no 429 however many failures.
            bad = {"Authorization": basic_auth(token[0], token[1] + "x")}
            assert {client.get("/api/v1/Me", headers=bad).status_code for _ in range(6)} == {401}
        # The console needs no Redis; a revocation made now applies on the very next API call,
        # although the server had this token in its credential cache and could not hear the bump.
        token_pk = _rows(database, f"SELECT id FROM tokens_thirdpartytoken WHERE token_id = '{token[0]}'")
        with server.client() as client:
            assert client.get(tenant_page, headers=_console(seeded, server)).status_code == 200
            revoked = client.post(
                f"{tenant_page}tokens/{token_pk}/revoke/",
                data={"confirm": "on"},
                headers=_console(seeded, server),
            )
            assert revoked.status_code == 302
            assert client.get("/api/v1/Me", headers={"Authorization": basic_auth(*token)}).status_code == 401
        assert "Rate-limit store unreachable" in server.log()

        redis.start()  # same port, empty, as after a restart

        def limited_again():
            with server.client(client_ip="192.0.2.99") as client:
                codes = [
                    client.get("/api/v1/Me", headers={"Authorization": basic_auth(*fresh)}).status_code
                    for _ in range(4)
                ]
            return codes if 429 in codes else None

        codes = _until(limited_again, timeout=10)
        assert codes and codes.count(200) <= 3, codes
    finally:
        server.stop()


def test_purge_revoked_killed_mid_batch_is_finished_by_the_next_run_deleting_each_token_once(database):
    """Attack catalogue case 16: purge deletes only tokens revoked over 30 days ago."""
    env = _env(database, None)
    seeded = _seed(env, revoked=12000)
    total = _rows(database, "SELECT count(*) FROM tokens_thirdpartytoken WHERE revoked_at IS NOT NULL")
    assert total == 12000
    run = subprocess.Popen(
        [PYTHON, "manage.py", "purge_revoked", "--batch-size", "20"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        left = _until(
            lambda: (
                (n := _rows(database, "SELECT count(*) FROM tokens_thirdpartytoken"))
                < len(seeded["tokens"]) + total - 500
                and n
            ),
            timeout=60,
            step=0.02,
        )
        assert left, "purge_revoked deleted nothing within a minute"
    finally:
        stop_process(run, sig=signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    revoked_left = _rows(database, "SELECT count(*) FROM tokens_thirdpartytoken WHERE revoked_at IS NOT NULL")
    assert 0 < revoked_left < total, "killed too late to prove anything"
    # Only whole batches went: nothing half-deleted is visible.
    assert (total - revoked_left) % 20 == 0
    # Every batch committed with its audit event: all the killed run deleted is accounted for.
    assert _purged_in_audit(database) == total - revoked_left
    out = manage(env, "purge_revoked", "--batch-size", "20")
    # Not a terminal: the summary line only, as cron would mail it.
    assert out == f"Deleted {revoked_left} token(s) of 1 tenant(s) in {-(-revoked_left // 20)} batch(es).\n"
    assert _rows(database, "SELECT count(*) FROM tokens_thirdpartytoken WHERE revoked_at IS NOT NULL") == 0
    assert _rows(database, "SELECT count(*) FROM tokens_thirdpartytoken") == len(seeded["tokens"])
    assert _purged_in_audit(database) == total
    assert manage(env, "purge_revoked") == "", "a cron run with nothing to do prints nothing"


def _purged_in_audit(database: str) -> int:
    """Return the number of tokens the token.purged audit events account for."""
    return _rows(
        database,
        "SELECT coalesce(sum((details->>'count')::int), 0) FROM accessgov_auditevent "
        "WHERE action = 'token.purged'",
    )


WORKER = """
import sys
import django
django.setup()
from webhooks import delivery
# The test's DNS: the receiver's name is on 127.0.0.1 (as the webhook tests' FakeDns answers).
delivery.resolve_host = lambda host, port: ["127.0.0.1"]
from django.core.management import call_command
call_command("deliver_webhooks", "--once")
"""


def _slow_receiver(tmp_path, seconds: float, *, hold_after: int | None = None):
    """Start the webhook tests' HTTPS receiver, answering each delivery after SECONDS.

    With HOLD_AFTER, every request past that many is held (unanswered, the worker waiting on it
    with its lease) until the returned event is set; the request is then logged as received.
    """
    from tests.webhooks.receiver import start_receiver

    receiver, server = start_receiver(tmp_path, ["hooks.example.com"])
    handler = server.RequestHandlerClass
    release = threading.Event()
    entered = []
    lock = threading.Lock()

    class Slow(handler):
        def do_POST(self):  # noqa: N802
            with lock:
                entered.append(1)
                number = len(entered)
            time.sleep(seconds)
            if hold_after is not None and number > hold_after:
                release.wait(60)
            super().do_POST()

    server.RequestHandlerClass = Slow
    receiver.release, receiver.entered = release, entered
    return receiver, server


def test_deliver_webhooks_killed_mid_batch_logs_everything_it_sent_on_the_next_run(database, tmp_path):
    receiver, server = _slow_receiver(tmp_path, 0.15, hold_after=8)
    try:
        env = _env(
            database,
            None,
            ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY="true",
            ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE=receiver.ca_path,
        )
        seeded = _seed(env, tokens=1, deliveries=40, webhook_port=receiver.port)
        receiver.secret = seeded["destination_secret"]
        run = subprocess.Popen(
            [PYTHON, "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            # The ninth delivery is held unanswered: the worker is killed while it waits on it,
            # lease held, sent but not logged.
            assert _until(
                lambda: len(receiver.received) >= 8 and len(receiver.entered) > 8, timeout=60, step=0.02
            )
        finally:
            stop_process(run, sig=signal.SIGKILL)
            receiver.release.set()
        first_run = {r.headers["webhook-id"] for r in receiver.received}
        assert 8 <= len(first_run) < 40, "killed too late to prove anything"
        # Killed with deliveries claimed: their leases (2 minutes) must run out before another
        # worker may take them. Let that time pass in the database rather than in the test.
        with psycopg.connect(database) as conn:
            leased = conn.execute(
                "UPDATE webhooks_webhookdelivery SET lease_expires_at = now() - interval '1 second' "
                "WHERE lease_expires_at IS NOT NULL"
            ).rowcount
        assert leased >= 1
        finished = subprocess.run(
            [PYTHON, "-c", WORKER], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert finished.returncode == 0, finished.stderr
        with psycopg.connect(database) as conn:
            states = dict(
                conn.execute("SELECT state, count(*) FROM webhooks_webhookdelivery GROUP BY state").fetchall()
            )
            logged = {
                row[0]
                for row in conn.execute(
                    "SELECT d.webhook_id FROM webhooks_webhookattempt a JOIN webhooks_webhookdelivery d "
                    "ON d.id = a.delivery_id WHERE a.succeeded"
                ).fetchall()
            }
        assert states == {"succeeded": 40}, states
        received = [r.headers["webhook-id"] for r in receiver.received]
        # Every delivery the receiver got is logged as succeeded; none went out that is not in the log.
        assert set(received) == logged
        assert all(r.verified for r in receiver.received)
        # At-least-once: the only repeats are deliveries the killed run had sent but not yet logged,
        # and they carry the same webhook-id so that the receiver can drop them.
        assert len(received) - len(set(received)) <= leased
    finally:
        server.shutdown()
        server.server_close()
