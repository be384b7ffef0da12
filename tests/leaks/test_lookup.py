"""Whose key is this?: an administrator finds the tenant's own credential from a secret, a token ID or a
prefix and nothing of another tenant's; staff find any; the value never comes back and is not cached."""

import re

import pytest
from django.urls import reverse

from tests.factories import ApiKeyFactory, ThirdPartyTokenFactory

pytestmark = pytest.mark.django_db


def lookup(client, tenant, value):
    return client.post(reverse("leaks:lookup_for_tenant", args=[tenant.slug]), {"value": value})


@pytest.mark.parametrize("what", ["secret", "token_id"])
def test_an_administrator_finds_the_tenants_token(admin_client, tenant, what):
    token = ThirdPartyTokenFactory(tenant=tenant, name="Backup export")
    value = token.secret if what == "secret" else token.token_id
    response = lookup(admin_client, tenant, value)
    body = response.content.decode()
    assert (
        response.status_code == 200
        and response["Cache-Control"].startswith("no-store")
        or "no-store" in response["Cache-Control"]
    )
    assert "Backup export" in body and token.token_id in body and "Third-party token" in body
    assert token.secret not in body
    assert reverse("tokens:revoke_token", args=[tenant.slug, token.pk]) in body


def test_an_api_key_prefix_finds_its_key(admin_client, tenant):
    key = ApiKeyFactory(tenant=tenant, name="PSA sync")
    body = lookup(admin_client, tenant, key.prefix).content.decode()
    assert "PSA sync" in body and key.digest not in body


def test_another_tenants_credential_is_answered_like_an_unknown_one(admin_client, tenant, other_tenant):
    theirs = ThirdPartyTokenFactory(tenant=other_tenant, name="Rival sync")
    unknown = lookup(admin_client, tenant, "agt_AAAAAAAAAAAA").content.decode()
    foreign = lookup(admin_client, tenant, theirs.secret).content.decode()
    assert "Rival sync" not in foreign
    assert "No credential of" in foreign and "No credential of" in unknown

    # The two answers are the same page.
    def strip(html: str) -> str:
        return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', "", html)

    assert strip(foreign) == strip(unknown)


def test_another_tenants_administrator_cannot_open_the_page(other_admin_client, tenant):
    assert other_admin_client.get(reverse("leaks:lookup_for_tenant", args=[tenant.slug])).status_code == 404


def test_staff_find_any_tenants_credential_with_its_tenant(staff_client, other_tenant):
    theirs = ThirdPartyTokenFactory(tenant=other_tenant, name="Rival sync")
    response = staff_client.post(reverse("leaks:lookup_for_staff"), {"value": theirs.token_id})
    body = response.content.decode()
    assert "Rival sync" in body and other_tenant.name in body
    assert reverse("admin:tokens_thirdpartytoken_change", args=[theirs.pk]) in body


def test_non_staff_get_404_on_the_staff_lookup(admin_client):
    assert admin_client.get(reverse("leaks:lookup_for_staff")).status_code == 404


def test_a_mistyped_secret_matches_nothing(admin_client, tenant):
    token = ThirdPartyTokenFactory(tenant=tenant, name="Backup export")
    typo = token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")
    assert "Backup export" not in lookup(admin_client, tenant, typo).content.decode()


def test_an_empty_value_gets_a_clear_message(admin_client, tenant):
    body = lookup(admin_client, tenant, "").content.decode()
    assert "Paste the key, token ID or prefix to look up." in body and "No credential" not in body
