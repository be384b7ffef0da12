"""Passkeys: the relying party follows the request's host; sign-in with a passkey needs the password
first; a bad answer is refused and audited; removal is for the owner of a verified session only.

Registration and a real signed assertion are proven in the browser (tests/browser/test_passkey_flow.py).
"""

import pytest
from django.test import Client, RequestFactory, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp_webauthn.models import WebAuthnCredential

from accessgov.audit.models import AuditEvent
from accessgov.mfa.passkeys import allowed_origins, relying_party_id
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def make_passkey(user, *, name: str = "Laptop") -> WebAuthnCredential:
    return WebAuthnCredential.objects.create(
        user=user, name=name, confirmed=True, credential_id=f"id-{user.pk}-{name}".encode(), public_key=b"key"
    )


def verify_session(client: Client, device) -> None:
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def actions_of(user) -> list[str]:
    return list(AuditEvent.objects.filter(actor=user).order_by("pk").values_list("action", flat=True))


def test_the_relying_party_is_the_request_host_without_its_port():
    request = RequestFactory().get("/", HTTP_HOST="localhost:8123")
    assert relying_party_id(request) == "localhost"
    assert allowed_origins(request) == ["http://localhost:8123"]


@override_settings(
    PASSKEY_RP_ID="example.org",
    PASSKEY_ORIGINS=["https://console.example.org"],
    ALLOWED_HOSTS=["internal"],
)
def test_a_deployment_behind_a_proxy_names_the_relying_party_and_origins():
    request = RequestFactory().get("/", HTTP_HOST="internal")
    assert relying_party_id(request) == "example.org"
    assert allowed_origins(request) == ["https://console.example.org"]


def test_a_user_with_only_a_passkey_must_use_it_after_the_password(admin_user):
    make_passkey(admin_user)
    client = Client()
    response = client.post("/accounts/login/", {"username": "acme-admin", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/accounts/login/verify/"
    page = client.get("/accounts/login/verify/")
    assert page.context["has_passkey"] is True
    assert b'id="passkey-verification-placeholder"' in page.content
    assert "_auth_user_id" not in client.session


def test_a_passkey_never_signs_in_without_the_password(admin_user):
    make_passkey(admin_user)
    client = Client(enforce_csrf_checks=False)
    assert client.post("/accounts/login/passkey/begin/").status_code == 403
    assert (
        client.post("/accounts/login/passkey/complete/", {}, content_type="application/json").status_code
        == 403
    )
    assert "_auth_user_id" not in client.session


def test_a_forged_passkey_answer_is_refused_and_audited(admin_user):
    make_passkey(admin_user)
    client = Client()
    client.post("/accounts/login/", {"username": "acme-admin", "password": PASSWORD})
    begun = client.post("/accounts/login/passkey/begin/")
    assert begun.status_code == 200 and begun.json()["rpId"] == "testserver"
    forged = {
        "id": "aWQtMS1MYXB0b3A",
        "rawId": "aWQtMS1MYXB0b3A",
        "type": "public-key",
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "e30", "signature": "AAAA"},
    }
    response = client.post("/accounts/login/passkey/complete/", forged, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "passkey_refused"
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(actor=admin_user, action="mfa.failed")
    assert event.details == {"step": "passkey"}


def test_the_owner_of_a_verified_session_removes_a_passkey_and_it_is_audited(admin_client, admin_user):
    passkey = make_passkey(admin_user)
    verify_session(admin_client, passkey)
    response = admin_client.post("/accounts/mfa/passkeys/remove/", {"passkey": passkey.pk})
    assert response.status_code == 302
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    event = AuditEvent.objects.get(actor=admin_user, action="mfa.removed")
    assert event.details == {"devices": ["Laptop (acme-admin)"], "factor": "passkey"}


def test_a_session_not_verified_by_a_second_factor_cannot_remove_a_passkey(admin_client, admin_user):
    passkey = make_passkey(admin_user)
    response = admin_client.post("/accounts/mfa/passkeys/remove/", {"passkey": passkey.pk})
    assert response.status_code == 400
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert "mfa.removed" not in actions_of(admin_user)


def test_nobody_removes_another_users_passkey(admin_client, admin_user):
    own = make_passkey(admin_user)
    verify_session(admin_client, own)
    theirs = make_passkey(UserFactory(username="someone-else"), name="Phone")
    response = admin_client.post("/accounts/mfa/passkeys/remove/", {"passkey": theirs.pk})
    assert response.status_code == 400
    assert WebAuthnCredential.objects.filter(pk=theirs.pk).exists()
    assert "mfa.removed" not in actions_of(admin_user)


def test_a_user_with_a_factor_adds_a_passkey_only_from_a_verified_session(admin_client, admin_user):
    make_passkey(admin_user)
    response = admin_client.post("/accounts/mfa/passkeys/begin/")
    assert response.status_code == 403
    assert response.json()["code"] == "user_not_verified"
