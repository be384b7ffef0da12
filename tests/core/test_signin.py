"""Sign-in: Argon2 first, limited per IP and per username with a clear message."""

import pytest
from django.test import Client, override_settings

from accessgov import settings as production_settings
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_production_hashes_passwords_with_argon2_first():
    assert production_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_member_signs_in_and_lands_on_the_tenant(admin_user, tenant):
    client = Client()
    response = client.post("/accounts/login/", {"username": "acme-admin", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == "/t/acme/"


def test_signing_in_rotates_the_session_key(admin_user):
    client = Client()
    client.get("/accounts/login/")
    client.session["marker"] = 1
    before = client.session.session_key
    client.post("/accounts/login/", {"username": "acme-admin", "password": PASSWORD})
    assert client.session.session_key != before


@override_settings(LOGIN_RATE_PER_USERNAME="3/m", LOGIN_RATE_PER_IP="100/m")
def test_too_many_attempts_for_one_username_are_refused_with_a_clear_message(admin_user):
    client = Client()
    for _ in range(3):
        assert (
            client.post("/accounts/login/", {"username": "acme-admin", "password": "wrong"}).status_code
            == 200
        )
    response = client.post("/accounts/login/", {"username": "ACME-admin", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many sign-in attempts. Wait a minute, then try again." in response.text
    assert response["Retry-After"] == "60"
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not affected.
    other = client.post("/accounts/login/", {"username": "someone-else", "password": "wrong"})
    assert other.status_code == 200


@override_settings(LOGIN_RATE_PER_USERNAME="100/m", LOGIN_RATE_PER_IP="3/m")
def test_too_many_attempts_from_one_ip_are_refused_whatever_the_username(admin_user):
    client = Client()
    for index in range(3):
        client.post(
            "/accounts/login/", {"username": f"guess{index}", "password": "x"}, REMOTE_ADDR="198.51.100.9"
        )
    response = client.post(
        "/accounts/login/", {"username": "acme-admin", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 429
    # A forged X-Forwarded-For does not buy a fresh budget.
    forged = client.post(
        "/accounts/login/",
        {"username": "acme-admin", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.9",
        HTTP_X_FORWARDED_FOR="192.0.2.1",
    )
    assert forged.status_code == 429
    elsewhere = client.post(
        "/accounts/login/", {"username": "acme-admin", "password": PASSWORD}, REMOTE_ADDR="198.51.100.10"
    )
    assert elsewhere.status_code == 302
