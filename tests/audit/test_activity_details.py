"""The recorded details of each event, old and new values of every edit, on the Activity page (a
<details> row, no JavaScript needed) and in GET /api/v1/AuditEvents; never a secret."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accessgov.audit.models import AuditEvent
from accessgov.gateway.actions import issue_gateway_key
from accessgov.policy.actions import disable_api_access, issue_api_key
from tests.api.conftest import ApiClient
from tests.conftest import basic_auth
from tests.factories import AuditEventFactory, ThirdPartyTokenFactory, WebhookDestinationFactory
from tokens import actions as token_actions
from webhooks import actions as webhook_actions
from webhooks.destinations import parse_destination_url

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/activity/"
TOKENS = "/t/acme/settings/api/tokens/"


@pytest.fixture
def api() -> ApiClient:
    return ApiClient()


def _edit_token(client, token, **changes):
    form = client.get(f"{TOKENS}{token.pk}/edit/").context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["starts_at"] = data["starts_at"].strftime("%Y-%m-%dT%H:%M")
    data["expires_at"] = ""
    data.update(changes)
    assert client.post(f"{TOKENS}{token.pk}/edit/", data).status_code == 302


def _details_of(html: str, label: str) -> str:
    """Return the <details> element of the Activity row whose action is LABEL."""
    row = re.search(rf"<td>{re.escape(label)}</td>.*?</tr>", html, re.S)
    assert row, f"no row {label!r}"
    found = re.search(r"<details class=\"event-details\">.*?</details>", row.group(0), re.S)
    assert found, f"row {label!r} has no details"
    return found.group(0)


def test_an_edited_tokens_old_and_new_values_are_on_the_activity_page_and_in_the_api(
    api, admin_client, enabled_tenant
):
    token = ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="PSA sync", permissions=["Me.Read", "Organizations.Read"]
    )
    _edit_token(
        admin_client, token, name="PSA sync v2", allowed_ips="198.51.100.0/24", permissions=["Me.Read"]
    )

    details = _details_of(admin_client.get(URL).text, "Third-party token changed")
    assert "<summary>Old and new values</summary>" in details
    assert (
        "<dt>Name</dt>" in details
        and "<del>PSA sync</del>" in details
        and "<ins>PSA sync v2</ins>" in details
    )
    assert "<dt>Whitelisted IP addresses</dt>" in details and "<ins>198.51.100.0/24</ins>" in details
    assert "<del>Me.Read, Organizations.Read</del>" in details and "<ins>Me.Read</ins>" in details

    reader = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["AuditEvents.Read"])
    rows = api.get("AuditEvents", basic_auth(reader.token_id, reader.secret)).json()["Data"]
    [changed] = [row for row in rows if row["Action"] == "token.updated"]
    assert changed["Details"]["changes"]["name"] == {"from": "PSA sync", "to": "PSA sync v2"}
    assert changed["Details"]["changes"]["permissions"] == {
        "from": ["Me.Read", "Organizations.Read"],
        "to": ["Me.Read"],
    }


def test_an_event_without_details_shows_a_dash_and_values_are_escaped(admin_client, tenant):
    AuditEventFactory(tenant=tenant, action="token.revoked", details={})
    AuditEventFactory(
        tenant=tenant,
        action="token.updated",
        details={"changes": {"name": {"from": "<b>old</b>", "to": "new"}}},
    )
    html = admin_client.get(URL).text
    assert "&lt;b&gt;old&lt;/b&gt;" in html and "<b>old</b>" not in html
    revoked_row = re.search(r"<td>Third-party token revoked</td>.*?</tr>", html, re.S).group(0)
    assert "<details" not in revoked_row


def test_every_edit_records_its_old_and_new_value(admin_user, enabled_tenant, api):
    destination = WebhookDestinationFactory(tenant=enabled_tenant, description="CRM", is_enabled=True)
    terms = webhook_actions.DestinationTerms(
        url=parse_destination_url(destination.url),
        description="CRM feed",
        event_types=list(destination.events),
        is_enabled=False,
    )
    webhook_actions.update_destination(destination=destination, terms=terms, by=admin_user, ip=None)
    disable_api_access(tenant=enabled_tenant, by=admin_user, ip=None)
    changes = {
        event.action: event.details["changes"]
        for event in AuditEvent.objects.for_tenant(enabled_tenant)
        if "changes" in event.details
    }
    assert changes["destination.updated"] == {
        "description": {"from": "CRM", "to": "CRM feed"},
        "is_enabled": {"from": True, "to": False},
    }
    assert changes["policy.agreed"] == {"api_access": {"from": "off", "to": "on"}}
    assert changes["api_access.disabled"] == {"api_access": {"from": "on", "to": "off"}}


def test_secret_bearing_events_record_and_show_no_secret(api, admin_client, admin_user, enabled_tenant):
    """record_event's contract: details never hold a secret; the page and the API show only them."""
    secrets = []
    token, secret = token_actions.create_token(
        tenant=enabled_tenant,
        terms=token_actions.TokenTerms(
            name="CI",
            description="",
            starts_at=None,
            expires_at=None,
            allowed_ips=(),
            organization_ids=None,
            permissions=("AuditEvents.Read",),
        ),
        by=admin_user,
        ip=None,
    )
    secrets.append(secret)
    _, regenerated, _ = token_actions.regenerate_secret(token=token, by=admin_user, ip=None)
    secrets.append(regenerated)
    secrets.append(issue_api_key(tenant=enabled_tenant, name="sync", by=admin_user, ip=None)[1])
    destination = WebhookDestinationFactory(tenant=enabled_tenant)
    secrets.append(webhook_actions.reveal_secret(destination=destination, by=admin_user, ip=None))
    secrets.append(webhook_actions.rotate_secret(destination=destination, by=admin_user, ip=None))
    secrets.append(issue_gateway_key(name="nginx", by=admin_user)[1])
    assert len(set(secrets)) == 6 and all(len(s) > 20 for s in secrets)

    recorded = json.dumps([event.details for event in AuditEvent.objects.all()])
    page = admin_client.get(URL).text
    assert page.count('<details class="event-details">') >= 4
    listing = api.get("AuditEvents", basic_auth(token.token_id, regenerated), params={"$top": 500}).text
    assert '"Details"' in listing
    for secret in secrets:
        # Neither the whole secret nor its random part (after the typed prefix) appears anywhere.
        random_part = secret.split("_", 1)[-1]
        for text in (recorded, page, listing):
            assert secret not in text and random_part not in text


def test_the_activity_pages_query_count_does_not_grow_with_details(
    admin_client, tenant, django_assert_num_queries
):
    AuditEventFactory(tenant=tenant, details={"changes": {"name": {"from": "a", "to": "b"}}})
    with django_assert_num_queries(10):
        admin_client.get(URL)
    AuditEventFactory.create_batch(
        40, tenant=tenant, action="token.updated", details={"changes": {"name": {"from": "a", "to": "b"}}}
    )
    with django_assert_num_queries(10):
        response = admin_client.get(URL)
    assert response.text.count('<details class="event-details">') == 25


def test_the_audit_events_lists_query_count_does_not_grow_with_details(
    api, enabled_tenant, django_assert_num_queries
):
    reader = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=["AuditEvents.Read"])
    auth = basic_auth(reader.token_id, reader.secret)
    details = {"changes": {"name": {"from": "a", "to": "b"}}}
    AuditEventFactory(tenant=enabled_tenant, action="token.updated", details=details)
    api.get("AuditEvents", auth)  # warms the credential cache and the rate-limit counters' rows
    # The count and one page of events, plus the credential and rate-limit bookkeeping (SQL on the
    # database cache, none on Redis): the same whatever the page holds.
    with CaptureQueriesContext(connection) as few:
        api.get("AuditEvents", auth)
    AuditEventFactory.create_batch(40, tenant=enabled_tenant, action="token.updated", details=details)
    with django_assert_num_queries(len(few)):
        response = api.get("AuditEvents", auth, params={"$top": 50})
    assert len(response.json()["Data"]) == 42
    assert all(row["Details"] for row in response.json()["Data"] if row["Action"] == "token.updated")


def test_details_recorded_as_before_and_after_also_show_as_old_and_new_values(tenant):
    event = AuditEventFactory(
        tenant=tenant,
        action="tenant.security_contact_changed",
        details={"before": {"security_contacts": []}, "after": {"security_contacts": ["soc@example.com"]}},
    )
    [row] = event.detail_rows()
    assert (row.label, row.old, row.new, row.changed) == (
        "Security contacts",
        "(empty)",
        "soc@example.com",
        True,
    )
