"""An address blocked after repeated failed API requests appears in the console; staff unblock it.

The live HTTPS server's clients come from 127.0.0.1: three wrong secrets with small tiers block it.
"""

import uuid

import httpx
import pytest
from django.core.cache import caches
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accessgov.audit.models import AuditEvent
from tests.conftest import TEST_REDIS_URL, basic_auth, delete_redis_keys, trusting
from tests.factories import PASSWORD, ThirdPartyTokenFactory, UserFactory


@pytest.fixture
def redis_cache(settings):
    """Make the default cache this run's Redis under a fresh prefix: blocks are recorded there."""
    prefix = f"blocks-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
            "OPTIONS": settings.ACCESSGOV_REDIS_OPTIONS,
        },
    }
    yield
    delete_redis_keys(caches["default"], prefix)


def test_a_blocked_address_appears_in_the_console_and_staff_unblock_it(
    redis_cache,
    settings,
    live_server,
    tls_server,
    ca_file,
    page,
    sign_in,
    admin_user,
    enabled_tenant,
):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 600)]
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, name="PSA sync", permissions=["Me.Read"])
    staff = UserFactory(username="support", is_staff=True)
    device = TOTPDevice.objects.create(user=staff, name="Authenticator app", confirmed=True)
    with httpx.Client(base_url=f"{tls_server}/api/v1/", verify=trusting(ca_file), timeout=10) as api:
        for _ in range(3):
            assert (
                api.get("Me", headers={"Authorization": basic_auth(token.token_id, "wrong")}).status_code
                == 401
            )
        good = {"Authorization": basic_auth(token.token_id, token.secret)}
        assert api.get("Me", headers=good).status_code == 429

        # The tenant's administrator sees the block, but may not lift it: 127.0.0.1 is on no allowlist.
        sign_in("acme-admin")
        page.goto(f"{live_server.url}/t/acme/settings/api/")
        page.get_by_role("link", name="See blocked addresses").click()
        row = page.locator("tr[data-address='127.0.0.1']")
        expect(row).to_contain_text("invalid_credentials: 3")
        expect(row.get_by_role("button", name="Unblock")).to_have_count(0)
        expect(row).to_contain_text("Not on a token's IP allowlist")
        page.get_by_role("button", name="Sign out").click()

        # Staff, verified with a second factor, see it and unblock it.
        page.get_by_label("Username").fill("support")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Code").fill(f"{totp(device.bin_key):06d}")
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state("networkidle")
        page.goto(f"{live_server.url}/staff/blocks/")
        row = page.locator("tr[data-address='127.0.0.1']")
        expect(row).to_contain_text("Acme MSP")
        row.get_by_role("button", name="Unblock").click()
        expect(page.get_by_text("127.0.0.1 is unblocked and may call the API again.")).to_be_visible()
        expect(page.locator("tr[data-address='127.0.0.1']")).to_have_count(0)

        assert api.get("Me", headers=good).status_code == 200
    event = AuditEvent.objects.get(action="address.unblocked")
    assert event.actor == staff and event.tenant == enabled_tenant and event.details["address"] == "127.0.0.1"
