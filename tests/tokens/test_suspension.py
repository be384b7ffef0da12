"""Suspend and resume: a pause that keeps everything, refused with its own code, audited, at once everywhere."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core.errors import ActionRefused
from accessgov.core.models import OutgoingMail
from accessgov.policy import actions as policy_actions
from accessgov.policy.models import ApiKey, LifetimePolicy
from tests.factories import ApiKeyFactory, ThirdPartyTokenFactory
from tests.tokens.conftest import tokens_url
from tokens import suspension
from tokens.models import ThirdPartyToken, TokenStatus

pytestmark = pytest.mark.django_db


def test_suspend_keeps_what_revoke_ends_and_a_revoked_token_cannot_be_suspended(token, admin_user):
    before = ThirdPartyToken.objects.values().get(pk=token.pk)
    suspension.suspend_token(token=token, by=admin_user, ip=None)
    after = ThirdPartyToken.objects.values().get(pk=token.pk)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"suspended_at", "suspended_by_id", "updated_at"}
    with pytest.raises(ActionRefused, match="already suspended"):
        suspension.suspend_token(token=token, by=admin_user, ip=None)
    # Revoking a suspended token still starts its grace period, and then it is revoked, not suspended.
    token.refresh_from_db()
    token.revoke(by=admin_user, now=timezone.now())
    assert token.status(timezone.now()) == TokenStatus.REVOKED
    other = ThirdPartyTokenFactory(tenant=token.tenant, revoked=True)
    with pytest.raises(ActionRefused, match="nothing to suspend"):
        suspension.suspend_token(token=other, by=admin_user, ip=None)


def test_the_list_filters_suspended_tokens(admin_client, enabled_tenant, admin_user):
    suspended = ThirdPartyTokenFactory(tenant=enabled_tenant, name="Paused")
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Running")
    suspension.suspend_token(token=suspended, by=admin_user, ip=None)
    page = admin_client.get(tokens_url(rest="?status=suspended"))
    assert "Paused" in page.text and "Running" not in page.text
    page = admin_client.get(tokens_url(rest="?status=active"))
    assert "Running" in page.text and "Paused" not in page.text


@pytest.mark.parametrize("verb", ["suspend", "resume"])
def test_suspend_and_resume_are_post_only(admin_client, token, verb):
    assert admin_client.get(tokens_url(rest=f"{token.pk}/{verb}/")).status_code == 405


@pytest.mark.parametrize("verb", ["suspend", "resume"])
def test_another_tenants_admin_cannot_suspend_or_resume_a_token_or_a_key(
    other_admin_client, token, admin_user, verb
):
    """Attack catalogue case 8: tenant A acts on B's credential by id → 404, nothing changes."""
    api_key = ApiKeyFactory(tenant=token.tenant)
    if verb == "resume":
        suspension.suspend_token(token=token, by=admin_user, ip=None)
        policy_actions.set_api_key_suspended(api_key=api_key, suspended=True, by=admin_user, ip=None)
    before = (
        ThirdPartyToken.objects.values_list("suspended_at", flat=True).get(pk=token.pk),
        ApiKey.objects.values_list("suspended_at", flat=True).get(pk=api_key.pk),
    )
    # Their own tenant's URL with our ids, and our tenant's URL: both 404.
    for slug in ("rival", "acme"):
        assert other_admin_client.post(tokens_url(slug, f"{token.pk}/{verb}/")).status_code == 404
        assert other_admin_client.post(f"/t/{slug}/settings/api/keys/{api_key.pk}/{verb}/").status_code == 404
    after = (
        ThirdPartyToken.objects.values_list("suspended_at", flat=True).get(pk=token.pk),
        ApiKey.objects.values_list("suspended_at", flat=True).get(pk=api_key.pk),
    )
    assert before == after


def test_a_technician_cannot_suspend(tech_client, token):
    assert tech_client.post(tokens_url(rest=f"{token.pk}/suspend/")).status_code == 403
    assert ThirdPartyToken.objects.get(pk=token.pk).suspended_at is None


def test_tokens_unused_for_the_tenants_period_are_suspended_once_with_a_notice(
    enabled_tenant, admin_user, settings
):
    now = timezone.now()
    enabled_tenant.security_contacts = ["soc@acme.example"]
    enabled_tenant.save()
    LifetimePolicy.objects.create(tenant=enabled_tenant, suspend_unused_after_days=30)
    old = now - timedelta(days=40)
    idle = ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="Idle", created_at=old, starts_at=old, last_used_at=old
    )
    never = ThirdPartyTokenFactory(tenant=enabled_tenant, name="Never used", created_at=old, starts_at=old)
    busy = ThirdPartyTokenFactory(
        tenant=enabled_tenant, created_at=old, starts_at=old, last_used_at=now - timedelta(days=2)
    )
    resumed = ThirdPartyTokenFactory(tenant=enabled_tenant, created_at=old, starts_at=old, updated_at=now)
    expired = ThirdPartyTokenFactory(tenant=enabled_tenant, created_at=old, starts_at=old, expires_at=now)
    assert suspension.suspend_unused(now=now) == 2
    assert suspension.suspend_unused(now=now) == 0  # a second run has nothing left to do
    suspended = set(ThirdPartyToken.objects.filter(suspended_at__isnull=False).values_list("pk", flat=True))
    assert suspended == {idle.pk, never.pk}
    assert not {busy.pk, resumed.pk, expired.pk} & suspended
    event = AuditEvent.objects.filter(action="token.suspended").first()
    assert event.actor_label == "system" and event.details["reason"] == "unused for 30 days"
    notices = OutgoingMail.objects.filter(kind="credential_suspended_unused")
    assert notices.count() == 2 and all(m.to == ["soc@acme.example"] for m in notices)
    assert notices.filter(subject="Acme MSP: token “Idle” suspended, unused for 30 days").exists()
    assert "credential_suspended" in notices.first().text_body
