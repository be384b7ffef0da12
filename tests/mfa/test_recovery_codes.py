"""Recovery codes: ten, shown once, stored only as peppered digests, each signs in once; audited."""

import pytest
import time_machine
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accessgov.audit.models import AuditEvent
from accessgov.mfa import recovery
from tests.mfa.conftest import code_for
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
