"""Issue 14 in the browser: suspend and resume a token, a lifetime policy refusing a token without an
expiry, and an expiry reminder received over SMTP whose link opens the token's page after sign-in."""

import re
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accessgov.core import mail
from tests.api.conftest import ApiClient, error_of
from tests.conftest import basic_auth
from tests.factories import PASSWORD, ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken


def test_admin_suspends_and_resumes_a_token_and_the_api_follows(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant
):
    token = ThirdPartyTokenFactory(tenant=tenant, name="PSA sync", permissions=["Me.Read"])
    api = ApiClient()
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200

    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/tokens/")
    page.get_by_role("link", name="PSA sync").click()
    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_text("“PSA sync” is suspended")).to_be_visible()
    expect(page.locator("#token-status")).to_contain_text("Suspended since")
    assert error_of(api.get("Me", auth)) == (401, "credential_suspended")

    page.get_by_role("link", name="Third-Party Tokens", exact=True).click()
    expect(page.get_by_role("row").filter(has_text="PSA sync")).to_contain_text("Suspended since")
    page.get_by_role("link", name="PSA sync").click()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("“PSA sync” is resumed and works again.")).to_be_visible()
    expect(page.locator("#token-status")).to_have_text("Active")
    assert api.get("Me", auth).status_code == 200


def test_a_lifetime_policy_refuses_a_token_without_expiry_with_the_message_on_the_field(
    live_server, page, sign_in, tenant, admin_user, enabled_tenant
):
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    page.get_by_label("Maximum lifetime (days)").fill("90")
    page.get_by_label("An expiry date is required").check()
    page.get_by_role("button", name="Save lifetime policy").click()
    expect(page.locator("#lifetime-policy").get_by_role("status")).to_have_text("Saved.")

    page.get_by_role("link", name="Third-Party Tokens", exact=True).click()
    page.get_by_role("link", name="Create Token").click()
    page.get_by_label("Name").fill("Forever script")
    page.get_by_text("Edit Permissions").click()
    page.get_by_label("Read the calling credential").check()
    page.get_by_role("button", name="Create", exact=True).click()
    error = page.locator("#expires-at-error")
    expect(error).to_have_text("The policy of Acme MSP requires an expiration date of at most 90 days.")
    expect(page.get_by_label("Expiration date (UTC)")).to_have_attribute(
        "aria-describedby", re.compile("expires-at-error")
    )
    assert not ThirdPartyToken.objects.exists()
    # What was typed is kept: only the expiry needs an answer.
    expect(page.get_by_label("Name")).to_have_value("Forever script")
    page.get_by_label("Expiration date (UTC)").fill(
        (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    assert ThirdPartyToken.objects.get().name == "Forever script"


def test_the_reminder_mail_arrives_over_smtp_and_its_link_opens_the_token_after_sign_in(
    live_server, page, tenant, admin_user, enabled_tenant, smtp_server, settings
):
    settings.ACCESSGOV_SITE_URL = live_server.url
    tenant.security_contacts = ["soc@acme.example"]
    tenant.save()
    token = ThirdPartyTokenFactory(
        tenant=tenant, name="Billing export", expires_at=timezone.now() + timedelta(days=6, hours=1)
    )
    call_command("send_reminders", verbosity=0)
    assert mail.send_queued().sent == 1
    (message,) = smtp_server.to("soc@acme.example")
    assert message["Subject"] == "Acme MSP: token “Billing export” expires in 7 day(s)"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert token.secret not in message.as_string()
    link = re.search(rf"{re.escape(live_server.url)}/\S+#renew", text).group(0)
    assert link == f"{live_server.url}/t/acme/settings/api/tokens/{token.pk}/#renew"

    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill("acme-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The fragment survives sign-in: the page opens at its Renew section (issue 14 §1 builds it).
    expect(page).to_have_url(re.compile(rf"/t/acme/settings/api/tokens/{token.pk}/#renew$"))
    expect(page.get_by_role("heading", name="Billing export")).to_be_visible()
    expect(page.locator("#expiring-banner")).to_contain_text("Billing export")
