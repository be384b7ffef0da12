"""Sign-in: Argon2 first; guessing throttled per username and address, per address and per username,
without locking the owner out; /admin/ signs in through the same budgets."""

import pytest
from django.test import Client, override_settings

from accessgov import settings as production_settings
from accessgov.core.signin import KNOWN_DEVICE_COOKIE
from tests.factories import PASSWORD, UserFactory

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


def sign_in(
    client: Client, username: str, password: str, address: str = "203.0.113.5", path="/accounts/login/"
):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@override_settings(
    LOGIN_RATE_PER_USERNAME_AND_IP="3/m", LOGIN_RATE_PER_IP="100/m", LOGIN_RATE_PER_USERNAME="100/m"
)
def test_guessing_one_username_from_one_address_is_refused_over_the_pair_budget(admin_user):
    client = Client()
    for _ in range(3):
        assert sign_in(client, "acme-admin", "wrong").status_code == 200
    assert sign_in(client, "acme-admin", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # The same username from another address has its own pair budget.
    assert sign_in(Client(), "acme-admin", PASSWORD, address="203.0.113.6").status_code == 302


@override_settings(
    LOGIN_RATE_PER_USERNAME_AND_IP="100/m", LOGIN_RATE_PER_IP="100/m", LOGIN_RATE_PER_USERNAME="3/m"
)
def test_the_owner_signs_in_while_their_username_is_guessed_from_other_addresses(admin_user):
    owner = Client()
    assert sign_in(owner, "acme-admin", PASSWORD, address="192.0.2.10").status_code == 302
    assert owner.cookies[KNOWN_DEVICE_COOKIE].value
    owner.post("/accounts/logout/")
    for index in range(10):
        sign_in(Client(), "acme-admin", f"guess{index}", address=f"198.51.100.{index + 1}")
    # A client that never signed in as acme-admin is refused, even with the right password...
    assert sign_in(Client(), "acme-admin", PASSWORD, address="198.51.100.200").status_code == 429
    # ...the owner's browser is not, whatever address it comes from now.
    response = sign_in(owner, "acme-admin", PASSWORD, address="192.0.2.99")
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(admin_user.pk)


@override_settings(
    LOGIN_RATE_PER_USERNAME_AND_IP="100/m", LOGIN_RATE_PER_IP="100/m", LOGIN_RATE_PER_USERNAME="3/m"
)
def test_a_forged_or_borrowed_known_device_cookie_buys_no_budget(admin_user):
    UserFactory(username="someone")
    stranger = Client()
    # A real cookie, but for another user, and a forged one: neither counts for acme-admin.
    assert sign_in(stranger, "someone", PASSWORD).status_code == 302
    stranger.post("/accounts/logout/")
    forged = Client()
    forged.cookies[KNOWN_DEVICE_COOKIE] = "acme-admin:forged:signature"
    for client in (stranger, forged):
        for index in range(3):
            sign_in(client, "acme-admin", f"guess{index}")
        assert sign_in(client, "acme-admin", PASSWORD).status_code == 429


@override_settings(
    LOGIN_RATE_PER_USERNAME_AND_IP="3/m", LOGIN_RATE_PER_IP="100/m", LOGIN_RATE_PER_USERNAME="100/m"
)
def test_the_admin_sign_in_is_throttled_like_the_console(db):
    UserFactory(username="support", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        assert sign_in(client, "support", "wrong", path="/admin/login/").status_code == 200
    response = sign_in(client, "support", PASSWORD, path="/admin/login/")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # The budgets are shared: the console's form is refused for that pair too.
    assert sign_in(client, "support", PASSWORD).status_code == 429


@override_settings(
    LOGIN_RATE_PER_USERNAME_AND_IP="100/m", LOGIN_RATE_PER_IP="3/m", LOGIN_RATE_PER_USERNAME="100/m"
)
def test_the_admin_sign_in_spends_the_address_budget(db):
    client = Client()
    for index in range(3):
        sign_in(client, f"guess{index}", "x", path="/admin/login/")
    assert sign_in(client, "anyone", "x", path="/admin/login/").status_code == 429
