"""The Webhook API tab over HTTP: domains, destinations, secrets, test events, logs, permissions."""

import logging
import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accessgov.audit.models import AuditEvent
from accessgov.policy.models import ApiUser
from tests.conftest import enable_api
from tests.factories import (
    ApprovedWebhookDomainFactory,
    UserFactory,
    WebhookAttemptFactory,
    WebhookDeliveryFactory,
    WebhookDestinationFactory,
)
from tests.webhooks.conftest import RECEIVER_HOST
from webhooks import delivery, queue
from webhooks.models import ApprovedWebhookDomain, DeliveryState, WebhookDelivery, WebhookDestination

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/webhooks/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_until_the_policy_is_agreed_the_tab_says_why_and_every_form_is_refused(admin_client, tenant):
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert "Until an administrator agrees to the API Policy" in page.text
    assert "+ Add new domain" not in page.text
    response = admin_client.post(URL + "domains/add/", {"domain": "hooks.example.com"}, follow=True)
    assert "Agree to the API Policy" in response.text
    assert admin_client.get(URL + "destinations/add/").status_code == 302
    assert not ApprovedWebhookDomain.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_api_off_gate_also_holds_in_the_actions(tenant, admin_user):
    from webhooks import actions
    from webhooks.domains import parse_domain

    with pytest.raises(actions.ActionRefused, match="Agree to the API Policy"):
        actions.add_domain(tenant=tenant, entry=parse_domain("hooks.example.com"), by=admin_user, ip=None)


def test_add_new_domain_opens_the_field_in_place_with_htmx_and_as_a_page_without(
    admin_client, enabled_tenant
):
    fragment = admin_client.get(URL + "domains/add/", **HTMX)
    assert fragment.text.lstrip().startswith('<section class="card" id="domains">')
    assert 'name="domain"' in fragment.text and ">Add</button>" in fragment.text
    page = admin_client.get(URL + "domains/add/")
    assert "<html" in page.text and 'name="domain"' in page.text
    index = admin_client.get(URL)
    assert "+ Add new domain" in index.text and f'href="{URL}domains/add/"' in index.text


def test_adding_a_domain_normalises_it_shows_the_unicode_form_and_audits(
    admin_client, admin_user, tenant, enabled_tenant
):
    response = admin_client.post(URL + "domains/add/", {"domain": " *.Bücher.DE. "}, **HTMX)
    assert response.status_code == 200
    approved = ApprovedWebhookDomain.objects.get()
    assert (approved.domain, approved.added_by, approved.tenant) == ("*.xn--bcher-kva.de", admin_user, tenant)
    assert "*.bücher.de" in response.text and "*.xn--bcher-kva.de" in response.text
    assert "by acme-admin" in response.text and "Never" in response.text
    event = AuditEvent.objects.get(action="domain.added")
    assert event.details == {"domain": "*.xn--bcher-kva.de", "unicode": "*.bücher.de"}


def test_a_pasted_url_is_accepted_by_saying_which_host_was_taken(admin_client, enabled_tenant):
    response = admin_client.post(
        URL + "domains/add/", {"domain": "https://hooks.example.com/in"}, follow=True
    )
    assert "Took the host hooks.example.com from the URL you pasted." in response.text
    assert ApprovedWebhookDomain.objects.get().domain == "hooks.example.com"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("co.uk", "public suffix"),
        ("10.0.0.1", "IP addresses"),
        ("x.com:8443", "port"),
        ("", "Enter a domain"),
    ],
)
def test_a_refused_domain_says_why(admin_client, enabled_tenant, raw, reason):
    response = admin_client.post(URL + "domains/add/", {"domain": raw})
    assert response.status_code == 400 and reason in response.text
    htmx = admin_client.post(URL + "domains/add/", {"domain": raw}, **HTMX)
    assert htmx.status_code == 400 and reason in htmx.text and 'id="domain-error"' in htmx.text
    assert not ApprovedWebhookDomain.objects.exists()


def test_a_duplicate_domain_is_refused(admin_client, tenant, enabled_tenant):
    ApprovedWebhookDomainFactory(tenant=tenant, domain="hooks.example.com")
    response = admin_client.post(URL + "domains/add/", {"domain": "HOOKS.example.com."})
    assert response.status_code == 400 and "already on the approved list" in response.text
    assert ApprovedWebhookDomain.objects.count() == 1


def test_domains_without_a_delivery_in_90_days_are_marked_for_review(admin_client, tenant, enabled_tenant):
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(days=91)
    ApprovedWebhookDomainFactory(
        tenant=tenant, domain="stale.example.com", created_at=old, last_delivery_at=old
    )
    ApprovedWebhookDomainFactory(
        tenant=tenant, domain="fresh.example.com", created_at=old, last_delivery_at=timezone.now()
    )
    page = admin_client.get(URL).text
    stale_row = page[page.index("stale.example.com") :].split("</tr>")[0]
    fresh_row = page[page.index("fresh.example.com") :].split("</tr>")[0]
    assert "Review:" in stale_row and "Review:" not in fresh_row


def test_removing_a_domain_asks_first_then_blocks_its_destinations_at_once(
    admin_client, tenant, approved, destination
):
    confirm = admin_client.get(URL + f"domains/{approved.pk}/remove/")
    assert "blocked at once" in confirm.text and destination.url in confirm.text
    unticked = admin_client.post(URL + f"domains/{approved.pk}/remove/", {})
    assert unticked.status_code == 400 and ApprovedWebhookDomain.objects.exists()
    response = admin_client.post(URL + f"domains/{approved.pk}/remove/", {"confirm": "on"}, follow=True)
    assert "1 destination(s) on it are blocked" in response.text
    assert not ApprovedWebhookDomain.objects.exists()
    assert '<strong class="error">Blocked</strong>' in response.text
    detail = admin_client.get(URL + f"destinations/{destination.pk}/")
    assert "is not on the approved domain list, so nothing is sent to it" in detail.text
    assert AuditEvent.objects.get(action="domain.removed").details["destinations_blocked"] == 1


def test_adding_a_destination_on_an_approved_domain(
    admin_client, tenant, approved, loopback_settings, receiver
):
    response = admin_client.post(
        URL + "destinations/add/",
        {
            "url": f"https://{RECEIVER_HOST}:{receiver.port}/in",
            "events": ["notify", "test"],
            "is_enabled": "on",
        },
    )
    destination = WebhookDestination.objects.get()
    assert response.status_code == 302 and response["Location"] == URL + f"destinations/{destination.pk}/"
    assert destination.host == RECEIVER_HOST and destination.events == ["notify", "test"]
    assert destination.signing_secret.startswith("whsec_")
    event = AuditEvent.objects.get(action="destination.created")
    assert destination.signing_secret not in str(event.details)


def test_a_destination_off_the_approved_list_is_refused(admin_client, approved, dns):
    response = admin_client.post(
        URL + "destinations/add/", {"url": "https://other.example.com/in", "events": ["notify"]}
    )
    assert response.status_code == 400 and "is not on the approved domain list" in response.text
    assert not WebhookDestination.objects.exists()
    assert dns.lookups == [], "a name that is not approved is not even looked up"


@pytest.mark.parametrize("answer", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1"])
def test_case_27_a_destination_resolving_inside_is_refused_at_save_when_the_setting_is_off(
    admin_client, approved, dns, answer
):
    dns.table[RECEIVER_HOST] = [answer]
    response = admin_client.post(
        URL + "destinations/add/", {"url": f"https://{RECEIVER_HOST}/in", "events": ["notify"]}
    )
    assert response.status_code == 400 and f"resolves to {answer}" in response.text
    assert not WebhookDestination.objects.exists()


def test_editing_a_destination_changes_and_audits_it(admin_client, destination, loopback_settings):
    destination_events_before = list(destination.events)
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/edit/",
        {"url": destination.url, "description": "CRM  feed", "events": ["notify"]},
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert (destination.description, destination.events, destination.is_enabled) == (
        "CRM feed",
        ["notify"],
        False,
    )
    changes = AuditEvent.objects.get(action="destination.updated").details["changes"]
    assert changes == {
        "description": {"from": "", "to": "CRM feed"},
        "events": {"from": destination_events_before, "to": ["notify"]},
        "is_enabled": {"from": True, "to": False},
    }


def test_deleting_a_destination_asks_first(admin_client, destination):
    assert admin_client.post(URL + f"destinations/{destination.pk}/delete/", {}).status_code == 400
    response = admin_client.post(URL + f"destinations/{destination.pk}/delete/", {"confirm": "on"})
    assert response.status_code == 302 and not WebhookDestination.objects.exists()
    assert AuditEvent.objects.filter(action="destination.deleted").exists()


def test_revealing_the_signing_secret_is_a_post_never_cached_and_audited(admin_client, destination, caplog):
    assert admin_client.get(URL + f"destinations/{destination.pk}/secret/").status_code == 405
    page = admin_client.get(URL + f"destinations/{destination.pk}/")
    assert destination.signing_secret not in page.text
    with caplog.at_level(logging.DEBUG):
        response = admin_client.post(URL + f"destinations/{destination.pk}/secret/", **HTMX)
    assert response.text.lstrip().startswith('<section class="card" id="signing-secret">')
    assert destination.signing_secret in response.text and "data-secret" in response.text
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="destination.secret_revealed")
    assert destination.signing_secret not in str(event.details) + event.target_label
    assert destination.signing_secret not in caplog.text
    assert destination.signing_secret not in str(destination)


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_still_signs(admin_client, destination):
    old = destination.signing_secret
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/secret/rotate/", {"confirm": "on", "overlap": "1d"}
    )
    destination.refresh_from_db()
    assert destination.signing_secret != old and destination.signing_secret in response.text
    assert old not in response.text and "no-store" in response["Cache-Control"]
    assert destination.secrets_in_use() == [destination.signing_secret, old]
    assert AuditEvent.objects.filter(action="destination.secret_rotated").exists()


def _work_the_queue():
    """Run the delivery worker once, as `deliver_webhooks --once` would (the console never sends)."""
    queue.deliver_pending()


def test_send_test_event_answers_sending_at_once_and_updates_in_place_with_htmx(
    admin_client, destination, receiver, loopback_settings
):
    response = admin_client.post(URL + f"destinations/{destination.pk}/test/", **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="test-result">')
    assert "<strong>Sending…</strong>" in response.text and 'hx-trigger="every 2s"' in response.text
    assert receiver.received == []  # nothing went out inside the request
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.event_type == "test"
    assert AuditEvent.objects.filter(action="webhook.test_sent").exists()
    poll = URL + f"destinations/{destination.pk}/deliveries/{delivery.pk}/"
    still = admin_client.get(poll, HTTP_HX_TARGET="test-result", **HTMX)
    assert "<strong>Sending…</strong>" in still.text and 'hx-trigger="every 2s"' in still.text
    _work_the_queue()
    done = admin_client.get(poll, HTTP_HX_TARGET="test-result", **HTMX)
    assert done.text.lstrip().startswith('<section class="card" id="test-result">')
    assert "<strong>Delivered</strong>: HTTP 200" in done.text
    assert "{&quot;received&quot;: true}" in done.text
    assert "every 2s" not in done.text  # polling stops once the attempt is recorded
    assert 'id="delivery-log" hx-swap-oob="true"' in done.text
    [received] = receiver.received
    assert received.verified and received.payload["type"] == "test"
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED


def test_send_test_event_works_without_javascript(admin_client, destination, receiver, loopback_settings):
    response = admin_client.post(URL + f"destinations/{destination.pk}/test/", follow=True)
    assert "<html" in response.text and "queued; the delivery worker sends it" in response.text
    assert "Check again</a>" in response.text
    _work_the_queue()
    reloaded = admin_client.get(response.redirect_chain[-1][0])
    assert "<strong>Delivered</strong>: HTTP 200" in reloaded.text
    assert "hx-swap-oob" not in reloaded.text


def test_a_failed_test_event_shows_the_error(admin_client, destination, receiver, loopback_settings):
    receiver.behaviour.mode = "status"
    receiver.behaviour.status = 503
    admin_client.post(URL + f"destinations/{destination.pk}/test/", **HTMX)
    _work_the_queue()
    delivery = WebhookDelivery.objects.get()
    response = admin_client.get(
        URL + f"destinations/{destination.pk}/deliveries/{delivery.pk}/", HTTP_HX_TARGET="test-result", **HTMX
    )
    assert "<strong>Failed</strong>: HTTP 503" in response.text
    assert WebhookDelivery.objects.get().state == DeliveryState.FAILED


def test_redeliver_queues_a_failed_delivery_again_with_the_same_id(
    admin_client, tenant, destination, receiver, loopback_settings
):
    delivery = WebhookDeliveryFactory(destination=destination, failed=True)
    WebhookAttemptFactory(delivery=delivery, number=7, status_code=500, succeeded=False)
    page = admin_client.get(URL + f"destinations/{destination.pk}/")
    assert ">Redeliver</button>" in page.text
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/deliveries/{delivery.pk}/redeliver/", **HTMX
    )
    assert response.text.lstrip().startswith('<section class="card" id="delivery-log"')
    assert f"{delivery.webhook_id} is queued to be sent again" in response.text
    assert "<strong>Sending…</strong>" in response.text and 'hx-trigger="every 2s"' in response.text
    assert receiver.received == []
    _work_the_queue()
    done = admin_client.get(
        URL + f"destinations/{destination.pk}/deliveries/{delivery.pk}/",
        HTTP_HX_TARGET="delivery-log",
        **HTMX,
    )
    assert "every 2s" not in done.text and "HTTP 200 delivered" in done.text
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 8
    assert receiver.received[0].headers["webhook-id"] == delivery.webhook_id
    again = admin_client.post(
        URL + f"destinations/{destination.pk}/deliveries/{delivery.pk}/redeliver/", follow=True
    )
    assert "Only a failed delivery can be sent again." in again.text


def test_test_events_and_redeliveries_are_limited_per_tenant_with_a_clear_message(
    admin_client, destination, settings
):
    settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE = "2/m"
    for _ in range(2):
        admin_client.post(URL + f"destinations/{destination.pk}/test/")
    refused = admin_client.post(URL + f"destinations/{destination.pk}/test/", follow=True)
    assert "too many test events, redeliveries and replays" in refused.text
    assert WebhookDelivery.objects.count() == 2
    failed = WebhookDeliveryFactory(destination=destination, failed=True)
    admin_client.post(URL + f"destinations/{destination.pk}/deliveries/{failed.pk}/redeliver/")
    failed.refresh_from_db()
    assert failed.state == DeliveryState.FAILED  # the same budget


def test_case_41_markup_in_a_description_is_escaped(admin_client, tenant, enabled_tenant):
    WebhookDestinationFactory(tenant=tenant, description="<script>alert(1)</script>")
    page = admin_client.get(URL)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_case_39_state_changes_refuse_get_and_need_the_csrf_token(admin_user, destination):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    for path in ["secret/", "test/"]:
        assert client.get(URL + f"destinations/{destination.pk}/{path}").status_code == 405
        assert client.post(URL + f"destinations/{destination.pk}/{path}").status_code == 403
    assert client.post(URL + "domains/add/", {"domain": "x.example.com"}).status_code == 403
    assert not ApprovedWebhookDomain.objects.filter(domain="x.example.com").exists()


def _every_url(tenant_slug: str, destination, approved, delivery) -> list[tuple[str, str]]:
    base = f"/t/{tenant_slug}/settings/api/webhooks/"
    d = f"{base}destinations/{destination.pk}/"
    return [
        ("get", base),
        ("get", base + "domains/add/"),
        ("post", base + "domains/add/"),
        ("get", base + f"domains/{approved.pk}/remove/"),
        ("post", base + f"domains/{approved.pk}/remove/"),
        ("get", base + "destinations/add/"),
        ("post", base + "destinations/add/"),
        ("get", d),
        ("get", d + "edit/"),
        ("post", d + "edit/"),
        ("get", d + "delete/"),
        ("post", d + "delete/"),
        ("post", d + "secret/"),
        ("get", d + "secret/rotate/"),
        ("post", d + "secret/rotate/"),
        ("get", d + "secret/retire-old/"),
        ("post", d + "secret/retire-old/"),
        ("post", d + "test/"),
        ("post", d + "enable/"),
        ("post", d + "replay/"),
        ("get", d + f"deliveries/{delivery.pk}/"),
        ("post", d + f"deliveries/{delivery.pk}/redeliver/"),
    ]


def test_case_8_another_tenants_admin_gets_404_on_every_webhooks_url(
    other_admin_client, other_tenant, other_admin, tenant, approved, destination
):
    enable_api(other_tenant, by=other_admin)
    delivery = WebhookDeliveryFactory(destination=destination, failed=True)
    secret = destination.signing_secret
    for method, url in _every_url("acme", destination, approved, delivery):
        assert getattr(other_admin_client, method)(url, {"confirm": "on"}).status_code == 404, url
    # Their own tenant's URLs with our ids: the objects are not theirs either.
    for method, url in _every_url("rival", destination, approved, delivery)[3:]:
        if "add/" in url:
            continue
        response = getattr(other_admin_client, method)(url, {"confirm": "on"})
        assert response.status_code == 404, url
        assert secret not in response.text
    assert ApprovedWebhookDomain.objects.filter(pk=approved.pk).exists()
    assert WebhookDestination.objects.get(pk=destination.pk).signing_secret == secret
    assert WebhookDelivery.objects.get(pk=delivery.pk).state == DeliveryState.FAILED


def test_a_technician_gets_403_on_every_webhooks_url(tech_client, tenant, approved, destination):
    delivery = WebhookDeliveryFactory(destination=destination, failed=True)
    for method, url in _every_url("acme", destination, approved, delivery):
        response = getattr(tech_client, method)(url, {"confirm": "on"})
        assert response.status_code == 403, url
        assert destination.signing_secret not in response.text
    assert ApprovedWebhookDomain.objects.filter(pk=approved.pk).exists()


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_index_makes_the_same_number_of_queries_for_1_and_30_rows(admin_client, tenant, enabled_tenant):
    def add(n_from, n_to):
        for n in range(n_from, n_to):
            user = UserFactory()
            ApprovedWebhookDomainFactory(tenant=tenant, domain=f"h{n}.example.com", added_by=user)
            destination = WebhookDestinationFactory(
                tenant=tenant, url=f"https://h{n}.example.com/in", host=f"h{n}.example.com"
            )
            WebhookAttemptFactory(delivery=WebhookDeliveryFactory(destination=destination))

    add(0, 1)
    one = _count_queries(admin_client, URL)
    add(1, 30)
    assert _count_queries(admin_client, URL) == one


def test_the_delivery_log_makes_the_same_number_of_queries_for_1_and_30_rows(admin_client, destination):
    WebhookAttemptFactory(
        delivery=WebhookDeliveryFactory(destination=destination, failed=True), succeeded=False
    )
    url = URL + f"destinations/{destination.pk}/"
    one = _count_queries(admin_client, url)
    for _ in range(29):
        WebhookAttemptFactory(delivery=WebhookDeliveryFactory(destination=destination, failed=True), number=7)
    assert _count_queries(admin_client, url) == one
    page = admin_client.get(url)
    assert "Page 1 of 2" in page.text


def test_the_delivery_log_paginates_in_place_with_htmx(admin_client, destination):
    for _ in range(30):
        WebhookAttemptFactory(delivery=WebhookDeliveryFactory(destination=destination))
    response = admin_client.get(
        URL + f"destinations/{destination.pk}/?page=2", HTTP_HX_TARGET="delivery-log", **HTMX
    )
    assert response.text.lstrip().startswith('<section class="card" id="delivery-log"')
    assert "Page 2 of 2" in response.text


def test_case_49_the_admin_never_shows_a_signing_secret(destination, staff_client):
    client = staff_client
    for url in [
        "/admin/webhooks/webhookdestination/",
        f"/admin/webhooks/webhookdestination/{destination.pk}/change/",
        f"/admin/webhooks/webhookdestination/?q={destination.signing_secret[6:20]}",
    ]:
        response = client.get(url)
        assert response.status_code == 200
        assert destination.signing_secret not in response.text
    found = client.get(f"/admin/webhooks/webhookdestination/?q={destination.signing_secret[6:20]}")
    assert "0 webhook destinations" in found.text


def test_turning_api_access_off_leaves_the_lists_readable_but_refuses_changes(
    admin_client, tenant, destination
):
    ApiUser.objects.filter(tenant=tenant).update(is_active=False)
    page = admin_client.get(URL + f"destinations/{destination.pk}/")
    assert page.status_code == 200 and "Send test event" not in page.text
    response = admin_client.post(URL + f"destinations/{destination.pk}/secret/", follow=True)
    assert "Agree to the API Policy" in response.text
    assert destination.signing_secret not in response.text
    response = admin_client.post(URL + f"destinations/{destination.pk}/test/", follow=True)
    assert not WebhookDelivery.objects.exists()


def test_a_destination_that_does_not_receive_test_events_gets_none(
    admin_client, tenant, destination, receiver
):
    WebhookDestination.objects.filter(pk=destination.pk).update(events=["notify"])
    page = admin_client.get(URL + f"destinations/{destination.pk}/")
    assert "does not receive test events" in page.text and "Send test event</button>" not in page.text
    response = admin_client.post(URL + f"destinations/{destination.pk}/test/", follow=True)
    assert "does not receive test events" in response.text
    assert not WebhookDelivery.objects.exists() and receiver.received == []


def test_saving_a_destination_waits_on_hanging_dns_only_within_the_dns_bound(
    admin_client, approved, settings, monkeypatch
):
    release = threading.Event()

    def hang(host: str, port: int) -> list[str]:
        release.wait(30)
        return ["192.0.2.1"]

    monkeypatch.setattr(delivery, "resolve_host", hang)
    settings.ACCESSGOV_WEBHOOKS_DNS_TIMEOUT = 0.3
    started = time.monotonic()
    try:
        response = admin_client.post(
            URL + "destinations/add/", {"url": f"https://{RECEIVER_HOST}/in", "events": ["notify"]}
        )
    finally:
        release.set()
    assert time.monotonic() - started < 1.5
    assert (
        response.status_code == 400
        and f"DNS lookup of {RECEIVER_HOST} timed out after 0.3 s" in response.text
    )
    assert not WebhookDestination.objects.exists()


def test_removing_domains_and_deleting_destinations_stays_allowed_while_api_access_is_off(
    admin_client, tenant, approved, destination
):
    ApiUser.objects.filter(tenant=tenant).update(is_active=False)
    assert "Delete…" in admin_client.get(URL + f"destinations/{destination.pk}/").text
    response = admin_client.post(
        URL + f"destinations/{destination.pk}/delete/", {"confirm": "on"}, follow=True
    )
    assert "nothing more is sent to it" in response.text
    assert not WebhookDestination.objects.exists()
    assert ">Remove</a>" in admin_client.get(URL).text
    response = admin_client.post(URL + f"domains/{approved.pk}/remove/", {"confirm": "on"}, follow=True)
    assert "is no longer approved" in response.text
    assert not ApprovedWebhookDomain.objects.exists()
    actions_recorded = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"destination.deleted", "domain.removed"} <= actions_recorded
