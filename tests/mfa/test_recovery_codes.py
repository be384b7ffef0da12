"""Recovery codes: ten, shown once, stored only as peppered digests, each signs in once; audited."""

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accessgov.audit.models import AuditEvent
from accessgov.mfa import recovery
from tests.mfa.conftest import code_for
from tests.mfa.test_passkeys import make_passkey, verify_session
from tests.mfa.test_totp import NOW, sign_in_password, submit_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def recovery_codes(admin_client, admin_user) -> list[str]:
    """Enrol acme-admin's authenticator through the pages; return the recovery codes shown."""
    with time_machine.travel(NOW, tick=False):
        admin_client.post("/accounts/mfa/totp/")
        device = TOTPDevice.objects.get(user=admin_user)
        response = admin_client.post(
            "/accounts/mfa/totp/confirm/", {"device": device.pk, "code": code_for(device)}
        )
    return response.context["recovery_codes"]


def test_ten_distinct_codes_are_stored_only_as_digests(recovery_codes, admin_user):
    assert len(set(recovery_codes)) == 10
    stored = set(StaticToken.objects.filter(device__user=admin_user).values_list("token", flat=True))
    assert stored == {recovery.stored_token(code) for code in recovery_codes}
    for code in recovery_codes:
        assert recovery.normalize_code(code) not in stored and code not in stored


def test_a_recovery_code_signs_in_once(recovery_codes, admin_user):
    client = Client()
    sign_in_password(client)
    response = submit_code(client, recovery_codes[3].upper())  # typed in capitals: still the code
    assert response.status_code == 302
    assert client.get("/accounts/mfa/").context["user"].is_verified() is True
    event = AuditEvent.objects.get(action="mfa.recovery_code_used")
    assert event.actor == admin_user and event.details == {"recovery_codes_left": 9}

    again = Client()
    sign_in_password(again)
    assert submit_code(again, recovery_codes[3]).status_code == 200
    assert "_auth_user_id" not in again.session


def test_the_recovery_codes_are_never_shown_again(recovery_codes, admin_client):
    page = admin_client.get("/accounts/mfa/")
    assert all(code not in page.text for code in recovery_codes)


def test_codes_look_nothing_like_a_totp_code():
    code = recovery.generate_code()
    assert recovery.looks_like_recovery_code(code)
    assert not recovery.looks_like_recovery_code("123456")


# --- People whose factors are passkeys only ------------------------------------------------------


def make_codes(client: Client):
    return client.post("/accounts/mfa/recovery-codes/")


def test_a_user_with_only_a_passkey_gets_ten_codes_once_no_store_as_digests_and_audited(
    admin_client, admin_user
):
    verify_session(admin_client, make_passkey(admin_user))
    assert admin_client.get("/accounts/mfa/").context["recovery_codes_left"] == 0
    response = make_codes(admin_client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    codes = response.context["recovery_codes"]
    assert len(set(codes)) == 10
    stored = set(StaticToken.objects.filter(device__user=admin_user).values_list("token", flat=True))
    assert stored == {recovery.stored_token(code) for code in codes}
    event = AuditEvent.objects.get(action="mfa.recovery_codes_made")
    assert event.actor == admin_user and event.details == {"recovery_codes": 10} and event.tenant is None
    # Shown once: asking again while codes are left makes none and shows none.
    again = make_codes(admin_client)
    assert again.status_code == 400 and "recovery_codes" not in again.context
    assert StaticToken.objects.filter(device__user=admin_user).count() == 10
    assert all(code not in admin_client.get("/accounts/mfa/").text for code in codes)


def test_recovery_codes_are_made_only_from_a_session_verified_by_a_second_factor(admin_client, admin_user):
    assert make_codes(admin_client).status_code == 400  # no factor at all
    make_passkey(admin_user)
    assert make_codes(admin_client).status_code == 400  # a passkey, but this session did not use it
    assert admin_client.get("/accounts/mfa/recovery-codes/").status_code == 405
    assert not StaticToken.objects.exists()
    assert not AuditEvent.objects.filter(action="mfa.recovery_codes_made").exists()


def test_a_passkey_only_user_signs_in_with_a_recovery_code_after_losing_the_passkey(admin_client, admin_user):
    verify_session(admin_client, make_passkey(admin_user))
    codes = make_codes(admin_client).context["recovery_codes"]
    client = Client()
    sign_in_password(client)
    page = client.get("/accounts/login/verify/")
    assert "one of your recovery codes if you lost your passkeys" in page.text
    assert submit_code(client, codes[0]).status_code == 302
    event = AuditEvent.objects.get(action="mfa.recovery_code_used")
    assert event.actor == admin_user and event.details == {"recovery_codes_left": 9}


def test_removing_the_last_passkey_removes_the_codes_that_stood_in_for_it(admin_client, admin_user):
    passkey = make_passkey(admin_user)
    verify_session(admin_client, passkey)
    make_codes(admin_client)
    assert admin_client.post("/accounts/mfa/passkeys/remove/", {"passkey": passkey.pk}).status_code == 302
    assert not StaticToken.objects.filter(device__user=admin_user).exists()
    event = AuditEvent.objects.filter(action="mfa.removed").latest("pk")
    assert event.details["recovery_codes_removed"] == 10
