"""The operator's story, as a new operator would try it (issue 13, "Done when"): make an operator
key, sync 3 tenants with organizations from a file and 2 more over the API, invite an administrator
who gets the mail on the test SMTP server, opens the link, chooses a password, adds an authenticator
(the tenant requires MFA), lands in the tenant, and later signs in again with a code.

Everything runs against a live HTTPS server: the API through httpx, the console through Chromium.
"""

import io
import json
import re

import httpx
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from accessgov.core import mail
from tenants.models import Membership, Role, Tenant
from tests.browser.test_mfa_flow import code_from_key
from tests.conftest import trusting

PASSWORD = "correct-horse-battery-staple-13"
LINK = re.compile(r"https://\S+/invitations/agi_[0-9A-Za-z]+/")


@pytest.fixture
def browser_context_args(browser_context_args):
    # The live server's certificate comes from the test CA, which Chromium does not know.
    return {**browser_context_args, "ignore_https_errors": True}


def test_an_operator_provisions_tenants_and_an_invited_administrator_signs_in_with_mfa(
    tls_server, ca_file, smtp_server, page, tmp_path, settings
):
    settings.ACCESSGOV_SITE_URL = tls_server

    # 1. A superuser makes the operator key; it is printed once.
    out = io.StringIO()
    call_command(
        "create_operator_key",
        "--name",
        "platform",
        "--permissions",
        "Tenants.Read,Tenants.Write,Organizations.Write,Memberships.Write",
        stdout=out,
        stderr=io.StringIO(),
    )
    key = out.getvalue().strip()

    # 2. Three tenants with organizations from the platform's export.
    export = tmp_path / "tenants.json"
    export.write_text(
        json.dumps(
            {
                "tenants": [
                    {
                        "external_id": f"cust-{n}",
                        "name": f"Customer {n}",
                        "organizations": [
                            {"external_id": f"site-{n}-{m}", "name": f"Site {m}"} for m in (1, 2)
                        ],
                    }
                    for n in (1, 2, 3)
                ]
            }
        )
    )
    call_command("sync_tenants", str(export), stdout=io.StringIO())

    # 3. Two more over the API, with an organization each, and the administrator invited.
    with httpx.Client(
        base_url=f"{tls_server}/api/operator/v1/",
        verify=trusting(ca_file),
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ) as api:
        for n, name in ((4, "Fabrikam"), (5, "Tailspin")):
            created = api.post(
                "Tenants", json={"ExternalId": f"cust-{n}", "Name": name, "AdministratorsMustUseMfa": True}
            )
            assert created.status_code == 201, created.text
            org = api.post(
                "Organizations", json={"TenantExternalId": f"cust-{n}", "ExternalId": "hq", "Name": "HQ"}
            )
            assert org.status_code == 201, org.text
        assert api.get("Tenants").json()["Meta"]["TotalCount"] == 5
        assert api.get("Organizations").json()["Meta"]["TotalCount"] == 8
        invited = api.post(
            "Memberships",
            json={"TenantExternalId": "cust-4", "Email": "ada@fabrikam.example", "Role": "administrator"},
        )
        assert invited.status_code == 201 and invited.json()["Meta"]["Result"] == "invited"
    fabrikam = Tenant.objects.get(external_id="cust-4")

    # 4. The mail goes out through the outbox to the SMTP server.
    assert mail.send_queued().sent == 1
    [message] = smtp_server.to("ada@fabrikam.example")
    link = LINK.search(message.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(tls_server)

    # 5. Ada opens the link: the token leaves the address bar at once.
    page.goto(link)
    expect(page).to_have_url(f"{tls_server}/invitations/accept/")
    expect(page.get_by_role("heading", name="Join Fabrikam")).to_be_visible()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Accept the invitation").click()

    # 6. Fabrikam requires MFA of administrators: she adds an authenticator before seeing it.
    expect(page).to_have_url(f"{tls_server}/accounts/mfa/")
    page.get_by_role("button", name="Add an authenticator app").click()
    secret = page.locator("#totp-key").inner_text()
    page.get_by_label("Code").fill(code_from_key(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Save these recovery codes now.")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    page.goto(f"{tls_server}/t/{fabrikam.slug}/")
    expect(page).to_have_url(f"{tls_server}/t/{fabrikam.slug}/")
    expect(page.get_by_text("HQ")).to_be_visible()

    # 7. Later she signs in again: password, then a code.
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Username").fill("ada@fabrikam.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{tls_server}/accounts/login/verify/")
    page.get_by_label("Code").fill(code_from_key(secret, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{tls_server}/t/{fabrikam.slug}/")

    membership = Membership.objects.get(tenant=fabrikam, user__email="ada@fabrikam.example")
    assert membership.role == Role.ADMINISTRATOR
    activity = AuditEvent.objects.filter(tenant=fabrikam).order_by("pk")
    assert [(e.action, e.actor_label) for e in activity][:4] == [
        ("tenant.created", "platform (operator key)"),
        ("organization.added", "platform (operator key)"),
        ("invitation.sent", "platform (operator key)"),
        ("invitation.accepted", "ada@fabrikam.example"),
    ]
    assert {e.actor_label for e in AuditEvent.objects.filter(tenant__external_id="cust-1")} == {
        "manage.py sync_tenants (tenants.json)"
    }
