"""An administrator of a tenant that requires MFA adds an authenticator app, then signs in with a code."""

import base64

from django_otp.oath import totp
from playwright.sync_api import expect

from tests.factories import PASSWORD


def code_from_key(key: str, *, steps_ahead: int = 0) -> str:
    """Return the code an authenticator app holding KEY shows now (or STEPS_AHEAD 30-second steps on).

    Sign-in uses the next step: the enrolment used the current one, a code of a step already used
    is never accepted again, and the server accepts one step ahead for clock drift.
    """
    return f"{totp(base64.b32decode(key), t0=-30 * steps_ahead):06d}"


def test_administrator_enrols_an_authenticator_and_signs_in_with_a_code(
    live_server, page, sign_in, tenant, admin_user
):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    sign_in("acme-admin")
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
    page.get_by_role("link", name="Continue").click()
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/t/acme/")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    page.get_by_label("Code").fill(code_from_key(key, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    # Signed in and verified: the home page leads to the only tenant, no longer to enrolment.
    expect(page).to_have_url(f"{live_server.url}/t/acme/")
