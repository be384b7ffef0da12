"""An administrator of a tenant that requires MFA adds an authenticator app, signs in with a code or,
the app lost, with a recovery code, and removes the authenticator with a current code."""

import base64

from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from tests.factories import PASSWORD


def code_from_key(key: str, *, steps_ahead: int = 0) -> str:
    """Return the code an authenticator app holding KEY shows now (or STEPS_AHEAD 30-second steps on).

    Sign-in uses the next step: the enrolment used the current one, a code of a step already used
    is never accepted again, and the server accepts one step ahead for clock drift.
    """
    return f"{totp(base64.b32decode(key), t0=-30 * steps_ahead):06d}"


def enrol(page, live_server) -> tuple[str, list[str]]:
    """Add an authenticator app as the signed-in administrator; return its key and the recovery codes."""
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")
    page.get_by_role("button", name="Add an authenticator app").click()
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    key = page.locator("#totp-key").inner_text()
    expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/accessgov%3Aacme-admin?secret=")
    page.get_by_label("Code").fill(code_from_key(key))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    codes = [text.strip() for text in page.locator("#recovery-codes li").all_inner_texts()]
    page.get_by_role("link", name="Continue").click()
    return key, codes


def sign_in_again(page, live_server) -> None:
    """Sign out, then give acme-admin's password: the page asks for the second factor."""
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")


def test_administrator_enrols_an_authenticator_and_signs_in_with_a_code(
    live_server, page, sign_in, tenant, admin_user
):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    sign_in("acme-admin")
    key, _ = enrol(page, live_server)
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/t/acme/")

    sign_in_again(page, live_server)
    page.get_by_label("Code").fill(code_from_key(key, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    # Signed in and verified: the home page leads to the only tenant, no longer to enrolment.
    expect(page).to_have_url(f"{live_server.url}/t/acme/")


def test_administrator_who_lost_the_authenticator_signs_in_with_a_recovery_code_once(
    live_server, page, sign_in, tenant, admin_user
):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    sign_in("acme-admin")
    _, codes = enrol(page, live_server)
    assert len(set(codes)) == 10

    sign_in_again(page, live_server)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    # Verified by the recovery code: the tenant that requires MFA lets the administrator in.
    expect(page).to_have_url(f"{live_server.url}/t/acme/")
    event = AuditEvent.objects.get(action="mfa.recovery_code_used")
    assert event.actor == admin_user and event.details == {"recovery_codes_left": 9}
    assert StaticToken.objects.filter(device__user=admin_user).count() == 9

    # The code is used up: the same code does not sign in twice.
    sign_in_again(page, live_server)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    assert AuditEvent.objects.filter(action="mfa.recovery_code_used").count() == 1
    assert AuditEvent.objects.filter(action="mfa.failed", actor=admin_user).count() == 1


def test_administrator_removes_the_authenticator_with_a_current_code(
    live_server, page, sign_in, tenant, admin_user
):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    sign_in("acme-admin")
    key, _ = enrol(page, live_server)
    page.goto(f"{live_server.url}/accounts/mfa/")
    expect(
        page.get_by_text("Remove the authenticator app: this also deletes your recovery codes.")
    ).to_be_visible()

    assert TOTPDevice.objects.filter(user=admin_user, confirmed=True).exists()
    # (A wrong code first would throttle the device for a second: tests/mfa/test_totp.py covers it.)
    page.get_by_label("Code").fill(code_from_key(key, steps_ahead=1))
    page.get_by_role("button", name="Remove two-factor sign-in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")
    expect(page.get_by_role("button", name="Add an authenticator app")).to_be_visible()
    assert not TOTPDevice.objects.filter(user=admin_user).exists()
    assert not StaticDevice.objects.filter(user=admin_user).exists()
    event = AuditEvent.objects.get(action="mfa.removed")
    assert event.actor == admin_user and len(event.details["devices"]) == 2
    # The tenant still requires MFA: its pages send the administrator back to enrolment.
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")
