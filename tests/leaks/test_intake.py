"""The public leak intake: a reported live secret stops on the next request, its tenant is told by
mail and webhook, the Activity records the report without the secret, and the answer is no oracle.

Attack catalogue: the endpoint must not tell a guesser which values are live secrets.
"""

import json
import logging

import pytest
from django.db import connection

from accessgov.audit.models import AuditEvent
from accessgov.core import keys, mail
from accessgov.policy.actions import roll_api_key
from tests.api.conftest import API, ApiClient
from tests.conftest import basic_auth, bearer_auth
from tokens.models import ThirdPartyToken
from tokens.rotation import roll_token_secret

pytestmark = pytest.mark.django_db
URL = "/security/leaks/v1/reports"


@pytest.fixture
def api():
    return ApiClient(API)


def report(client, secrets, **extra):
    body = {
        "secrets": secrets,
        "url": "https://github.com/acme/repo/blob/main/.env",
        "source": "scanner",
    } | extra
    return client.post(URL, json.dumps(body), content_type="application/json", secure=True)


def test_a_reported_token_secret_stops_on_the_next_request_and_the_contact_is_told(
    client, api, token, enabled_tenant, admin_user, smtp_server, caplog
):
    enabled_tenant.security_contacts = ["soc@example.com"]
    enabled_tenant.save()
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200

    with caplog.at_level(logging.INFO):
        response = report(client, [token.secret])

    assert response.status_code == 202 and response.json() == {"status": "received"}
    assert api.get("Me", auth).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = AuditEvent.objects.get(action="credential.leaked")
    assert event.tenant == enabled_tenant and event.actor_label == "Leak report"
    assert event.details["response"] == "revoked" and event.details["identifier"] == token.token_id
    assert event.details["found_at"] == "https://github.com/acme/repo/blob/main/.env"
    assert token.secret not in json.dumps(event.details) and token.secret not in caplog.text
    mail.send_queued()
    [message] = smtp_server.to("soc@example.com")
    text = message.get_body(("plain",)).get_content()
    assert "accessgov revoked it at once" in text and token.token_id in text and token.secret not in text


def test_an_api_key_is_deleted_and_refused(client, api, api_key):
    assert api.get("Me", bearer_auth(api_key.raw)).status_code == 200
    assert report(client, [api_key.raw]).status_code == 202
    assert api.get("Me", bearer_auth(api_key.raw)).status_code == 401


def test_notify_only_keeps_the_secret_working_and_says_so(client, api, token, enabled_tenant, smtp_server):
    enabled_tenant.leak_response = "notify"
    enabled_tenant.security_contacts = ["soc@example.com"]
    enabled_tenant.save()
    report(client, [token.secret])
    assert api.get("Me", basic_auth(token.token_id, token.secret)).status_code == 200
    assert AuditEvent.objects.get(action="credential.leaked").details["response"] == "notified"
    mail.send_queued()
    assert "it still works" in smtp_server.messages[0].get_body(("plain",)).get_content()


def test_every_answer_is_the_same_whatever_the_values(client, token):
    made_up = keys.generate_secret(keys.TOKEN_SECRET_PREFIX)
    typo = token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B")
    answers = {report(client, [value]).content for value in [made_up, typo, "hello", token.secret]}
    assert answers == {b'{"status": "received"}'}
    # Only the real one did anything.
    assert AuditEvent.objects.filter(action="credential.leaked").count() == 1


def test_a_report_already_handled_is_not_handled_twice(client, token):
    report(client, [token.secret, token.secret])
    report(client, [token.secret])
    assert AuditEvent.objects.filter(action="credential.leaked").count() == 1
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (json.dumps({"secrets": []}).encode(), 400),
        (json.dumps({"secrets": "agk_x"}).encode(), 400),
        (json.dumps({"secrets": ["x"] * 101}).encode(), 400),
        (json.dumps({"secrets": [1, 2]}).encode(), 400),
        (b"[" + b"1," * 40000 + b"1]", 413),
    ],
)
def test_malformed_reports_are_refused_with_a_clear_message(client, body, status):
    response = client.post(URL, body, content_type="application/json", secure=True)
    assert response.status_code == status
    assert response.json()["error"]


def test_reports_are_limited_per_address(client, settings):
    settings.ACCESSGOV_LEAK_REPORT_RATE = "3/m"
    statuses = [report(client, ["hello"]).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    assert report(client, ["hello"])["Retry-After"] == "60"


def test_the_intake_takes_posts_only(client):
    assert client.get(URL, secure=True).status_code == 405


def test_a_leaked_secret_reaches_subscribed_destinations_as_credential_leaked(
    client, token, enabled_tenant, django_capture_on_commit_callbacks
):
    from tests.factories import WebhookDestinationFactory
    from webhooks.models import WebhookDelivery

    WebhookDestinationFactory(tenant=enabled_tenant, events=["credential.leaked"])
    with django_capture_on_commit_callbacks(execute=True):
        report(client, [token.secret])
    delivery = WebhookDelivery.objects.get(event_type="credential.leaked")
    assert token.token_id in delivery.body and token.secret not in delivery.body


def test_a_token_secret_is_found_by_an_index_not_by_reading_every_token():
    """A reported token secret holds no token ID: the lookup by digest must use token_digest."""
    query = ThirdPartyToken.objects.filter(digest__in=["0" * 64])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a small test table would be read whole
        plan = query.explain()
    assert "token_digest" in plan, plan


def test_an_old_token_secret_still_in_its_overlap_is_found_and_stops_both(client, api, token, admin_user):
    _, new_secret = roll_token_secret(token=token, overlap="1d", by=admin_user, ip=None)
    old, new = basic_auth(token.token_id, token.secret), basic_auth(token.token_id, new_secret)
    assert api.get("Me", old).status_code == 200 and api.get("Me", new).status_code == 200
    assert report(client, [token.secret]).status_code == 202
    assert api.get("Me", old).status_code == 401 and api.get("Me", new).status_code == 401
    assert AuditEvent.objects.get(action="credential.leaked").details["identifier"] == token.token_id


def test_an_old_token_secret_past_its_overlap_is_not_a_live_secret(client, api, token, admin_user):
    _, new_secret = roll_token_secret(token=token, overlap="none", by=admin_user, ip=None)
    assert report(client, [token.secret]).status_code == 202
    assert api.get("Me", basic_auth(token.token_id, new_secret)).status_code == 200
    assert not AuditEvent.objects.filter(action="credential.leaked").exists()


def test_an_old_api_key_secret_still_in_its_overlap_is_found(client, api, api_key, admin_user):
    _, new_raw = roll_api_key(api_key=api_key, overlap="1d", by=admin_user, ip=None)
    assert api.get("Me", bearer_auth(api_key.raw)).status_code == 200
    assert report(client, [api_key.raw]).status_code == 202
    assert api.get("Me", bearer_auth(api_key.raw)).status_code == 401
    assert api.get("Me", bearer_auth(new_raw)).status_code == 401
