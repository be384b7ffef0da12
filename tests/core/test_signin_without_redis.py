"""Sign-in answers quickly, still throttled, when Redis refuses connections or never answers."""

import socket
import threading
import time

import pytest
from django.test import Client, override_settings

from accessgov.settings import build_caches
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def silent_redis():
    """Return a redis:// URL whose server accepts connections and never says a word."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def sign_in(client: Client, password: str):
    started = time.monotonic()
    response = client.post("/accounts/login/", {"username": "acme-admin", "password": password})
    return response, time.monotonic() - started


@pytest.mark.parametrize("down", ["refusing", "silent"])
def test_sign_in_answers_quickly_and_stays_throttled_without_redis(admin_user, silent_redis, down):
    redis_url = "redis://127.0.0.1:1/0" if down == "refusing" else silent_redis
    with override_settings(
        CACHES=build_caches(redis_url, "accessgov-down"),
        LOGIN_RATE_PER_USERNAME_AND_IP="3/m",
        LOGIN_REDIS_TIMEOUT=0.25,
    ):
        client = Client()
        response, seconds = sign_in(client, PASSWORD)
        assert response.status_code == 302
        assert seconds < 2
        client.post("/accounts/logout/")
        # The database cache counts in Redis's place (the sign-in above spent one of this pair's
        # three attempts): guessing is still refused over budget.
        guesser = Client()
        for _ in range(2):
            assert sign_in(guesser, "wrong")[0].status_code == 200
        response, seconds = sign_in(guesser, PASSWORD)
        assert response.status_code == 429
        assert seconds < 2
