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
    # A first passkey brings recovery codes (shown once); then the page lists the passkey.
    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    page.goto(f"{live_server.url}/accounts/mfa/")
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
    assert [action for action, _ in actions[-3:-1]] == ["mfa.passkey_added", "mfa.recovery_codes_made"]
    assert actions[-1] == ("mfa.verified", {"factor": "passkey"})


def test_a_user_with_only_a_passkey_gets_recovery_codes_and_signs_in_with_one_after_losing_it(
    live_server, page, sign_in, tenant, admin_user
):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    add_virtual_authenticator(page)
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/accounts/mfa/")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    codes = [text.strip() for text in page.locator("#recovery-codes li").all_inner_texts()]
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/t/acme/")
    # Never shown again: the page of factors counts the codes, it does not list them.
    page.goto(f"{live_server.url}/accounts/mfa/")
    expect(page.get_by_text("You have 10 unused recovery codes.")).to_be_visible()
    assert not any(code in page.content() for code in codes)

    # The passkey is lost (a new browser profile would have none): sign in with a recovery code.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/login/verify/")
    expect(page.get_by_text("one of your recovery codes if you lost your passkeys")).to_be_visible()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{live_server.url}/t/acme/")

    actions = list(
        AuditEvent.objects.filter(actor=admin_user).order_by("pk").values_list("action", "details")
    )
    assert [action for action, _ in actions if action.startswith("mfa.")] == [
        "mfa.passkey_added",
        "mfa.recovery_codes_made",
        "mfa.recovery_code_used",
    ]
    assert actions[-1][1] == {"recovery_codes_left": 9}
