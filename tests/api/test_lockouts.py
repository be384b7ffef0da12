"""Blocks after failed requests, seen and lifted in the console (accessgov.core.lockouts, tokens/blocks.py)."""

from datetime import timedelta

import pytest
from django.shortcuts import resolve_url
from django.test import override_settings
from django.utils import timezone

from accessgov.api import limits
from accessgov.audit.models import AuditEvent
from accessgov.core import lockouts
from tests.api.test_limits import T0, shared_limiter  # noqa: F401 - the Redis limiter of those tests
from tests.conftest import _client_for, basic_auth, enable_api
from tests.factories import ThirdPartyTokenFactory, UserFactory
from tokens.models import ThirdPartyToken

ATTACKER = "198.51.100.77"
BLOCKS = "/t/{}/settings/api/blocked/"


@pytest.fixture
def blocked(settings, real_redis, client, token):
    """Block ATTACKER after three wrong secrets for `token` (of `tenant`, "acme")."""
    settings.ACCESSGOV_API_FAILURE_TIERS = [(3, 60, 600)]
    for _ in range(3):
        answer = client.get(
            "/api/v1/Me",
            secure=True,
            REMOTE_ADDR=ATTACKER,
            HTTP_AUTHORIZATION=basic_auth(token.token_id, "wrong"),
        )
        assert answer.status_code == 401
    assert _me(client, token).status_code == 429
    return lockouts.find_block(ATTACKER, now=timezone.now())


def _me(client, token):
    return client.get(
        "/api/v1/Me",
        secure=True,
        REMOTE_ADDR=ATTACKER,
        HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
    )


def test_a_block_records_since_until_tier_failures_kinds_and_the_tenant(blocked, tenant):
    assert blocked.tier == 1
    assert blocked.failures == 3
    assert sum(blocked.kinds.values()) == 3
    assert blocked.tenant_ids == {tenant.pk}
    assert 590 <= (blocked.until - blocked.since).total_seconds() <= 600


def test_the_block_is_on_its_tenants_page_and_not_another_tenants(
    blocked, admin_client, other_admin_client, other_tenant, other_admin, django_assert_num_queries
):
    enable_api(other_tenant, by=other_admin)
    page = admin_client.get(BLOCKS.format("acme"))
    assert ATTACKER in page.content.decode()
    assert "Not on a token" in page.content.decode() and "Unblock</button>" not in page.content.decode()
    assert ATTACKER not in other_admin_client.get(BLOCKS.format("rival")).content.decode()


def test_an_administrator_unblocks_an_address_on_a_token_allowlist_and_the_next_request_is_served(
    blocked, admin_client, client, token, tenant
):
    token.allowed_ips = ["198.51.100.0/24"]
    token.save()
    page = admin_client.get(BLOCKS.format("acme")).content.decode()
    assert 'name="address" value="198.51.100.77"' in page
    answer = admin_client.post(BLOCKS.format("acme") + "unblock/", {"address": ATTACKER})
    assert answer.status_code == 302
    assert _me(client, token).status_code == 200
    event = AuditEvent.objects.get(action="address.unblocked")
    assert event.tenant == tenant
    assert event.details["address"] == ATTACKER
    assert f'data-address="{ATTACKER}"' not in admin_client.get(BLOCKS.format("acme")).content.decode()


def test_no_unblock_off_the_allowlist_and_none_for_another_tenant(
    blocked, admin_client, other_admin_client, other_tenant, other_admin, client, token
):
    # Not on any of acme's allowlists: no button, and a forged POST is refused.
    assert admin_client.post(BLOCKS.format("acme") + "unblock/", {"address": ATTACKER}).status_code == 404
    # Rival lists the address on its own token's allowlist: still not its block to lift.
    ThirdPartyTokenFactory(tenant=enable_api(other_tenant, by=other_admin), allowed_ips=["198.51.100.0/24"])
    assert (
        other_admin_client.post(BLOCKS.format("rival") + "unblock/", {"address": ATTACKER}).status_code == 404
    )
    assert lockouts.find_block(ATTACKER, now=timezone.now()) is not None
    assert _me(client, token).status_code == 429
    assert not AuditEvent.objects.filter(action="address.unblocked").exists()


def test_staff_see_every_block_and_unblock_it_audited(blocked, staff_client, client, token, tenant):
    page = staff_client.get("/staff/blocks/").content.decode()
    assert ATTACKER in page and "Acme MSP" in page
    assert staff_client.post("/staff/blocks/unblock/", {"address": ATTACKER}).status_code == 302
    assert _me(client, token).status_code == 200
    event = AuditEvent.objects.get(action="address.unblocked")
    assert event.tenant == tenant and event.details["by_staff"] is True
    assert event.actor.username == "support"


def test_the_staff_page_is_for_verified_staff_only(db, admin_client, client, settings):
    assert client.get("/staff/blocks/").status_code == 302  # to sign in
    assert admin_client.get("/staff/blocks/").status_code == 404
    assert admin_client.post("/staff/blocks/unblock/", {"address": ATTACKER}).status_code == 404
    unverified = _client_for(UserFactory(username="new-staff", is_staff=True))
    assert unverified.get("/staff/blocks/")["Location"] == resolve_url(settings.MFA_ENROL_URL)


def test_an_unknown_credential_names_no_tenant(settings, real_redis, client, enabled_tenant):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(2, 60, 60)]
    for _ in range(2):
        client.get(
            "/api/v1/Me", secure=True, REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION=basic_auth("nope", "x")
        )
    block = lockouts.find_block(ATTACKER, now=timezone.now())
    assert block is not None and block.tenant_ids == frozenset()
    assert lockouts.blocks(tenant_id=enabled_tenant.pk, now=timezone.now()) == []


def test_the_list_pages_take_a_fixed_number_of_queries(
    blocked, admin_client, staff_client, django_assert_num_queries
):
    # Sign-in and tenant gate, the allowlists, the tenant switcher, the session and the expiry
    # banner of Settings > API: none per block.
    with django_assert_num_queries(9):
        admin_client.get(BLOCKS.format("acme"))
    with django_assert_num_queries(8):  # the same, with the tenants' names instead of the allowlists
        staff_client.get("/staff/blocks/")


def test_the_script_keeps_at_most_eight_tenants_per_address_and_a_capped_index_per_tenant(
    settings, real_redis, monkeypatch
):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(10, 60, 60)]
    monkeypatch.setattr(lockouts, "TENANT_BLOCKS_KEPT", 2)
    for tenant_id in range(1, 11):
        limits.record_failure("192.0.2.9", tenants=(tenant_id,), kind="invalid_credentials")
    block = lockouts.find_block("192.0.2.9", now=timezone.now())
    assert block.tenant_ids == frozenset(range(1, 9))
    assert block.kinds == {"invalid_credentials": 10}
    for address in ("192.0.2.10", "192.0.2.11"):
        for _ in range(10):
            limits.record_failure(address, tenants=(1,), kind="ip_not_allowed")
    listed = [b.address for b in lockouts.blocks(tenant_id=1, now=timezone.now())]
    assert len(listed) == 2 and "192.0.2.11" in listed
    assert lockouts.count_blocks(now=timezone.now()) == 3  # the staff index keeps all three


def test_an_expired_token_and_a_refused_allowlist_address_name_their_tenant(
    settings, real_redis, client, enabled_tenant
):
    settings.ACCESSGOV_API_FAILURE_TIERS = [(2, 60, 60)]
    expired = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read"])
    ThirdPartyToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    fenced = ThirdPartyTokenFactory(
        tenant=enabled_tenant, permissions=["Me.Read"], allowed_ips=["192.0.2.0/24"]
    )
    for token in (expired, fenced):
        answer = client.get(
            "/api/v1/Me",
            secure=True,
            REMOTE_ADDR=ATTACKER,
            HTTP_AUTHORIZATION=basic_auth(token.token_id, token.secret),
        )
        assert answer.status_code in (401, 403)
    block = lockouts.find_block(ATTACKER, now=timezone.now())
    assert block.tenant_ids == {enabled_tenant.pk}
    assert len(block.kinds) == 2 and sum(block.kinds.values()) == 2


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(2, 60, 60)], ACCESSGOV_FAILURE_TRACKED_ADDRESSES=10)
def test_block_records_are_bounded_with_the_blocks_and_measured(shared_limiter):  # noqa: F811
    """Attack catalogue case 38a: a block forgotten past the cap takes its record with it."""
    limiter = shared_limiter
    for n in range(30):
        for _ in range(2):
            limiter.record_failure(ip=f"192.0.2.{n}", now=T0 + n, tenants=(1, 2), kind="invalid_credentials")
    client = limiter._client()
    records = list(client.scan_iter(match=f"{lockouts.info_key_prefix()}*", count=1000))
    assert len(records) == 10
    assert client.zcard(f"{lockouts.tenant_index_prefix()}1") <= lockouts.TENANT_BLOCKS_KEPT
    per_block = sum(client.memory_usage(key) or 0 for key in records) / len(records)
    assert per_block < 400, per_block  # README: about 220 bytes more per block (216 measured)
