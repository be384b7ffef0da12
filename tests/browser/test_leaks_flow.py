"""An administrator chooses what happens to leaked secrets, a scanner reports one, and "Whose key is
this?" finds the token from its ID and shows it revoked; the pasted value never comes back."""

import json

from django.test import Client
from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from tests.factories import ThirdPartyTokenFactory


def test_admin_sets_the_leak_response_and_finds_a_reported_token(
    live_server, page, sign_in, enabled_tenant, admin_user
):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, name="Backup export")
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    section = page.locator("#leaked-secrets")
    expect(
        section.get_by_label("Revoke it at once and tell the security contact (recommended)")
    ).to_be_checked()
    section.get_by_label("Only tell the security contact").check()
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved what happens to leaked secrets.")).to_be_visible()
    enabled_tenant.refresh_from_db()
    assert enabled_tenant.leak_response == "notify"
    page.locator("#leaked-secrets").get_by_label(
        "Revoke it at once and tell the security contact (recommended)"
    ).check()
    page.locator("#leaked-secrets").get_by_role("button", name="Save").click()
    assert AuditEvent.objects.filter(action="tenant.leak_response_changed").count() == 2

    # A scanner reports the secret.
    body = json.dumps({"secrets": [token.secret], "url": "https://paste.example/42", "source": "scanner"})
    assert (
        Client()
        .post("/security/leaks/v1/reports", body, content_type="application/json", secure=True)
        .status_code
        == 202
    )

    page.get_by_role("link", name="Whose key is this?").click()
    page.get_by_label("Key, token ID or prefix").fill(token.token_id)
    page.get_by_role("button", name="Look up").click()
    result = page.locator("#lookup-result")
    expect(result).to_contain_text("Backup export")
    expect(result).to_contain_text("Revoked")
    expect(page.get_by_label("Key, token ID or prefix")).to_have_value("")

    page.get_by_label("Key, token ID or prefix").fill(token.secret[:-1] + "x")
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-result")).to_contain_text("No credential of")
    assert token.secret not in page.content()

    page.get_by_role("link", name="Activity").click()
    expect(page.get_by_role("cell", name="Secret reported leaked")).to_be_visible()
