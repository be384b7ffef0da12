"""README's screenshots: an administrator walks the main pages and each is checked as it renders.

With ACCESSGOV_SCREENSHOTS=1 the walk also saves a PNG of each page under docs/screenshots/
(`ACCESSGOV_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py`);
otherwise it writes nothing, so the suite never rewrites them.
Secrets are replaced on the page before any picture is taken.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage
from tests.factories import (
    ThirdPartyTokenFactory,
    TrustedApplicationAuthorizationFactory,
    TrustedApplicationFactory,
    WebhookDestinationFactory,
)
from tokens.models import generate_token_id

SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
SAVING = os.environ.get("ACCESSGOV_SCREENSHOTS") == "1"
MASK = "agk_•••••••••••••••••••••••••••••"


def record_usage(token, now) -> None:
    """Give TOKEN thirty days of calls, a few refused and rate-limited, from two addresses."""
    rows = []
    for age in range(30):
        day = (now - timedelta(days=age)).date()
        calls = {("GET Me", "Me.Read", "allowed"): 40 + (age * 7) % 23}
        calls[("GET Organizations", "Organizations.Read", "allowed")] = 120 + (age * 13) % 40
        if age % 6 == 2:
            calls[("GET Organizations", "Organizations.Read", "rate_limited")] = 9
        if age in (3, 4):
            calls[("GET Me", "Me.Read", "ip_not_allowed")] = 5
        for (endpoint, permission, outcome), count in calls.items():
            rows.append(
                CredentialUsage(
                    tenant=token.tenant,
                    credential_type=CredentialType.TOKEN,
                    credential_id=token.pk,
                    day=day,
                    endpoint=endpoint,
                    permission=permission,
                    outcome=outcome,
                    calls=count,
                )
            )
    CredentialUsage.objects.bulk_create(rows)
    for address, first, last in (("203.0.113.14", 41, 0), ("198.51.100.20", 4, 3)):
        CredentialAddress.objects.create(
            tenant=token.tenant,
            credential_type=CredentialType.TOKEN,
            credential_id=token.pk,
            address=address,
            first_seen=now - timedelta(days=first),
            last_seen=now - timedelta(days=last, minutes=7),
            last_endpoint="GET Organizations",
        )


@pytest.fixture
def shoot(page: Page):
    """Return a function that checks the page shows HEADING and, when saving, takes its picture."""
    page.set_viewport_size({"width": 1280, "height": 800})
    taken: list[str] = []

    def _shoot(name: str, heading: str, *, full_page: bool = True) -> None:
        expect(page.get_by_role("heading", name=heading, exact=True).first).to_be_visible()
        page.wait_for_load_state("networkidle")
        taken.append(name)
        if SAVING:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")

    yield _shoot
    if SAVING:
        assert {path.stem for path in SCREENSHOTS.glob("*.png")} >= set(taken)


def test_an_administrator_walks_the_main_pages_for_the_readme(
    live_server, page, sign_in, tenant, admin_user, policy, organizations, shoot
):
    base = f"{live_server.url}/t/acme/settings/api"
    sign_in("acme-admin")

    # Manage API: agree to the policy, then reveal a key, hidden before the picture.
    page.goto(f"{base}/")
    page.get_by_label("Agree to the API Policy").check()
    page.get_by_role("button", name="Turn API access on").click()
    page.get_by_label("Key name").fill("PSA sync")
    page.get_by_role("button", name="Show API Key").click()
    secret = page.locator("#revealed-secret")
    expect(secret).to_have_text(re.compile(r"^agk_[0-9A-Za-z]{61}$"))
    raw_key = secret.inner_text()
    page.evaluate("(mask) => { document.querySelector('#revealed-secret').textContent = mask; }", MASK)
    expect(secret).to_have_text(MASK)
    assert raw_key not in page.inner_text("body")
    shoot("manage-api", "Manage API")

    # Third-Party Tokens: a few tokens in their different states, made over the last weeks.
    now = timezone.now()
    contoso, fabrikam = organizations

    def token(name: str, days_ago: int, **fields):
        created = now - timedelta(days=days_ago, hours=days_ago % 7)
        fields.setdefault("starts_at", created)
        return ThirdPartyTokenFactory(
            tenant=tenant,
            token_id=generate_token_id(),
            name=name,
            created_by=admin_user,
            created_at=created,
            **fields,
        )

    billing = token(
        "Nightly billing export",
        41,
        permissions=["Me.Read", "Organizations.Read"],
        allowed_ips=["203.0.113.0/24"],
        last_used_at=now - timedelta(minutes=7),
        last_used_ip="203.0.113.14",
    )
    token(
        "Ticket sync",
        12,
        permissions=["Me.Read", "AuditEvents.Read"],
        selected_organizations=True,
        organization_ids=[contoso.pk],
        expires_at=now + timedelta(days=90),
        last_used_at=now - timedelta(hours=3),
        last_used_ip="2001:db8::42",
    )
    token("Old inventory script", 60, revoked_at=now - timedelta(days=4))
    token("Quarterly audit", 1, starts_at=now + timedelta(days=9))
    record_usage(billing, now)  # a month of nightly runs, as rollup_usage leaves them
    page.goto(f"{base}/tokens/")
    expect(page.get_by_role("cell", name="Nightly billing export")).to_be_visible()
    expect(page.get_by_text(re.compile("^Revoked — deleted on"))).to_be_visible()
    shoot("tokens", "Third-Party Tokens")

    # Its usage, opened from the list.
    page.get_by_role("link", name="Nightly billing export").click()
    expect(page.get_by_role("heading", name="Permissions not used in 30 days")).to_be_visible()
    shoot("token-usage", "Nightly billing export")
    page.goto(f"{base}/tokens/")

    page.get_by_role("link", name="Create Token").click()
    page.get_by_label("Name").fill("Backup reporting")
    page.get_by_label("Whitelisted IP addresses").fill("198.51.100.0/24\n2001:db8::/32")
    shoot("create-token", "Create Token")

    # Webhook API: a domain approved through the page, and a destination on it.
    page.goto(f"{base}/webhooks/")
    page.get_by_role("link", name="+ Add new domain").click()
    page.get_by_label("Domain", exact=True).fill("hooks.example.com")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("hooks.example.com is approved for webhook destinations.")).to_be_visible()
    WebhookDestinationFactory(
        tenant=tenant,
        url="https://hooks.example.com/accessgov",
        events=["notify", "token.created", "token.revoked", "api_access.disabled"],
    )
    page.goto(f"{base}/webhooks/")
    expect(page.locator("#destinations")).to_contain_text("https://hooks.example.com/accessgov")
    shoot("webhooks", "Approved Webhook Domains")

    # Trusted Applications: one available and authorized, one only available.
    connector = TrustedApplicationFactory(name="PSA Connector", vendor="Kaseya")
    TrustedApplicationFactory(name="Backup Monitor", vendor="Datto", description="Reads backup status.")
    TrustedApplicationAuthorizationFactory(
        tenant=tenant,
        application=connector,
        authorized_by=admin_user,
        permissions=["Me.Read", "Organizations.Read"],
        all_organizations=False,
        organization_ids=[contoso.pk, fabrikam.pk],
    )
    page.goto(f"{base}/trusted-apps/")
    expect(page.locator("#authorization-list")).to_contain_text("PSA Connector")
    shoot("trusted-apps", "Trusted Applications")

    page.goto(f"{base}/activity/")
    expect(page.get_by_role("cell", name="Approved webhook domain added", exact=True)).to_be_visible()
    shoot("activity", "Activity")
    assert raw_key not in page.content()

    page.goto(f"{live_server.url}/api/")
    shoot("api-docs", "accessgov API", full_page=False)
