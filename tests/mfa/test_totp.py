"""TOTP: enrolment shows the key once and confirms it with a code; sign-in asks for a code after the
password; codes are throttled and never accepted twice; removal needs a current code; all audited."""

import pytest
import time_machine
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accessgov.audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory
from tests.mfa.conftest import code_for

pytestmark = pytest.mark.django_db

NOW = "2026-03-02 10:00:15Z"


def sign_in_password(client: Client, username: str = "acme-admin", address: str = "203.0.113.5", **extra):
    return client.post(
        "/accounts/login/", {"username": username, "password": PASSWORD, **extra}, REMOTE_ADDR=address
    )


def submit_code(client: Client, code: str, address: str = "203.0.113.5"):
    return client.post("/accounts/login/verify/", {"code": code}, REMOTE_ADDR=address)


def actions_of(user) -> list[str]:
    return list(AuditEvent.objects.filter(actor=user).order_by("pk").values_list("action", flat=True))


@time_machine.travel(NOW, tick=False)
def test_an_administrator_enrols_an_authenticator_and_the_session_becomes_verified(admin_client, admin_user):
    assert admin_client.get("/accounts/mfa/").context["user"].is_verified() is False
    started = admin_client.post("/accounts/mfa/totp/")
    device = TOTPDevice.objects.get(user=admin_user)
    assert not device.confirmed
    assert "no-store" in started["Cache-Control"]
    assert started.context["secret"] in started.text
    assert "otpauth://totp/accessgov%3Aacme-admin?secret=" in started.text

    confirmed = admin_client.post(
        "/accounts/mfa/totp/confirm/", {"device": device.pk, "code": code_for(device)}
    )
    assert confirmed.status_code == 200
    assert "no-store" in confirmed["Cache-Control"]
    assert len(confirmed.context["recovery_codes"]) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert admin_client.get("/accounts/mfa/").context["user"].is_verified() is True
    assert actions_of(admin_user) == ["mfa.totp_started", "mfa.totp_added"]
    assert AuditEvent.objects.get(action="mfa.totp_added").tenant is None


@time_machine.travel(NOW, tick=False)
def test_a_wrong_code_does_not_confirm_the_authenticator(admin_client, admin_user):
    admin_client.post("/accounts/mfa/totp/")
    device = TOTPDevice.objects.get(user=admin_user)
    wrong = code_for(device, steps_ahead=10)
    response = admin_client.post("/accounts/mfa/totp/confirm/", {"device": device.pk, "code": wrong})
    assert response.status_code == 400
    # The key is not shown again on the error page.
    assert device.config_url not in response.text
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.filter(user=admin_user).exists()


@time_machine.travel(NOW, tick=False)
def test_nobody_confirms_another_users_pending_authenticator(admin_client, admin_user):
    stranger = UserFactory(username="stranger")
    device = TOTPDevice.objects.create(user=stranger, name="Authenticator app", confirmed=False)
    response = admin_client.post(
        "/accounts/mfa/totp/confirm/", {"device": device.pk, "code": code_for(device)}
    )
    assert response.status_code == 400
    device.refresh_from_db()
    assert not device.confirmed
    assert not TOTPDevice.objects.filter(user=admin_user).exists()


def test_the_key_is_never_shown_on_a_get(admin_client):
    assert admin_client.get("/accounts/mfa/totp/").status_code == 405


@time_machine.travel(NOW, tick=False)
def test_a_user_with_an_authenticator_signs_in_only_after_the_code(admin_user, authenticator):
    client = Client()
    response = sign_in_password(client, next="/t/acme/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/t/acme/").status_code == 302  # still signed out

    response = submit_code(client, code_for(authenticator))
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY] == authenticator.persistent_id
    assert client.get("/accounts/mfa/").context["user"].is_verified() is True
    assert actions_of(admin_user) == ["mfa.verified"]


def test_a_user_without_an_authenticator_signs_in_with_the_password_unverified(admin_user):
    client = Client()
    assert sign_in_password(client)["Location"] == "/"
    assert client.get("/accounts/mfa/").context["user"].is_verified() is False


@time_machine.travel(NOW, tick=False)
def test_a_wrong_code_signs_nobody_in_and_is_audited(admin_user, authenticator):
    client = Client()
    sign_in_password(client)
    response = submit_code(client, code_for(authenticator, steps_ahead=10))
    assert response.status_code == 200
    assert "That code is not valid" in response.text
    assert "_auth_user_id" not in client.session
    assert actions_of(admin_user) == ["mfa.failed"]


def test_the_code_step_needs_a_password_accepted_in_this_session(admin_user, authenticator):
    client = Client()
    response = submit_code(client, code_for(authenticator))
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_a_password_accepted_long_ago_must_be_given_again(admin_user, authenticator):
    client = Client()
    with time_machine.travel(NOW, tick=False) as traveller:
        sign_in_password(client)
        traveller.shift(301)
        response = submit_code(client, code_for(authenticator))
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


@time_machine.travel(NOW, tick=False)
def test_a_code_is_never_accepted_twice(admin_user, authenticator):
    code = code_for(authenticator)
    first = Client()
    sign_in_password(first)
    assert submit_code(first, code).status_code == 302
    # Seen over a shoulder and replayed within its 30 seconds: refused.
    second = Client()
    sign_in_password(second, address="198.51.100.7")
    response = submit_code(second, code, address="198.51.100.7")
    assert response.status_code == 200
    assert "_auth_user_id" not in second.session


@override_settings(MFA_RATE_PER_USER="3/m", MFA_RATE_PER_IP="100/m")
@time_machine.travel(NOW, tick=False)
def test_the_code_step_is_throttled_per_user_whatever_the_address(admin_user, authenticator):
    for index in range(3):
        client = Client()
        sign_in_password(client, address=f"198.51.100.{index + 1}")
        submit_code(client, "000000", address=f"198.51.100.{index + 1}")
    client = Client()
    sign_in_password(client, address="192.0.2.50")
    response = submit_code(client, code_for(authenticator), address="192.0.2.50")
    assert response.status_code == 429
    assert "Too many codes tried" in response.text
    assert "_auth_user_id" not in client.session


@override_settings(MFA_RATE_PER_USER="100/m", MFA_RATE_PER_IP="3/m")
def test_the_code_step_is_throttled_per_address(admin_user, authenticator):
    client = Client()
    with time_machine.travel(NOW, tick=False) as traveller:
        sign_in_password(client)
        for _ in range(3):
            submit_code(client, "000000")
        assert submit_code(client, code_for(authenticator)).status_code == 429
        # django-otp's own delay after three wrong codes (1, 2, 4 s) has passed; the window has not.
        traveller.shift(8)
        elsewhere = Client()
        sign_in_password(elsewhere, address="192.0.2.80")
        assert submit_code(elsewhere, code_for(authenticator), address="192.0.2.80").status_code == 302


def test_after_a_wrong_code_the_device_waits_before_checking_another(admin_user, authenticator):
    client = Client()
    with time_machine.travel(NOW, tick=False) as traveller:
        sign_in_password(client)
        submit_code(client, "000000")
        assert submit_code(client, code_for(authenticator)).status_code == 200
        traveller.shift(2)
        assert submit_code(client, code_for(authenticator)).status_code == 302


@time_machine.travel(NOW, tick=False)
def test_removing_the_authenticator_needs_a_current_code(admin_user, authenticator):
    client = Client()
    sign_in_password(client)
    submit_code(client, code_for(authenticator))
    with time_machine.travel("2026-03-02 10:01:15Z", tick=False) as traveller:
        wrong = client.post("/accounts/mfa/remove/", {"code": "123456"}, REMOTE_ADDR="203.0.113.5")
        assert wrong.status_code == 400
        assert TOTPDevice.objects.filter(user=admin_user).exists()
        traveller.shift(2)  # django-otp's delay after a wrong code
        removed = client.post(
            "/accounts/mfa/remove/", {"code": code_for(authenticator)}, REMOTE_ADDR="203.0.113.5"
        )
    assert removed["Location"] == "/accounts/mfa/"
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert actions_of(admin_user) == ["mfa.verified", "mfa.failed", "mfa.removed"]


def test_removal_is_refused_on_a_get(admin_client):
    assert admin_client.get("/accounts/mfa/remove/").status_code == 405
