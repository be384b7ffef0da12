"""What governance events tell receivers (docs/webhooks.md, "What receivers get"): who did what to
which target, with the recorded details; never the address anyone acted from, never a secret. A
token's IP allowlist is the token's configuration, so it is sent like its permissions."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accessgov.leaks import actions as leaks
from accessgov.policy import actions as policy_actions
from tests.conftest import current_policy
from tests.factories import WebhookDestinationFactory
from tokens import actions as token_actions
from tokens import reminders, rotation, suspension
from webhooks import actions as webhook_actions
from webhooks import events, health
from webhooks.domains import parse_domain
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

ACTOR_IP = "203.0.113.99"  # where the administrator acts from: personal data, never sent
ALLOWLIST = ["198.51.100.0/24"]  # the token's configuration: sent


def _terms(**changes) -> token_actions.TokenTerms:
    values = {
        "name": "PSA sync",
        "description": "",
        "starts_at": None,
        "expires_at": None,
        "allowed_ips": tuple(ALLOWLIST),
        "organization_ids": None,
        "permissions": ("Me.Read",),
    } | changes
    return token_actions.TokenTerms(**values)


def test_every_governance_event_carries_no_actors_address_and_token_allowlists_as_configuration(
    tenant, destination, admin_user, django_capture_on_commit_callbacks
):
    destination.events = [action.value for action in events.SUBSCRIBABLE_ACTIONS]
    destination.save()
    by = {"by": admin_user, "ip": ACTOR_IP}
    with django_capture_on_commit_callbacks(execute=True):
        added = webhook_actions.add_domain(tenant=tenant, entry=parse_domain("old.example.com"), **by)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_actions.remove_domain(approved=added, **by)
    with django_capture_on_commit_callbacks(execute=True):
        token, _ = token_actions.create_token(tenant=tenant, terms=_terms(), **by)
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.update_token(token=token, terms=_terms(allowed_ips=("192.0.2.0/24",)), **by)
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.revoke_token(token=token, **by)
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.regenerate_secret(token=token, **by)  # reinstates it
    token.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.regenerate_secret(token=token, **by)
    token.refresh_from_db()
    # Rotation and suspension (issue 14).
    with django_capture_on_commit_callbacks(execute=True):
        token, secret = rotation.roll_token_secret(token=token, overlap="1h", **by)
    with django_capture_on_commit_callbacks(execute=True):
        rotation.retire_previous_secret(token=token, **by)
    token.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        suspension.suspend_token(token=token, **by)
    token.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        suspension.resume_token(token=token, **by)
    token.refresh_from_db()
    # An expiry reminder for a token expiring tomorrow.
    expiring, _ = token_actions.create_token(
        tenant=tenant, terms=_terms(name="Expiring", expires_at=timezone.now() + timedelta(hours=20)), **by
    )
    with django_capture_on_commit_callbacks(execute=True):
        reminders.send_reminders(now=timezone.now())
    # A secret reported leaked (accessgov.leaks): the tenant's choice, notify only, keeps it working.
    tenant.leak_response = "notify"
    tenant.save()
    with django_capture_on_commit_callbacks(execute=True):
        leaks.handle_report(
            values=[secret], location="https://paste.example/1", source="scanner", ip=ACTOR_IP
        )
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.revoke_token(token=token, **by)
    with django_capture_on_commit_callbacks(execute=True):
        token_actions.purge_revoked_tokens(now=timezone.now() + timedelta(days=365))
    gone = WebhookDestinationFactory(tenant=tenant, url="https://hooks.example.com/gone")
    with django_capture_on_commit_callbacks(execute=True):
        health.disable_destination(
            destination=gone, reason="The receiver answered 410 Gone.", now=timezone.now()
        )
    with django_capture_on_commit_callbacks(execute=True):
        api_key, _ = policy_actions.issue_api_key(tenant=tenant, name="sync", **by)
    with django_capture_on_commit_callbacks(execute=True):
        api_key, _ = policy_actions.roll_api_key(api_key=api_key, overlap="1h", **by)
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.retire_previous_key_secret(api_key=api_key, **by)
    api_key.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        api_key = policy_actions.set_api_key_suspended(api_key=api_key, suspended=True, **by)
    with django_capture_on_commit_callbacks(execute=True):
        api_key = policy_actions.set_api_key_suspended(api_key=api_key, suspended=False, **by)
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.delete_api_key(api_key=api_key, **by)
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.disable_api_access(tenant=tenant, **by)
    with django_capture_on_commit_callbacks(execute=True):
        policy_actions.agree_to_policy(tenant=tenant, version=current_policy(), **by)

    bodies = {d.event_type: json.loads(d.body) for d in WebhookDelivery.objects.all()}
    assert set(bodies) == {action.value for action in events.SUBSCRIBABLE_ACTIONS}
    for event_type, body in bodies.items():
        assert ACTOR_IP not in json.dumps(body), event_type
        assert body["data"]["actor"] in {admin_user.username, "system", "accessgov", "Leak report"}
        # The fields docs/webhooks.md lists, and no other.
        assert set(body["data"]) == {
            "event_id",
            "action",
            "label",
            "actor",
            "target",
            "details",
            "occurred_at",
            "tenant",
        }
        assert set(body["data"]["target"]) == {"type", "id", "label"}
        assert set(body["data"]["tenant"]) == {"partner_id", "name"}
    assert bodies["token.created"]["data"]["details"]["allowed_ips"] == ALLOWLIST
    assert bodies["token.updated"]["data"]["details"]["changes"]["allowed_ips"] == {
        "from": ALLOWLIST,
        "to": ["192.0.2.0/24"],
    }


def test_the_check_above_would_see_an_address_in_a_payload(tenant, admin_user):
    """The check can fail: an event whose details held the actor's address would be caught."""
    from accessgov.audit.actions import Action, record_event

    event = record_event(
        tenant=tenant, actor=admin_user, action=Action.TOKEN_CREATED, details={"from": ACTOR_IP}, ip=ACTOR_IP
    )
    assert ACTOR_IP in json.dumps(events.audit_event_data(event))
    event = record_event(tenant=tenant, actor=admin_user, action=Action.TOKEN_CREATED, ip=ACTOR_IP)
    assert ACTOR_IP not in json.dumps(events.audit_event_data(event))
