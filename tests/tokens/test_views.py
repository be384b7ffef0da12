"""The Third-Party Tokens tab through HTTP: list, Create Token, one-time reveal, Edit, Revoke, Regenerate."""

import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accessgov.audit.models import AuditEvent
from accessgov.core import keys
from accessgov.core.credentials import Refusal
from tests.conftest import basic_auth
from tests.factories import ApiKeyFactory, ApiUserFactory, OrganizationFactory, ThirdPartyTokenFactory
from tests.tokens.conftest import LIST_QUERIES, tokens_url
from tokens.auth import check_token
from tokens.models import ThirdPartyToken

SECRET_RE = re.compile(r"agts_[0-9A-Za-z]{61}")


def _valid_form(**overrides) -> dict:
    data = {
        "name": "PSA sync",
        "description": "Nightly ticket sync",
        "starts_at": "",
        "expires_at": "2999-01-01T00:00",
        "allowed_ips": "192.0.2.10\n2001:DB8::/32\n",
        "organization_access": "all",
        "permissions": ["Me.Read", "Organizations.Read"],
    }
    data.update(overrides)
    return data


def _secret_in(response) -> str:
    match = SECRET_RE.search(response.content.decode())
    assert match, "no secret in the response"
    return match.group(0)


# --- Create Token and the one-time reveal -------------------------------------------------------


def test_create_shows_the_token_id_secret_basic_header_and_curl_once(admin_client, enabled_tenant):
    """Attack catalogue case 46: a revealed secret is kept nowhere else."""
    response = admin_client.post(tokens_url(rest="new/"), _valid_form())
    assert response.status_code == 200
    token = ThirdPartyToken.objects.get(name="PSA sync")
    secret = _secret_in(response)
    body = response.content.decode()
    header = basic_auth(token.token_id, secret)
    basic = header.removeprefix("Basic ")
    assert f"Authorization: {header}" in body
    assert "curl" in body and "https://testserver/api/v1/Me" in body
    assert "It will not be shown again." in body
    assert "no-store" in response["Cache-Control"]
    assert token.token_id.startswith("agt_") and len(token.token_id) == 16
    # Only the peppered digest is stored; the secret itself nowhere.
    assert token.digest == keys.digest_secret(secret) and token.pepper_id == keys.current_pepper_id()
    assert check_token(
        token_id=token.token_id, secret=secret, client_ip="192.0.2.10", permission="Me.Read"
    ).allowed
    event = AuditEvent.objects.get(action="token.created")
    assert event.actor.username == "acme-admin" and event.target_label == f"PSA sync ({token.token_id})"
    assert secret not in str(event.details) and token.digest not in str(event.details)
    assert all(secret not in str(s.get_decoded()) for s in Session.objects.all())
    # And it is never shown again: not on the list, the details or any edit page.
    for rest in ["", f"{token.pk}/", f"{token.pk}/edit/", f"{token.pk}/regenerate/", "new/"]:
        page = admin_client.get(tokens_url(rest=rest)).content.decode()
        assert secret not in page and basic not in page and token.digest not in page


def test_create_saves_the_normalised_terms(admin_client, enabled_tenant, organizations):
    contoso, _ = organizations
    admin_client.post(
        tokens_url(rest="new/"),
        _valid_form(
            name="  Backup   agent ",
            allowed_ips="  192.0.2.10  \r\n2001:DB8::/32\r\n192.0.2.10",
            organization_access="selected",
            organizations=[str(contoso.pk)],
            starts_at="2030-01-02T03:04",
        ),
    )
    token = ThirdPartyToken.objects.get()
    assert token.name == "Backup agent"
    assert token.allowed_ips == ["192.0.2.10/32", "2001:db8::/32"]
    assert (token.all_organizations, token.organization_ids) == (False, [contoso.pk])
    assert token.permissions == ["Me.Read", "Organizations.Read"]
    assert token.starts_at.isoformat() == "2030-01-02T03:04:00+00:00"


def test_the_create_page_has_its_section_button_and_preset_labels(
    admin_client, enabled_tenant, organizations
):
    body = admin_client.get(tokens_url(rest="new/")).content.decode()
    for label in ["Create Token", "Details", "Authorization", "Edit Permissions", "Read-only", ">Create<"]:
        assert label in body
    assert 'data-select-all="perm-me"' in body and 'id="perm-me"' in body
    assert "Contoso" in body and "Fabrikam" in body


def test_the_token_form_offers_the_audit_address_permission_and_saves_it(admin_client, enabled_tenant):
    body = admin_client.get(tokens_url(rest="new/")).content.decode()
    assert 'value="AuditEvents.ReadAddresses"' in body
    assert "See administrators&#x27; IP addresses in audit events" in body
    permissions = ["AuditEvents.Read", "AuditEvents.ReadAddresses"]
    response = admin_client.post(tokens_url(rest="new/"), _valid_form(permissions=permissions))
    assert response.status_code == 200
    assert ThirdPartyToken.objects.get().permissions == permissions


def test_the_read_only_preset_works_without_javascript_and_creates_nothing(admin_client, enabled_tenant):
    response = admin_client.post(
        tokens_url(rest="new/"), _valid_form(name="Reader", permissions=["Notify.Send"], preset="read-only")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="Reader"' in body
    checked = set(re.findall(r'name="permissions" value="([^"]+)" checked', body))
    assert checked == {
        "Me.Read",
        "Organizations.Read",
        "WebhookDomains.Read",
        "AuditEvents.Read",
        "RateLimits.Read",
        "Usage.Read",
    }
    assert not ThirdPartyToken.objects.exists()
    assert SECRET_RE.search(body) is None


def test_creating_is_refused_until_the_api_policy_is_agreed(admin_client, tenant):
    """Attack catalogue case 13: nothing is issued before the API Policy is agreed."""
    response = admin_client.post(tokens_url(rest="new/"), _valid_form())
    assert response.status_code == 400
    assert "Agree to the API Policy" in response.content.decode()
    assert not ThirdPartyToken.objects.exists()
    ApiUserFactory(tenant=tenant, is_active=False)
    assert admin_client.post(tokens_url(rest="new/"), _valid_form()).status_code == 400
    assert not ThirdPartyToken.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"starts_at": "2998-01-01T00:00", "expires_at": "2997-01-01T00:00"}, "must be after the start date"),
        ({"expires_at": "2001-01-01T00:00"}, "expiration date is in the past"),
        ({"expires_at": "tomorrow"}, "Enter the expiration date as"),
        ({"allowed_ips": "10.0.0.300"}, "“10.0.0.300” is not a valid IPv4 or IPv6 address"),
        ({"allowed_ips": "10.0.0.0/33"}, "“10.0.0.0/33” is not a valid"),
        (
            {"allowed_ips": "10.0.0.1/24"},
            "“10.0.0.1/24” has host bits set. Did you mean the range 10.0.0.0/24",
        ),
        ({"allowed_ips": "010.0.0.0/8"}, "“010.0.0.0/8” is not a valid"),
        ({"allowed_ips": "0.0.0.0/0"}, "would allow every address"),
        ({"allowed_ips": "::/0"}, "would allow every address"),
        ({"allowed_ips": "fe80::1%eth0"}, "has a zone"),
        ({"allowed_ips": "::ffff:192.0.2.5"}, "write it as IPv4"),
        ({"allowed_ips": "192.0.2.1\n\n192.0.2.2"}, "Line 2 is empty"),
        ({"allowed_ips": "192.0.2.1/" + "1" * 80}, "Line 1 is too long"),
        ({"allowed_ips": "\n".join(f"10.0.{i // 256}.{i % 256}" for i in range(101))}, "At most 100 entries"),
        ({"permissions": []}, "Select at least one permission"),
        ({"permissions": ["Me.Read", "Admin.Everything"]}, "“Admin.Everything” is not a permission"),
        ({"organization_access": "selected"}, "Select at least one organization"),
        ({"organization_access": "everything"}, "Choose all organizations or selected organizations."),
        ({"name": ""}, "Give the token a name"),
        ({"name": "   "}, "Give the token a name"),
        ({"name": "x" * 101}, "Names are at most 100 characters (this one has 101)"),
        ({"description": "x" * 1001}, "Descriptions are at most 1000 characters"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(admin_client, enabled_tenant, overrides, message):
    response = admin_client.post(tokens_url(rest="new/"), _valid_form(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ThirdPartyToken.objects.exists()
    # The log holds the agreement that turned API access on (enabled_tenant), and nothing since.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["policy.agreed"]


def test_a_duplicate_name_is_refused_whatever_its_case(admin_client, enabled_tenant, tenant):
    ThirdPartyTokenFactory(tenant=tenant, name="PSA Sync", revoked=True)
    response = admin_client.post(tokens_url(rest="new/"), _valid_form(name="psa sync"))
    assert response.status_code == 400
    assert "A token named “psa sync” already exists" in response.content.decode()
    assert ThirdPartyToken.objects.count() == 1


def test_the_same_name_in_another_tenant_is_fine(admin_client, enabled_tenant, other_tenant):
    ThirdPartyTokenFactory(tenant=other_tenant, name="PSA sync")
    assert admin_client.post(tokens_url(rest="new/"), _valid_form()).status_code == 200


def test_an_organization_of_another_tenant_is_refused(admin_client, enabled_tenant, other_tenant):
    """Attack catalogue case 10: another tenant's organization cannot be granted."""
    foreign = OrganizationFactory(tenant=other_tenant, name="Rival Org")
    response = admin_client.post(
        tokens_url(rest="new/"), _valid_form(organization_access="selected", organizations=[str(foreign.pk)])
    )
    assert response.status_code == 400
    assert f"Organization {foreign.pk} is not an organization of this tenant." in response.content.decode()
    assert not ThirdPartyToken.objects.exists()


def test_forged_tenant_and_secret_fields_are_ignored(admin_client, enabled_tenant, other_tenant):
    """Attack catalogue case 9: forged tenant fields are ignored."""
    forged = _valid_form(
        tenant=str(other_tenant.pk), tenant_id=str(other_tenant.pk), token_id="agt_AAAAAAAAAAAA"
    )
    forged.update(digest="0" * 64, partner_id=other_tenant.partner_id)
    assert admin_client.post(tokens_url(rest="new/"), forged).status_code == 200
    token = ThirdPartyToken.objects.get()
    assert token.tenant.slug == "acme" and token.token_id != "agt_AAAAAAAAAAAA" and token.digest != "0" * 64


# --- The list -----------------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_1_and_30_tokens(
    admin_client, enabled_tenant, tenant, organizations, assert_queries
):
    ThirdPartyTokenFactory(tenant=tenant, all_organizations=False, organization_ids=[organizations[0].pk])
    with assert_queries(LIST_QUERIES + 1):
        response = admin_client.get(tokens_url())
    assert response.status_code == 200
    for n in range(29):
        ThirdPartyTokenFactory(
            tenant=tenant,
            revoked=n % 3 == 0,
            all_organizations=n % 2 == 0,
            organization_ids=[organizations[n % 2].pk],
        )
    with assert_queries(LIST_QUERIES + 1):
        response = admin_client.get(tokens_url())
    assert response.content.decode().count("<tr>") == 1 + 25


def test_the_list_shows_each_column(
    admin_client, enabled_tenant, tenant, admin_user, organizations, settings
):
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30
    token = ThirdPartyTokenFactory(
        tenant=tenant,
        name="Reporting",
        created_by=admin_user,
        all_organizations=False,
        organization_ids=[organizations[1].pk],
        last_used_ip="192.0.2.44",
        last_used_at=token_time("2026-05-01T10:00:00+00:00"),
        expires_at=token_time("2999-12-31T00:00:00+00:00"),
    )
    revoked = ThirdPartyTokenFactory(
        tenant=tenant, name="Old", revoked_at=token_time("2026-05-01T10:00:00+00:00")
    )
    body = admin_client.get(tokens_url()).content.decode()
    for text in [
        "Reporting",
        token.token_id,
        "Active",
        "Fabrikam",
        "by acme-admin",
        "2026-05-01 10:00 from 192.0.2.44",
        "2999-12-31 00:00",
        "Revoked — deleted on 2026-05-31",
        revoked.token_id,
    ]:
        assert text in body
    assert tokens_url(rest=f"{token.pk}/revoke/") in body
    assert tokens_url(rest=f"{revoked.pk}/revoke/") not in body


def token_time(value: str):
    from datetime import datetime

    return datetime.fromisoformat(value)


def test_the_list_filters_by_status_and_searches_by_name_or_token_id(admin_client, enabled_tenant, tenant):
    active = ThirdPartyTokenFactory(tenant=tenant, name="Alpha sync")
    revoked = ThirdPartyTokenFactory(tenant=tenant, name="Beta export", revoked=True)
    expired = ThirdPartyTokenFactory(tenant=tenant, name="Gamma", expired=True)
    scheduled = ThirdPartyTokenFactory(tenant=tenant, name="Delta", scheduled=True)

    def names(query: str) -> set[str]:
        body = admin_client.get(tokens_url() + query).content.decode()
        return {t.name for t in (active, revoked, expired, scheduled) if f">{t.name}</a>" in body}

    assert names("?status=active") == {"Alpha sync"}
    assert names("?status=revoked") == {"Beta export"}
    assert names("?status=expired") == {"Gamma"}
    assert names("?status=scheduled") == {"Delta"}
    assert names("?q=SYNC") == {"Alpha sync"}
    assert names(f"?q={revoked.token_id}") == {"Beta export"}
    assert names(f"?q={revoked.token_id[:8]}") == {
        "Alpha sync",
        "Beta export",
        "Gamma",
        "Delta",
    }  # shared prefix
    assert names("?status=revoked&q=alpha") == set()
    assert names("?status=bogus") == {"Alpha sync", "Beta export", "Gamma", "Delta"}


def test_htmx_gets_just_the_list_fragment_and_pagination_keeps_the_filter(
    admin_client, enabled_tenant, tenant
):
    for n in range(30):
        ThirdPartyTokenFactory(tenant=tenant, name=f"Sync {n:02d}")
    response = admin_client.get(tokens_url() + "?q=sync", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="token-list">') and "<html" not in body
    assert 'href="?q=sync&amp;page=2"' in body and 'hx-get="?q=sync&amp;page=2"' in body
    page_two = admin_client.get(tokens_url() + "?q=sync&page=2").content.decode()
    assert page_two.count(">Sync ") == 5


def test_the_list_stays_paginated_at_10000_tokens(admin_client, enabled_tenant, tenant, assert_queries):
    ThirdPartyToken.objects.bulk_create(
        ThirdPartyTokenFactory.build(tenant=tenant, name=f"Bulk {n}", token_id=f"agt_bulk{n:08d}")
        for n in range(10_000)
    )
    with assert_queries(LIST_QUERIES):
        response = admin_client.get(tokens_url() + "?q=Bulk 99")
    assert response.status_code == 200
    assert "Page 1 of 5" in response.content.decode()  # Bulk 99, 990-999, 9900-9999: 111 tokens


# --- Details, Edit ------------------------------------------------------------------------------


def test_the_details_page_shows_details_and_authorization(admin_client, token, organizations):
    token.allowed_ips = ["192.0.2.10/32", "2001:db8::/32"]
    token.save()
    body = admin_client.get(tokens_url(rest=f"{token.pk}/")).content.decode()
    for text in [
        token.token_id,
        "Active",
        "192.0.2.10<",
        "2001:db8::/32",
        "All organizations",
        "Read the calling credential",
        "Revoke",
        "Regenerate Token Secret",
        "Edit",
    ]:
        assert text in body


def test_editing_changes_the_terms_audits_each_change_and_keeps_the_token_id(
    admin_client, token, organizations
):
    token_id, digest = token.token_id, token.digest
    form = admin_client.get(tokens_url(rest=f"{token.pk}/edit/")).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(
        name="PSA sync v2",
        starts_at=form["starts_at"].value().strftime("%Y-%m-%dT%H:%M"),
        expires_at="",
        allowed_ips="198.51.100.0/24",
        organization_access="selected",
        organizations=[str(organizations[0].pk)],
        permissions=["Me.Read"],
        token_id="agt_FORGEDFORGED",
    )
    response = admin_client.post(tokens_url(rest=f"{token.pk}/edit/"), data)
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.token_id, token.digest) == (token_id, digest)
    assert token.name == "PSA sync v2" and token.allowed_ips == ["198.51.100.0/24"]
    assert token.organization_ids == [organizations[0].pk] and token.permissions == ["Me.Read"]
    event = AuditEvent.objects.get(action="token.updated")
    assert set(event.details["changes"]) == {
        "name",
        "allowed_ips",
        "all_organizations",
        "organization_ids",
        "permissions",
    }
    assert event.details["changes"]["permissions"] == {
        "from": ["Me.Read", "Organizations.Read"],
        "to": ["Me.Read"],
    }


def test_saving_an_unchanged_form_changes_and_audits_nothing(admin_client, token):
    form = admin_client.get(tokens_url(rest=f"{token.pk}/edit/")).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["starts_at"] = data["starts_at"].strftime("%Y-%m-%dT%H:%M")
    data["expires_at"] = ""
    response = admin_client.post(tokens_url(rest=f"{token.pk}/edit/"), data, follow=True)
    assert "Nothing changed." in response.content.decode()
    assert not AuditEvent.objects.filter(action="token.updated").exists()


def test_an_expired_token_can_be_edited_without_moving_its_past_expiry(admin_client, tenant, enabled_tenant):
    """Attack catalogue case 14: a token is refused before its start and from its expiry."""
    token = ThirdPartyTokenFactory(tenant=tenant, expired=True)
    form = admin_client.get(tokens_url(rest=f"{token.pk}/edit/")).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(
        starts_at=data["starts_at"].strftime("%Y-%m-%dT%H:%M"),
        expires_at=data["expires_at"].strftime("%Y-%m-%dT%H:%M"),
        description="kept for the record",
    )
    assert admin_client.post(tokens_url(rest=f"{token.pk}/edit/"), data).status_code == 302
    token.refresh_from_db()
    assert token.description == "kept for the record"
    assert list(AuditEvent.objects.get(action="token.updated").details["changes"]) == ["description"]


def test_renaming_to_another_tokens_name_is_refused(admin_client, token, tenant):
    ThirdPartyTokenFactory(tenant=tenant, name="Taken")
    form = admin_client.get(tokens_url(rest=f"{token.pk}/edit/")).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data.update(name="TAKEN", starts_at="", expires_at="")
    response = admin_client.post(tokens_url(rest=f"{token.pk}/edit/"), data)
    assert response.status_code == 400 and "already exists" in response.content.decode()


def test_a_revoked_token_cannot_be_edited(admin_client, token):
    token.revoke(by=None, now=token.created_at)
    response = admin_client.post(
        tokens_url(rest=f"{token.pk}/edit/"), _valid_form(name="Changed"), follow=True
    )
    assert "is revoked. Reinstate it" in response.content.decode()
    token.refresh_from_db()
    assert token.name == "PSA sync"


# --- Revoke -------------------------------------------------------------------------------------


def test_revoke_asks_on_get_and_acts_only_on_a_confirmed_post(admin_client, token, settings):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30
    page = admin_client.get(tokens_url(rest=f"{token.pk}/revoke/"))
    assert page.status_code == 200 and "Revoke the token “PSA sync”?" in page.content.decode()
    assert admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {}).status_code == 400
    token.refresh_from_db()
    assert token.revoked_at is None

    response = admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"}, follow=True)
    token.refresh_from_db()
    deleted_on = f"{token.deleted_on():%Y-%m-%d}"
    body = response.content.decode()
    assert f"Revoked — deleted on {deleted_on}" in body
    assert check_token(
        token_id=token.token_id, secret=token.secret, client_ip="1.2.3.4", permission=None
    ).reason == (Refusal.REVOKED)
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.details == {"token_id": token.token_id, "deleted_on": token.deleted_on().isoformat()}


def test_revoking_twice_is_refused_and_audited_once(admin_client, token):
    admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"})
    response = admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"}, follow=True)
    assert "is already revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


# --- Regenerate Token Secret --------------------------------------------------------------------


def test_regenerating_an_active_tokens_secret_stops_the_old_one_at_once(admin_client, token):
    old = token.secret
    page = admin_client.get(tokens_url(rest=f"{token.pk}/regenerate/"))
    assert page.status_code == 200 and SECRET_RE.search(page.content.decode()) is None
    response = admin_client.post(
        tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on", "overlap": "none"}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new = _secret_in(response)
    assert new != old
    common = {"token_id": token.token_id, "client_ip": "1.2.3.4", "permission": None}
    assert check_token(secret=old, **common).reason == Refusal.WRONG_SECRET
    assert check_token(secret=new, **common).allowed
    assert AuditEvent.objects.filter(action="token.secret_regenerated").count() == 1


def test_regenerating_within_the_grace_reinstates_a_revoked_token(admin_client, token):
    admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"})
    response = admin_client.post(tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on"})
    assert "reinstated" in response.content.decode()
    new = _secret_in(response)
    token.refresh_from_db()
    assert token.revoked_at is None and token.revoked_by is None
    assert check_token(token_id=token.token_id, secret=new, client_ip="1.2.3.4", permission="Me.Read").allowed
    assert AuditEvent.objects.filter(action="token.reinstated").count() == 1


def test_regenerating_after_the_grace_is_refused(admin_client, token, settings):
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30
    from datetime import timedelta

    from django.utils import timezone

    token.revoke(by=None, now=timezone.now() - timedelta(days=30))
    page = admin_client.get(tokens_url(rest=f"{token.pk}/regenerate/")).content.decode()
    assert "cannot be reinstated" in page and 'name="confirm"' not in page
    response = admin_client.post(tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on"}, follow=True)
    assert "there is nothing to reinstate" in response.content.decode()
    assert SECRET_RE.search(response.content.decode()) is None
    token.refresh_from_db()
    assert token.revoked_at is not None and token.matches(token.secret)


def test_regenerating_is_refused_while_api_access_is_off(admin_client, token, enabled_tenant):
    api_user = enabled_tenant.api_user
    api_user.is_active = False
    api_user.save()
    response = admin_client.post(
        tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on", "overlap": "none"}, follow=True
    )
    assert "Agree to the API Policy" in response.content.decode()
    token.refresh_from_db()
    assert token.matches(token.secret)


# --- Who may see what ---------------------------------------------------------------------------


def _every_url(pk: int) -> list[tuple[str, str]]:
    return [
        ("get", ""),
        ("get", "new/"),
        ("post", "new/"),
        ("get", f"{pk}/"),
        ("get", f"{pk}/edit/"),
        ("post", f"{pk}/edit/"),
        ("get", f"{pk}/revoke/"),
        ("post", f"{pk}/revoke/"),
        ("get", f"{pk}/regenerate/"),
        ("post", f"{pk}/regenerate/"),
        ("get", f"{pk}/retire-old-secret/"),
        ("post", f"{pk}/retire-old-secret/"),
        ("get", f"{pk}/renew/"),
    ]


def test_another_tenants_admin_gets_404_on_every_tokens_url(other_admin_client, token):
    """Attack catalogue case 8: another tenant's rows are not found."""
    for method, rest in _every_url(token.pk):
        data = {"confirm": "on", "overlap": "none", **_valid_form()} if method == "post" else None
        response = getattr(other_admin_client, method)(tokens_url(rest=rest), data)
        assert response.status_code == 404, (method, rest)
    token.refresh_from_db()
    assert token.revoked_at is None and token.name == "PSA sync" and token.matches(token.secret)
    # The log holds the agreement that turned API access on (enabled_tenant), and nothing since.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["policy.agreed"]


def test_an_admin_cannot_reach_another_tenants_token_through_their_own_tenant(
    admin_client, other_token, enabled_tenant
):
    for method, rest in _every_url(other_token.pk)[3:]:
        response = getattr(admin_client, method)(
            tokens_url(rest=rest), {"confirm": "on"} if method == "post" else None
        )
        assert response.status_code == 404, (method, rest)
    other_token.refresh_from_db()
    assert other_token.revoked_at is None


def test_a_technician_gets_403_on_every_tokens_url(tech_client, token):
    for method, rest in _every_url(token.pk):
        response = getattr(tech_client, method)(
            tokens_url(rest=rest), {"confirm": "on"} if method == "post" else None
        )
        assert response.status_code == 403, (method, rest)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_signed_out_visitors_are_sent_to_sign_in(token):
    response = Client().get(tokens_url())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_state_changing_posts_need_the_csrf_token(admin_user, token):
    """Attack catalogue case 39: no state change by GET or without the CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"}).status_code == 403
    assert client.post(tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on"}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_a_script_in_a_name_or_description_is_escaped(admin_client, tenant, enabled_tenant):
    """Attack catalogue case 41: markup is escaped, never a link."""
    token = ThirdPartyTokenFactory(
        tenant=tenant, name="<script>alert(1)</script>", description="javascript:alert(1)"
    )
    for rest in ["", f"{token.pk}/", f"{token.pk}/revoke/"]:
        body = admin_client.get(tokens_url(rest=rest)).content.decode()
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
        assert 'href="javascript:' not in body


def test_an_error_while_revealing_keeps_the_secret_out_of_the_error_report(admin_user, enabled_tenant, rf):
    """Attack catalogue case 46: a revealed secret is kept nowhere else."""
    import sys
    from unittest import mock

    from django.views.debug import ExceptionReporter

    from tokens import views

    request = rf.post(tokens_url(rest="new/"), _valid_form())
    request.user = admin_user

    class Seen:  # keeps what it saw out of this test's own frame in the report
        def __repr__(self) -> str:
            return "Seen()"

    seen = Seen()

    def failing_render(request, template, context, *args, **kwargs):
        seen.secret = context["secret"]
        raise RuntimeError("template broke")

    with mock.patch.object(views, "render", failing_render):
        try:
            views.create_token(request, tenant_slug="acme")
        except RuntimeError:
            report = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert seen.secret.startswith("agts_")
    assert seen.secret not in report
    assert "template broke" in report


def test_a_permission_removed_from_the_catalogue_is_shown_as_granting_nothing(admin_client, enabled_tenant):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["Me.Read", "Devices.Read"])
    body = admin_client.get(f"/t/acme/settings/api/tokens/{token.pk}/").content.decode()
    assert "Devices.Read" in body and "no longer in the catalogue: grants nothing" in body
    assert body.count("no longer in the catalogue") == 1


# --- The cap on live credentials ----------------------------------------------------------------


def test_creating_a_token_past_the_tenants_credential_cap_is_refused_and_saves_nothing(
    admin_client, enabled_tenant, other_tenant, settings
):
    settings.ACCESSGOV_MAX_CREDENTIALS_PER_TENANT = 3
    ApiKeyFactory(tenant=enabled_tenant, name="Old sync")
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Expired", expired=True)  # not revoked: live
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Gone", revoked=True)  # revoked: not counted
    ThirdPartyTokenFactory.create_batch(5, tenant=other_tenant)  # another tenant's: not counted
    assert admin_client.post(tokens_url(rest="new/"), _valid_form(name="Second")).status_code == 200
    response = admin_client.post(tokens_url(rest="new/"), _valid_form(name="Third"))
    assert response.status_code == 400
    assert "already has 3 live API keys and tokens, the most allowed" in response.content.decode()
    assert SECRET_RE.search(response.content.decode()) is None
    assert not ThirdPartyToken.objects.filter(name="Third").exists()
    assert AuditEvent.objects.filter(action="token.created").count() == 1


def test_reinstating_a_revoked_token_counts_against_the_credential_cap(admin_client, token, settings):
    settings.ACCESSGOV_MAX_CREDENTIALS_PER_TENANT = 1
    admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"})
    ThirdPartyTokenFactory(tenant=token.tenant, name="Took its place")
    response = admin_client.post(tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on"}, follow=True)
    assert "the most allowed" in response.content.decode()
    assert SECRET_RE.search(response.content.decode()) is None
    token.refresh_from_db()
    assert token.revoked_at is not None and token.matches(token.secret)
    assert not AuditEvent.objects.filter(action="token.reinstated").exists()


def test_regenerating_a_live_tokens_secret_at_the_cap_is_allowed(admin_client, token, settings):
    settings.ACCESSGOV_MAX_CREDENTIALS_PER_TENANT = 1
    response = admin_client.post(
        tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on", "overlap": "none"}
    )
    assert response.status_code == 200
    assert SECRET_RE.search(response.content.decode())
