"""Settings > API › Manage API over HTTP: policy, API user, keys, Partner ID, permissions."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core import keys
from accessgov.policy.models import ApiKey, ApiUser, PolicyAcceptance, PolicyVersion
from tests.factories import ApiKeyFactory, ApiUserFactory, PolicyVersionFactory, ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/"
KEY_PATTERN = re.compile(r"agk_[0-9A-Za-z]{61}")


def agree(client: Client, version: str = "1.0"):
    return client.post(URL + "policy/", {"agree": "on", "version": version}, REMOTE_ADDR="203.0.113.7")


def test_before_the_policy_is_agreed_the_page_says_why_keys_are_disabled(admin_client, policy):
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert "Agree to the API Policy" in response.text
    assert "API keys are disabled until the API Policy is agreed." in response.text
    assert policy.text.splitlines()[0] in response.text
    assert not ApiUser.objects.exists()


def test_agreeing_records_who_when_where_and_which_version_and_creates_the_api_user(
    admin_client, admin_user, tenant, policy
):
    response = agree(admin_client)
    assert response.status_code == 302
    acceptance = PolicyAcceptance.objects.get()
    assert (acceptance.tenant, acceptance.version, acceptance.accepted_by) == (tenant, policy, admin_user)
    assert acceptance.ip_address == "203.0.113.7"
    api_user = ApiUser.objects.get(tenant=tenant)
    assert api_user.username == f"api-{tenant.partner_id}"
    assert api_user.is_active
    event = AuditEvent.objects.get(action="policy.agreed")
    assert (event.tenant, event.actor, event.ip_address) == (tenant, admin_user, "203.0.113.7")
    assert event.details["policy_version"] == "1.0"
    page = admin_client.get(URL)
    assert api_user.username in page.text
    assert "API access is <strong>on</strong>" in page.text


def test_agreeing_without_ticking_the_box_changes_nothing(admin_client, policy):
    response = admin_client.post(URL + "policy/", {"version": "1.0"}, follow=True)
    assert "Tick “Agree to the API Policy”" in response.text
    assert not ApiUser.objects.exists()
    assert not AuditEvent.objects.exists()


def test_agreeing_to_a_version_replaced_meanwhile_is_refused(admin_client, policy):
    """Attack catalogue case 13: nothing is issued before the API Policy is agreed."""
    from django.utils import timezone

    PolicyVersionFactory(version="2.0", published_at=timezone.now())
    response = agree(admin_client, version="1.0")
    assert "The API Policy changed while you were reading it" in admin_client.get(URL).text or response
    assert not ApiUser.objects.exists()


def test_agreeing_twice_makes_one_api_user_and_says_so(admin_client, policy):
    agree(admin_client)
    response = agree(admin_client)
    assert response.status_code == 302
    assert ApiUser.objects.count() == 1
    assert PolicyAcceptance.objects.count() == 1
    assert "already agreed" in admin_client.get(URL).text


def test_show_api_key_reveals_the_key_once_with_no_store_and_stores_only_a_digest(
    admin_client, tenant, admin_user, enabled_tenant
):
    response = admin_client.post(URL + "keys/", {"name": "PSA sync"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = KEY_PATTERN.search(response.text).group(0)
    assert keys.parse_secret(raw, keys.API_KEY_PREFIX) is not None
    api_key = ApiKey.objects.get()
    assert api_key.name == "PSA sync"
    assert api_key.prefix == raw[:16]
    assert api_key.digest == keys.digest_secret(raw)
    assert api_key.matches(raw)
    assert "It will not be shown again." in response.text
    # Reloading or reopening the page never shows it again.
    assert raw not in admin_client.get(URL).text
    assert api_key.prefix in admin_client.get(URL).text
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor == admin_user
    assert raw not in str(event.details) and raw not in event.target_label


def test_with_htmx_show_api_key_answers_with_the_keys_fragment_only(admin_client, enabled_tenant):
    response = admin_client.post(URL + "keys/", {"name": "PSA sync"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="api-keys">')
    assert "<html" not in response.text
    assert KEY_PATTERN.search(response.text)


def test_show_api_key_is_post_only(admin_client, enabled_tenant):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    assert admin_client.get(URL + "keys/").status_code == 405
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the key a name"),
        ("   ", "Give the key a name"),
        ("x" * 101, "Key names are at most 100 characters"),
    ],
)
def test_a_bad_key_name_is_answered_clearly_and_nothing_is_saved(admin_client, enabled_tenant, name, message):
    response = admin_client.post(URL + "keys/", {"name": name})
    assert response.status_code == 400
    assert message in response.text
    assert not KEY_PATTERN.search(response.text)
    assert not ApiKey.objects.exists()
    # The log holds the agreement that turned API access on (enabled_tenant), and nothing since.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["policy.agreed"]


def test_a_second_show_api_key_with_the_same_name_is_refused_without_a_second_key(
    admin_client, enabled_tenant
):
    first = admin_client.post(URL + "keys/", {"name": "PSA sync"})
    second = admin_client.post(URL + "keys/", {"name": "PSA sync"})
    assert first.status_code == 200
    assert second.status_code == 400
    assert "A key named “PSA sync” already exists" in second.text
    assert not KEY_PATTERN.search(second.text)
    assert ApiKey.objects.count() == 1
    assert AuditEvent.objects.filter(action="api_key.created").count() == 1


def test_keys_cannot_be_created_before_the_policy_is_agreed(admin_client, tenant):
    """Attack catalogue case 13: nothing is issued before the API Policy is agreed."""
    response = admin_client.post(URL + "keys/", {"name": "PSA sync"})
    assert response.status_code == 400
    assert "Agree to the API Policy before creating API keys." in response.text
    assert not ApiKey.objects.exists()


def test_keys_cannot_be_created_once_api_access_is_off(admin_client, tenant):
    ApiUserFactory(tenant=tenant, is_active=False)
    response = admin_client.post(URL + "keys/", {"name": "PSA sync"})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_turning_api_access_off_needs_confirmation_and_agreeing_again_turns_it_on(
    admin_client, admin_user, tenant, enabled_tenant, policy
):
    api_user = enabled_tenant.api_user
    page = admin_client.get(URL + "access/off/")
    assert "Every API key and third-party token" in page.text
    unconfirmed = admin_client.post(URL + "access/off/", {})
    assert unconfirmed.status_code == 400
    assert "Tick the box to confirm." in unconfirmed.text
    api_user.refresh_from_db()
    assert api_user.is_active

    admin_client.post(URL + "access/off/", {"confirm": "on"})
    api_user.refresh_from_db()
    assert not api_user.is_active
    assert api_user.disabled_at is not None
    assert AuditEvent.objects.filter(action="api_access.disabled", actor=admin_user).count() == 1
    assert "API access is <strong>off</strong> since" in admin_client.get(URL).text

    agree(admin_client)
    api_user.refresh_from_db()
    assert api_user.is_active
    assert ApiUser.objects.count() == 1


def test_deleting_a_key_needs_confirmation_and_is_audited(admin_client, admin_user, tenant, enabled_tenant):
    api_key = ApiKeyFactory(tenant=tenant, name="Old sync")
    confirm = admin_client.get(f"{URL}keys/{api_key.pk}/delete/")
    assert "Delete the API key “Old sync”?" in confirm.text
    admin_client.post(f"{URL}keys/{api_key.pk}/delete/", {"confirm": "on"})
    assert not ApiKey.objects.exists()
    event = AuditEvent.objects.get(action="api_key.deleted")
    assert event.details == {"name": "Old sync", "prefix": api_key.prefix}
    assert event.actor == admin_user


def test_show_partner_id_works_without_javascript_and_hiding_changes_nothing(admin_client, tenant):
    hidden = admin_client.get(URL)
    assert f'<code class="partner-id">{tenant.partner_id}</code>' not in hidden.text
    assert "Show Partner ID" in hidden.text
    shown = admin_client.get(URL + "?partner_id=show")
    assert f'<code class="partner-id">{tenant.partner_id}</code>' in shown.text
    assert "Hide Partner ID" in shown.text
    partner_id = tenant.partner_id
    admin_client.get(URL + "?partner_id=hide")
    tenant.refresh_from_db()
    assert tenant.partner_id == partner_id
    assert not AuditEvent.objects.exists()


def test_with_htmx_show_partner_id_answers_with_its_fragment(admin_client, tenant):
    response = admin_client.get(URL + "?partner_id=show", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="partner-id")
    assert response.text.lstrip().startswith('<section class="card" id="partner-id">')
    assert tenant.partner_id in response.text


ADMIN_URLS = [
    ("get", ""),
    ("post", "policy/"),
    ("get", "access/off/"),
    ("post", "access/off/"),
    ("post", "keys/"),
    ("get", "activity/"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_URLS)
def test_a_technician_gets_403_with_a_page_that_says_why(tech_client, tenant, enabled_tenant, method, path):
    response = getattr(tech_client, method)(
        URL + path, {"agree": "on", "version": "1.0", "name": "x", "confirm": "on"}
    )
    assert response.status_code == 403
    assert "Administrators only" in response.text
    assert "You are technician of this tenant" in response.text
    assert not ApiKey.objects.exists()
    assert ApiUser.objects.get().is_active


@pytest.mark.parametrize(("method", "path"), ADMIN_URLS)
def test_another_tenants_admin_gets_404_as_if_the_tenant_did_not_exist(
    other_admin_client, tenant, enabled_tenant, method, path
):
    """Attack catalogue case 8: another tenant's rows are not found."""
    response = getattr(other_admin_client, method)(URL + path, {"agree": "on", "version": "1.0", "name": "x"})
    assert response.status_code == 404
    missing = getattr(other_admin_client, method)("/t/no-such-tenant/settings/api/" + path)
    assert missing.status_code == 404
    csrf = re.compile(r'"X-CSRFToken": "[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"')
    assert csrf.sub("", response.text) == csrf.sub("", missing.text)
    assert not ApiKey.objects.exists()


def test_another_tenants_admin_cannot_delete_a_key_by_id(
    other_admin_client, tenant, other_tenant, enabled_tenant
):
    """Attack catalogue case 8: another tenant's rows are not found."""
    api_key = ApiKeyFactory(tenant=tenant)
    assert other_admin_client.post(f"{URL}keys/{api_key.pk}/delete/", {"confirm": "on"}).status_code == 404
    # Even through the attacker's own tenant URL, the key of another tenant is not found.
    rival_url = f"/t/rival/settings/api/keys/{api_key.pk}/delete/"
    assert other_admin_client.post(rival_url, {"confirm": "on"}).status_code == 404
    assert ApiKey.objects.filter(pk=api_key.pk).exists()


def test_a_forged_post_without_a_csrf_token_is_refused(admin_user, enabled_tenant):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post(URL + "keys/", {"name": "PSA sync"})
    assert response.status_code == 403
    assert "did not come from accessgov" in response.text
    assert not ApiKey.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client, tenant):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_key_list_is_paginated_and_its_query_count_does_not_grow(
    admin_client, tenant, enabled_tenant, assert_queries
):
    ApiKeyFactory(tenant=tenant)
    # +2 since issue 14: the lifetime policy form and the expiry banner of Settings > API; +1 since
    # issue 15: the calls per day of the keys on the page (one query for every sparkline).
    with assert_queries(15):
        admin_client.get(URL)
    ApiKeyFactory.create_batch(40, tenant=tenant)
    with assert_queries(15):
        response = admin_client.get(URL)
    assert "Page 1 of 2" in response.text


def test_policy_text_is_versioned_in_the_database(db):
    assert PolicyVersion.objects.current().version == "1.0"


def test_a_key_past_the_tenants_credential_cap_is_refused_and_nothing_is_saved(
    admin_client, enabled_tenant, settings
):
    settings.ACCESSGOV_MAX_CREDENTIALS_PER_TENANT = 2
    ApiKeyFactory(tenant=enabled_tenant, name="Old sync")
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="PSA script")
    response = admin_client.post(URL + "keys/", {"name": "One more"})
    assert response.status_code == 400
    assert "already has 2 live API keys and tokens, the most allowed" in response.text
    assert not KEY_PATTERN.search(response.text)
    assert not ApiKey.objects.filter(name="One more").exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()
    ThirdPartyToken.objects.update(revoked_at=timezone.now())  # a revoked token frees its place
    assert admin_client.post(URL + "keys/", {"name": "One more"}).status_code == 200
