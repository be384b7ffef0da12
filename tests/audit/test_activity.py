"""Settings > API › Activity: the tenant's audit log, and the log being append-only."""

import pytest

from accessgov.audit.models import AuditEvent
from tests.factories import AuditEventFactory

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/activity/"


def test_activity_lists_the_tenants_events_newest_first(admin_client, tenant, other_tenant):
    AuditEventFactory(tenant=tenant, action="policy.agreed", actor_label="alice", target_label="first")
    AuditEventFactory(tenant=tenant, action="api_key.created", actor_label="bob", target_label="second")
    AuditEventFactory(tenant=other_tenant, action="api_key.created", target_label="rival secret thing")
    response = admin_client.get(URL)
    assert response.status_code == 200
    text = response.text
    assert text.index("second") < text.index("first")
    assert "API Policy agreed" in text and "API key created" in text
    assert "rival secret thing" not in text


def test_activity_filters_by_action(admin_client, tenant):
    AuditEventFactory(tenant=tenant, action="policy.agreed", target_label="agreed-row")
    AuditEventFactory(tenant=tenant, action="api_key.deleted", target_label="deleted-row")
    response = admin_client.get(URL + "?action=api_key.deleted")
    assert "deleted-row" in response.text
    assert "agreed-row" not in response.text


def test_an_unknown_action_filter_shows_everything_instead_of_failing(admin_client, tenant):
    AuditEventFactory(tenant=tenant, target_label="some-row")
    response = admin_client.get(URL + "?action=<script>")
    assert response.status_code == 200
    assert "some-row" in response.text
    assert "<script>" not in response.text


def test_with_htmx_the_filter_answers_with_the_event_list_fragment(admin_client, tenant):
    AuditEventFactory(tenant=tenant, target_label="some-row")
    response = admin_client.get(URL, HTTP_HX_REQUEST="true")
    assert response.text.lstrip().startswith('<div id="event-list">')


def test_activity_is_paginated_and_its_query_count_does_not_grow(
    admin_client, tenant, django_assert_num_queries
):
    AuditEventFactory(tenant=tenant)
    # 10: with the expiry banner of Settings > API (tokens.context_processors), one query.
    with django_assert_num_queries(10):
        admin_client.get(URL)
    AuditEventFactory.create_batch(60, tenant=tenant, action="api_key.created")
    with django_assert_num_queries(10):
        response = admin_client.get(URL + "?page=2")
    assert "Page 2 of 3" in response.text
    assert 'href="?page=3"' in response.text


def test_page_links_keep_the_action_filter(admin_client, tenant):
    AuditEventFactory.create_batch(30, tenant=tenant, action="api_key.created")
    response = admin_client.get(URL + "?action=api_key.created")
    assert 'href="?action=api_key.created&amp;page=2"' in response.text


def test_audit_events_are_append_only(tenant):
    event = AuditEventFactory(tenant=tenant)
    event.action = "something.else"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "api_key.created"
