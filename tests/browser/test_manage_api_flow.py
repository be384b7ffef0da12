"""A tenant administrator turns API access on, reveals a key once and shows the Partner ID.

Attack catalogue case 45: a revealed secret is gone after reload, back and forward.
"""

import re

from playwright.sync_api import expect

from accessgov.policy.models import ApiKey
from tenants.models import Role
from tests.factories import MembershipFactory, UserFactory


def test_admin_agrees_reveals_a_key_once_and_toggles_the_partner_id(
    live_server, page, sign_in, tenant, admin_user, tech_user, other_admin, policy
):
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    expect(page.get_by_text("API access is off")).to_be_visible()
    expect(page.get_by_text("API keys are disabled until the API Policy is agreed.")).to_be_visible()

    page.get_by_label("Agree to the API Policy").check()
    page.get_by_role("button", name="Turn API access on").click()
    expect(page.get_by_text(f"api-{tenant.partner_id}").first).to_be_visible()

    page.get_by_label("Key name").fill("PSA sync")
    page.get_by_role("button", name="Show API Key").click()
    secret = page.locator("#revealed-secret")
    expect(secret).to_have_text(re.compile(r"^agk_[0-9A-Za-z]{61}$"))
    raw_key = secret.inner_text()
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    assert ApiKey.objects.get(name="PSA sync").prefix == raw_key[:16]

    page.reload()
    expect(page.get_by_role("cell", name="PSA sync")).to_be_visible()
    assert raw_key not in page.content()
    page.go_back()
    assert raw_key not in page.content()

    page.goto(f"{live_server.url}/t/acme/settings/api/")
    expect(page.locator("code.partner-id")).to_have_count(0)
    page.get_by_role("link", name="Show Partner ID").click()
    expect(page.locator("code.partner-id")).to_have_text(tenant.partner_id)
    page.get_by_role("link", name="Hide Partner ID").click()
    expect(page.locator("code.partner-id")).to_have_count(0)
    expect(page.get_by_role("link", name="Show Partner ID")).to_be_visible()


def test_a_technician_gets_403_and_another_tenants_admin_gets_404(
    live_server, page, sign_in, tenant, tech_user, other_admin
):
    sign_in("acme-tech")
    response = page.goto(f"{live_server.url}/t/acme/settings/api/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Administrators only")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    sign_in("rival-admin")
    response = page.goto(f"{live_server.url}/t/acme/settings/api/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()


def test_the_header_switches_between_the_tenants_a_user_belongs_to(
    live_server, page, sign_in, tenant, other_tenant
):
    user = UserFactory(username="both-admin")
    MembershipFactory(user=user, tenant=tenant, role=Role.ADMINISTRATOR)
    MembershipFactory(user=user, tenant=other_tenant, role=Role.VIEWER)
    sign_in("both-admin")
    page.goto(f"{live_server.url}/t/acme/")
    expect(page.locator(".current-tenant")).to_contain_text("Acme MSP")
    page.get_by_text("Switch tenant").click()
    page.get_by_role("link", name="Rival MSP").click()
    expect(page.locator(".current-tenant")).to_contain_text("Rival MSP")
    expect(page.get_by_text("You are viewer of this tenant.")).to_be_visible()


def test_admin_names_a_security_contact_and_a_bad_address_is_named(
    live_server, page, sign_in, tenant, admin_user
):
    sign_in("acme-admin")
    page.goto(f"{live_server.url}/t/acme/settings/api/")
    section = page.locator("#security-contact")
    expect(section.get_by_text("None set: the tenant's administrators are told.")).to_be_visible()

    section.get_by_label("Security contact").fill("soc@example.com, oops")
    section.get_by_role("button", name="Save security contact").click()
    expect(section.get_by_text("“oops” is not an e-mail address.")).to_be_visible()
    # What was typed is kept for correcting; nothing was saved.
    expect(section.get_by_label("Security contact")).to_have_value("soc@example.com, oops")
    tenant.refresh_from_db()
    assert tenant.security_contacts == []

    section.get_by_label("Security contact").fill("soc@example.com\ncto@example.com")
    section.get_by_role("button", name="Save security contact").click()
    expect(section.get_by_text("Now: soc@example.com, cto@example.com.")).to_be_visible()
    expect(section.get_by_role("status")).to_have_text("Saved.")
    tenant.refresh_from_db()
    assert tenant.security_contacts == ["soc@example.com", "cto@example.com"]
