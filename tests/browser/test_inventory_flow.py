"""Support staff sign in with a second factor, open the credential inventory, filter the credentials
expiring within 30 days, and export exactly those as CSV."""

import csv
import io
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import PASSWORD, ThirdPartyTokenFactory, UserFactory


def test_staff_filter_expiring_credentials_and_export_them(live_server, page, tenant, other_tenant):
    staff = UserFactory(username="support", is_staff=True)
    device = TOTPDevice.objects.create(user=staff, name="Authenticator app", confirmed=True)
    now = timezone.now()
    ThirdPartyTokenFactory(tenant=tenant, name="Backup export", expires_at=now + timedelta(days=12))
    ThirdPartyTokenFactory(tenant=other_tenant, name="Ticket sync", expires_at=now + timedelta(days=29))
    ThirdPartyTokenFactory(tenant=other_tenant, name="Quarterly report", expires_at=now + timedelta(days=90))

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("support")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Code").fill(f"{totp(bytes.fromhex(device.key)):06d}")
    page.get_by_role("button", name="Verify").click()

    page.get_by_role("link", name="Credential inventory").click()
    expect(page.get_by_role("heading", name="Credential inventory")).to_be_visible()
    expect(page.get_by_text("3 credentials.")).to_be_visible()

    page.get_by_role("link", name="Expires within 30 days").click()
    expect(page.get_by_text("2 credentials.")).to_be_visible()
    rows = page.locator("#credential-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Backup export")).to_contain_text(tenant.name)
    expect(rows.filter(has_text="Ticket sync")).to_contain_text(other_tenant.name)
    expect(page.get_by_text("Quarterly report")).to_have_count(0)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    table = list(csv.reader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [line[2] for line in table[1:]] == ["Backup export", "Ticket sync"]


def test_a_tenant_administrator_sees_no_inventory_link_and_no_page(
    live_server, page, sign_in, tenant, admin_user
):
    sign_in("acme-admin")
    expect(page.get_by_role("link", name="Credential inventory")).to_have_count(0)
    response = page.goto(f"{live_server.url}/staff/credentials/")
    assert response.status == 404
