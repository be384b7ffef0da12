"""A user adds a passkey from the MFA page, then signs in with it (Chromium's virtual authenticator)."""

from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from tests.factories import PASSWORD


def add_virtual_authenticator(page) -> None:
    """Give PAGE's browser a platform authenticator that always verifies its user, as Touch ID does."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def test_administrator_adds_a_passkey_and_signs_in_with_it(live_server, page, sign_in, tenant, admin_user):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    # live_server serves http://localhost:<port>: a secure context whose host is the relying party ID.
    assert live_server.url.startswith("http://localhost:")
    add_virtual_authenticator(page)
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/accounts/mfa/")

    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("button", name="Remove passkey")).to_have_count(1)
    page.goto(f"{live_server.url}/t/acme/")
    expect(page).to_have_url(f"{live_server.url}/t/acme/")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    page.get_by_role("button", name="Use a passkey").click()
    # Signed in and verified: the home page leads to the only tenant, no longer to enrolment.
    expect(page).to_have_url(f"{live_server.url}/t/acme/")

    actions = list(
        AuditEvent.objects.filter(actor=admin_user).order_by("pk").values_list("action", "details")
    )
    assert actions[-2][0] == "mfa.passkey_added"
    assert actions[-1] == ("mfa.verified", {"factor": "passkey"})
