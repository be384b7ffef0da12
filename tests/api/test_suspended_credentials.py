"""Suspended credentials over the API: refused with credential_suspended at once on every app server."""

import pytest
from django.utils import timezone

from accessgov.api import cache as credentials
from accessgov.audit.models import AuditEvent
from accessgov.policy import actions as policy_actions
from accessgov.policy.models import ApiKey
from tests.api.conftest import error_of
from tests.api.test_cache import redis_cache  # noqa: F401 - the fixture: the cache on Redis
from tests.conftest import basic_auth, bearer_auth
from tokens.models import TokenStatus

pytestmark = pytest.mark.django_db

TOKENS = "/t/acme/settings/api/tokens/"


@pytest.mark.usefixtures("redis_cache")
def test_a_suspended_token_is_refused_with_its_own_code_and_works_again_once_resumed(
    api,
    token,
    admin_client,
    admin_user,
):
    auth = basic_auth(token.token_id, token.secret)
    assert api.get("Me", auth).status_code == 200  # now cached on this app server
    response = admin_client.post(f"{TOKENS}{token.pk}/suspend/", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    # The very next request: the cached copy was dropped and the version bumped in Redis.
    assert error_of(api.get("Me", auth)) == (401, "credential_suspended")
    token.refresh_from_db()
    assert token.suspended_by == admin_user and token.revoked_at is None
    assert token.status(timezone.now()) == TokenStatus.SUSPENDED
    event = AuditEvent.objects.get(action="token.suspended")
    assert (event.actor, event.ip_address, event.details["token_id"]) == (
        admin_user,
        "203.0.113.9",
        token.token_id,
    )

    page = admin_client.get(f"{TOKENS}{token.pk}/")
    assert "Suspended since" in page.text and "Resume" in page.text
    admin_client.post(f"{TOKENS}{token.pk}/resume/")
    assert api.get("Me", auth).status_code == 200  # same secret, same restrictions
    assert AuditEvent.objects.filter(action="token.resumed", actor=admin_user).exists()


@pytest.mark.usefixtures("redis_cache")
def test_another_app_servers_cached_copy_of_a_suspended_key_is_refused(
    api,
    api_key,
    admin_user,
    django_capture_on_commit_callbacks,
):
    auth = bearer_auth(api_key.raw)
    assert api.get("Me", auth).status_code == 200
    stale = credentials.get(f"k:{api_key.prefix}")
    assert stale is not None
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.set_api_key_suspended(api_key=api_key, suspended=True, by=admin_user, ip=None)
    credentials._entries[f"k:{api_key.prefix}"] = stale  # as a second app server still holds it
    assert error_of(api.get("Me", auth)) == (401, "credential_suspended")
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.set_api_key_suspended(api_key=api_key, suspended=False, by=admin_user, ip=None)
    assert api.get("Me", auth).status_code == 200


def test_api_keys_are_suspended_and_resumed_on_manage_api_and_audited(api, api_key, admin_client, admin_user):
    auth = bearer_auth(api_key.raw)
    response = admin_client.post(f"/t/acme/settings/api/keys/{api_key.pk}/suspend/", follow=True)
    assert "is suspended" in response.text and "Suspended since" in response.text
    assert error_of(api.get("Me", auth)) == (401, "credential_suspended")
    assert ApiKey.objects.get(pk=api_key.pk).suspended_by == admin_user
    admin_client.post(f"/t/acme/settings/api/keys/{api_key.pk}/resume/")
    assert api.get("Me", auth).status_code == 200
    actions = list(AuditEvent.objects.filter(action__startswith="api_key.").values_list("action", flat=True))
    assert actions.count("api_key.suspended") == 1 and actions.count("api_key.resumed") == 1
